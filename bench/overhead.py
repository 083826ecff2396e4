"""Cost outside the model for many short texts: summary, word alignment, score cache write and read,
run save, and bytes per token, for the code before (a git revision, default the branch point) and
now, side by side in one process, alternating old/new per stage. Synthetic token tables (no model):
short texts of random words, model A one token per word, model B about 1.4, top-k 5.

  .venv/bin/python -m bench.overhead --sizes 1000 10000 [--base 9e33671] [--old-summary-max 1000]

Model time, for the "share of model time" column, is estimated from measured throughput of the
embedded pair on this CPU (bench/README.md: the 300-paragraph CLI run, SmolLM2 ~250 tokens/s,
Gemma ~133 tokens/s, both packed, eager head): tokens_a / 250 + tokens_b / 133 seconds.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.pair import PairResult
from analysis.summary import summarize
from analysis.words import align_words

ROOT = Path(__file__).parent.parent
WORDS = ("the cat sat on a mat while quick brown foxes jump over lazy dogs , . and then über café "
         "numbers 42 data rows values ( ) ! ? naïve").split()


def old_module(base: str, path: str, name: str, replace: dict[str, str] | None = None) -> types.ModuleType:
    """The file at path as it was at git revision base, imported as module name."""
    source = subprocess.run(["git", "show", f"{base}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for old, new in (replace or {}).items():
        source = source.replace(old, new)
    module = types.ModuleType(name)
    module.__file__ = str(ROOT / path)
    sys.modules[name] = module
    exec(compile(source, f"{base}:{path}", "exec"), module.__dict__)
    return module


def synthetic(n_texts: int, seed: int = 0) -> tuple[list[str], pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    texts, rows_a, rows_b = [], [], []
    for t in range(n_texts):
        words = rng.choice(WORDS, size=int(rng.integers(8, 20)))
        text, spans = "", []
        for w in words:
            start = len(text)
            text += ("" if not text or w in ",.!?)" else " ") + w
            spans.append((start, len(text)))
        texts.append(text)
        for p, (s, e) in enumerate(spans):
            rows_a.append((t, p, s, e))
        p = 0
        for s, e in spans:
            cut = s + (e - s) // 2 if e - s > 4 and rng.random() < 0.4 else None
            for a, b in ([(s, cut), (cut, e)] if cut else [(s, e)]):
                rows_b.append((t, p, a, b))
                p += 1
    return texts, table(rows_a, texts, rng), table(rows_b, texts, rng)


def table(rows, texts, rng) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["text_id", "position", "char_start", "char_end"])
    n = len(frame)
    first = frame["position"].to_numpy() == 0
    logprob = np.where(first, np.nan, -rng.exponential(3, n))
    ids = rng.integers(0, 50_000, (n, 5))
    lps = np.sort(-rng.exponential(2, (n, 5)), axis=1)[:, ::-1]
    frame.insert(2, "token_id", rng.integers(0, 50_000, n))
    frame.insert(3, "token", pd.array([texts[t][s:e] for t, _, s, e in rows], dtype="string"))
    frame["logprob"] = logprob
    frame["entropy"] = rng.uniform(0, 6, n)
    frame["rank"] = np.where(first, np.nan, rng.integers(1, 20, n).astype(float))
    frame["context_tokens"] = frame["position"] + 1
    frame["word_start_logprob"] = -rng.exponential(0.3, n)
    frame["next_word_start_logprob"] = -rng.exponential(0.3, n)
    frame["topk_token_ids"] = [[] if f else list(map(int, r)) for f, r in zip(first, ids)]
    frame["topk_tokens"] = [[] if f else [f"tok{i}" for i in r] for f, r in zip(first, ids)]
    frame["topk_logprobs"] = [[] if f else list(map(float, r)) for f, r in zip(first, lps)]
    return frame


def clock(fn):
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def cache_round(module, texts, tokens, root: Path):
    """(write s, read s, table) of cached_score_texts with score_texts faked by the synthetic table."""
    from backend.models.specs import ModelSpec

    module.score_texts = lambda loaded, ts, settings=None, progress=None: tokens if ts else tokens.iloc[0:0]
    loaded = types.SimpleNamespace(spec=ModelSpec("synthetic"))
    os.environ["DUET_CACHE_DIR"] = str(root)
    _, write_wall, write_cpu = clock(lambda: module.cached_score_texts(loaded, texts))
    read, read_wall, read_cpu = clock(lambda: module.cached_score_texts(loaded, texts))
    return (write_wall, write_cpu), (read_wall, read_cpu), read


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", nargs="+", type=int, default=[1000, 10000])
    parser.add_argument("--base", default="9e33671", help="git revision of the code before")
    parser.add_argument("--old-summary-max", type=int, default=1000,
                        help="largest size at which the old (quadratic) summary is run; above it, extrapolated")
    parser.add_argument("--tok-s-a", type=float, default=250.0)
    parser.add_argument("--tok-s-b", type=float, default=133.0)
    args = parser.parse_args()
    old_words = old_module(args.base, "analysis/words.py", "old_words")
    old_summary = old_module(args.base, "analysis/summary.py", "old_summary", {"from analysis.words": "from old_words"})
    old_cache = old_module(args.base, "backend/store/score_cache.py", "old_score_cache")
    import backend.store.score_cache as new_cache
    from backend.store.runs import RunStore
    old_runs = old_module(args.base, "backend/store/runs.py", "old_runs")
    lines = ["| texts | tokens A / B | stage | before wall s | before CPU s | after wall s | after CPU s | before ÷ after (CPU) |",
             "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    summary_lines = []
    old_summary_1k = None
    for n in args.sizes:
        texts, tok_a, tok_b = synthetic(n)
        tokens = pd.concat([tok_a.assign(model="a"), tok_b.assign(model="b")], ignore_index=True)
        stages = {}
        # word alignment (old first, then new)
        old_w, *old_t = clock(lambda: old_words.align_words(texts, tok_a, tok_b))
        new_w, *new_t = clock(lambda: align_words(texts, tok_a, tok_b))
        pd.testing.assert_frame_equal(old_w, new_w, check_exact=True)
        stages["word alignment"] = (old_t, new_t)
        # summary
        new_s, *new_t = clock(lambda: summarize(texts, tokens, new_w))
        if n <= args.old_summary_max:
            old_s, *old_t = clock(lambda: old_summary.summarize(texts, tokens, new_w))
            pd.testing.assert_frame_equal(old_s, new_s, check_exact=True)
            old_summary_1k = (n, old_t)
        else:
            m, (w, c) = old_summary_1k
            old_t = [w * (n / m) ** 2, c * (n / m) ** 2]  # quadratic: every text scans every row
        stages["summary" + ("" if n <= args.old_summary_max else " (before: extrapolated n²)")] = (old_t, new_t)
        # score cache, model A's table
        with tempfile.TemporaryDirectory() as old_root, tempfile.TemporaryDirectory() as new_root:
            ow, orr, old_read = cache_round(old_cache, texts, tok_a, Path(old_root))
            nw, nr, new_read = cache_round(new_cache, texts, tok_a, Path(new_root))
            pd.testing.assert_frame_equal(old_read.drop(columns=[c for c in old_read if c.startswith("topk")]),
                                          new_read.drop(columns=[c for c in new_read if c.startswith("topk")]))
            assert all(np.array_equal(x, y) for c in ("topk_token_ids", "topk_logprobs")
                       for x, y in zip(old_read[c], new_read[c]))
            stages["score cache write (model A)"] = (ow, nw)
            stages["score cache read (model A)"] = (orr, nr)
            disk_old = sum(p.stat().st_size for p in Path(old_root).rglob("*.parquet"))
            disk_new = sum(p.stat().st_size for p in Path(new_root).rglob("*.parquet"))
            files_old = len(list(Path(old_root).rglob("*.parquet")))
            files_new = len(list(Path(new_root).rglob("*.parquet")))
        # run save
        result = PairResult(texts=texts, tokens=tokens, words=new_w, summary=new_s)
        with tempfile.TemporaryDirectory() as old_root, tempfile.TemporaryDirectory() as new_root:
            _, *old_t = clock(lambda: old_runs.RunStore(Path(old_root)).save(result, "a", "b", {}))
            _, *new_t = clock(lambda: RunStore(Path(new_root)).save(result, "a", "b", {}))
            stages["run save"] = (old_t, new_t)
        for stage, (before, after) in stages.items():
            lines.append(f"| {n:,} | {len(tok_a):,} / {len(tok_b):,} | {stage} | {before[0]:.2f} | {before[1]:.2f} | "
                         f"{after[0]:.2f} | {after[1]:.2f} | {before[1] / max(after[1], 1e-9):.1f}× |")
        total_before = sum(b[1] for b, _ in stages.values())
        total_after = sum(a[1] for _, a in stages.values())
        model_s = len(tok_a) / args.tok_s_a + len(tok_b) / args.tok_s_b
        # bytes per token: the synthetic table in memory (fresh lists) and read back, and on disk
        mem_fresh = tok_a.memory_usage(deep=True).sum() / len(tok_a)
        mem_read = new_read.memory_usage(deep=True).sum() / len(tok_a)
        buf = io.BytesIO()
        from backend.store.topk_columns import columnar

        arrow = columnar(tok_a).table
        summary_lines.append(
            f"| {n:,} | {total_before:.1f} | {total_after:.1f} | {model_s:,.0f} | {100 * total_before / model_s:.1f}% | "
            f"{100 * total_after / model_s:.2f}% | {files_old:,} → {files_new} | {disk_old / len(tok_a):.0f} → {disk_new / len(tok_a):.0f} | "
            f"{mem_fresh:.0f} / {mem_read:.0f} | {arrow.nbytes / len(tok_a):.0f} |")
        del buf
    print("\n".join(lines))
    print()
    print("| texts | overhead before CPU s | overhead after CPU s | est. model s | before, share of model | after, share of model |"
          " cache files | cache bytes/token on disk (A) | in memory bytes/token: fresh lists / read back | as Arrow in memory |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(summary_lines))


if __name__ == "__main__":
    main()
