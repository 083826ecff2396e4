"""The scorer's speed options side by side in one process: packing and the compiled head.

  DUET_MODEL_CACHE=.cache/models .venv/bin/python -m bench.scoring_options [--models smollm2-135m gemma3-270m]
      [--paragraphs 150] [--batch-tokens 8192] [--repeats 2]

Scores the first N paragraphs of bench.corpus_paragraphs (seed 0) with each model under four
settings, one padded row per text or packed (backend/scoring/packing.py) x eager or compiled head
(backend/scoring/compiled_head.py), in rotation (so machine noise hits all alike), after one warm-up call
of each (which also compiles). Reports the padding share of each plan, the median tokens/s, and
the largest difference from the baseline table (no option may change a number beyond rounding).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

SETTINGS = {  # name: (packing, compile_head)
    "baseline": (False, False),
    "packed": (True, False),
    "compiled head": (False, True),
    "packed + compiled head": (True, True),
}


def padding_share(lengths: list[int], batches) -> float:
    padded = sum(len(batch) * max(sum(lengths[i] for i in pack) for pack in batch) for batch in batches)
    return 1 - sum(lengths) / padded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["smollm2-135m", "gemma3-270m"])
    parser.add_argument("--paragraphs", type=int, default=150)
    parser.add_argument("--batch-tokens", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import numpy as np

    from backend.models.loading import load_model
    from backend.scoring.packing import one_row_per_pack, pack_batches
    from backend.scoring.score import ScoreSettings, score_texts
    from backend.models.specs import ModelSpec
    from backend.scoring.tokens import tokenize_with_offsets
    from backend.scoring.windows import plan_rows
    from bench.corpus_paragraphs import paragraphs

    texts = paragraphs(args.paragraphs, seed=0)
    results = []
    for name in args.models:
        loaded = load_model(ModelSpec(name))
        tokenized = tokenize_with_offsets(loaded.tokenizer, texts)
        lengths = [len(r) for r in plan_rows([t.ids for t in tokenized], loaded.bos_id, 2048, 1024)]
        padding = {False: padding_share(lengths, one_row_per_pack(lengths, args.batch_tokens)),
                   True: padding_share(lengths, pack_batches(lengths, args.batch_tokens))}
        options = {key: ScoreSettings(batch_tokens=args.batch_tokens, packing=p, compile_head=c)
                   for key, (p, c) in SETTINGS.items()}
        for settings in options.values():  # warm-up: the packing check, the compile
            score_texts(loaded, texts[:8], settings)
        seconds = {key: [] for key in options}
        tables = {}
        for _ in range(args.repeats):
            for key, settings in options.items():
                start = time.perf_counter()
                tables[key] = score_texts(loaded, texts, settings)
                seconds[key].append(time.perf_counter() - start)
        n = int(tables["baseline"]["logprob"].notna().sum())
        base = statistics.median(seconds["baseline"])
        for key, (packing, compiled) in SETTINGS.items():
            row = {"model": name, "setting": key, "texts": len(texts), "tokens": n, "batch_tokens": args.batch_tokens,
                   "padding": padding[packing], "tok_s": n / statistics.median(seconds[key]),
                   "speedup": base / statistics.median(seconds[key]), "seconds": seconds[key],
                   "max_abs_logprob_diff": float(np.nanmax(np.abs(tables[key]["logprob"] - tables["baseline"]["logprob"]))),
                   "max_abs_entropy_diff": float(np.nanmax(np.abs(tables[key]["entropy"] - tables["baseline"]["entropy"])))}
            results.append(row)
            print(json.dumps(row), flush=True)
    print(f"\n`DUET_MODEL_CACHE=.cache/models .venv/bin/python -m bench.scoring_options --paragraphs {args.paragraphs} "
          f"--batch-tokens {args.batch_tokens} --repeats {args.repeats}`\n")
    print("| model | setting | tokens | padding | tok/s | vs baseline | max abs Δ logprob / entropy (nats) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r['model']} | {r['setting']} | {r['tokens']:,} | {r['padding']:.1%} | {r['tok_s']:.0f} | "
              f"{r['speedup']:.2f}× | {r['max_abs_logprob_diff']:.1e} / {r['max_abs_entropy_diff']:.1e} |")


if __name__ == "__main__":
    main()
