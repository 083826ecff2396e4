"""Corpus ranking at scale: the first build of the per-text and per-span aggregates, then opening the ranking.

  .venv/bin/python -m bench.corpus_ranking [--texts 10000] [--words 100] [--same-vocab]

Synthetic tables (no model): `--texts` texts of `--words` words, one token per word per model
(the word table's shape and size are what the build reads), random logprobs, and with
--same-vocab a same-vocabulary table. Measures, in one process:

  first build   analysis.corpus_ranking.build + writing the tables into the run folder (what
                RunStore.save adds to a run, once)
  open ranking  what the Where-they-differ tab does on each visit: read the two persisted tables
                and rank the texts and the spans by one measure (median of --repeats)

Writes bench/results/corpus_ranking-<time>.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import corpus_ranking as C
from backend.store import atomic


def synthetic(n_texts: int, n_words: int, same_vocab: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    vocab = np.array(["the", "river", "had", "risen", "overnight", "and", "by", "morning", "fields", "water"])
    word_ids = rng.integers(0, len(vocab), size=(n_texts, n_words))
    texts = [" ".join(vocab[row]) for row in word_ids]
    lengths = np.char.str_len(vocab[word_ids])
    starts = np.cumsum(np.c_[np.zeros(n_texts, int), lengths[:, :-1] + 1], axis=1)
    tid = np.repeat(np.arange(n_texts), n_words)
    cs, ce = starts.ravel(), (starts + lengths).ravel()
    a, b = rng.normal(-3, 1.5, tid.size), rng.normal(-3, 1.5, tid.size)
    words = pd.DataFrame({"text_id": tid, "word_index": np.tile(np.arange(n_words), n_texts),
                          "word": vocab[word_ids].ravel(), "char_start": cs, "char_end": ce,
                          "logprob_a": a, "logprob_b": b, "delta": a - b})
    tok = pd.DataFrame({"text_id": tid, "position": words["word_index"], "char_start": np.maximum(cs - 1, 0),
                        "char_end": ce})
    tokens = pd.concat([tok.assign(logprob=a, model="a"), tok.assign(logprob=b, model="b")], ignore_index=True)
    sv = None
    if same_vocab:
        sv = pd.DataFrame({"text_id": tid, "position": words["word_index"], "kl_a_b": rng.exponential(size=tid.size),
                           "kl_b_a": rng.exponential(size=tid.size), "js": rng.uniform(0, 0.69, tid.size),
                           "topk_overlap": rng.integers(0, 6, tid.size) / 5})
    return texts, words, tokens, sv


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=10_000)
    parser.add_argument("--words", type=int, default=100)
    parser.add_argument("--same-vocab", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    texts, words, tokens, sv = synthetic(args.texts, args.words, args.same_vocab)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        built = C.build(texts, words, tokens, sv)
        build_s = time.perf_counter() - started
        paths = {k: Path(folder) / f"ranking_{k}.parquet" for k in built}
        atomic.write_parquets({paths[k]: v for k, v in built.items()})
        first_s = time.perf_counter() - started
        opens = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            tables = {k: pd.read_parquet(p) for k, p in paths.items()}
            C.rank(tables["texts"], "mean_delta", n=100)
            spans = tables["spans"]
            C.rank(spans[spans["size"] == C.DEFAULT_SPAN], "sum_delta", n=100)
            opens.append(time.perf_counter() - t0)
        sizes = {k: p.stat().st_size for k, p in paths.items()}
    result = {
        "command": "python -m bench.corpus_ranking " + " ".join(argv or []),
        "texts": args.texts, "words_per_text": args.words, "word_rows": len(words), "same_vocab": args.same_vocab,
        "span_rows": len(built["spans"]), "build_s": build_s, "first_build_with_write_s": first_s,
        "open_ranking_median_s": statistics.median(opens), "open_ranking_all_s": opens, "parquet_bytes": sizes,
    }
    print("| texts | words | span rows | first build (s) | build + write (s) | open ranking (s, median) | files (MB) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(f"| {args.texts:,} | {len(words):,} | {len(built['spans']):,} | {build_s:.2f} | {first_s:.2f} | "
          f"{statistics.median(opens):.3f} | {sum(sizes.values()) / 2**20:.1f} |")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    atomic.write_json(out / f"corpus_ranking-{stamp}.json", result, indent=2)


if __name__ == "__main__":
    main()
