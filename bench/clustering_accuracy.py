"""Accuracy of each meaning-clustering method on labelled answer pairs (same meaning or not), threshold chosen on half.

  DUET_MODEL_CACHE=.cache/models .venv/bin/python -m bench.clustering_accuracy [--pairs tests/data/answer_pairs.jsonl]

Each pair (prompt, answer a, answer b, same) is clustered as a two-answer set of that prompt, as the
uncertainty page clusters one prompt's samples: the pair is judged "same" when both answers land in one
cluster (analysis.uncertainty.cluster_by_embedding; identical strings always do). Methods:
  * plain embedding: all-MiniLM-L6-v2 of the whole answers;
  * answer parts only: all-MiniLM-L6-v2 of analysis.answer_text.answer_parts, without must_differ (ablation);
  * answer-aware embedding: the same, with must_differ pairs kept apart (the page's default);
  * NLI: only with --nli NAME (a local folder; nothing in the package index ships one, see README).
The threshold of each method is chosen on the TUNE half (the pairs of every other prompt, in file order)
and its accuracy reported on that half, on the HELD-OUT half and on all pairs; the shipped default
threshold is reported too. Prints a markdown table, the per-kind errors and the command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from analysis.answer_text import answer_parts, must_differ
from analysis.uncertainty import (
    APART_DISTANCE,
    DEFAULT_ANSWER_THRESHOLD,
    DEFAULT_DISTANCE_THRESHOLD,
    cluster_by_embedding,
)

PAIRS = Path(__file__).resolve().parent.parent / "tests" / "data" / "answer_pairs.jsonl"
GRID = np.round(np.arange(0.0, 1.001, 0.01), 2)


def load_pairs(path: Path = PAIRS) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def split(pairs: list[dict]) -> np.ndarray:
    """True for the TUNE half: pairs whose prompt is the 1st, 3rd, 5th, ... distinct prompt in file order.

    Splitting by prompt (not by line) keeps a prompt's paraphrase and its contradiction on the same
    side, so the held-out half has prompts the threshold never saw.
    """
    order = list(dict.fromkeys(p["prompt"] for p in pairs))
    rank = {prompt: i for i, prompt in enumerate(order)}
    return np.array([rank[p["prompt"]] % 2 == 0 for p in pairs])


def distances(encoder, pairs: list[dict], aware: bool, keep_apart: bool = True) -> np.ndarray:
    """The distance cluster_by_embedding would merge each pair at (a pair is "same" when it is <= the threshold).

    Computed through cluster_by_embedding itself: the two answers share a cluster at threshold t
    exactly when their linkage height is <= t, found here by asking at the pair's cosine distance.
    """
    texts = []
    for p in pairs:
        texts += answer_parts(p["prompt"], [p["a"], p["b"]]) if aware else [p["a"], p["b"]]
    vectors = encoder.embed(texts).astype(np.float64)
    out = []
    for i, p in enumerate(pairs):
        pair = vectors[2 * i : 2 * i + 2]
        apart = must_differ(texts[2 * i : 2 * i + 2]) if aware and keep_apart else None
        norms = np.linalg.norm(pair, axis=1)
        cosine = float(pair[0] @ pair[1] / (norms[0] * norms[1])) if norms.all() else float(norms.any() == 0)
        d = max(0.0, 1.0 - cosine)
        labels = cluster_by_embedding(pair, d + 1e-9, [p["a"], p["b"]], apart)
        # Merged at the cosine distance (or identical strings): that distance; kept apart: never.
        out.append(0.0 if p["a"] == p["b"] else d if labels[0] == labels[1] else APART_DISTANCE)
    return np.array(out)


def accuracy(d: np.ndarray, same: np.ndarray, threshold: float) -> float:
    return float(np.mean((d <= threshold) == same)) if len(d) else float("nan")


def best_threshold(d: np.ndarray, same: np.ndarray) -> float:
    """The middle of the longest run of grid thresholds with the best accuracy (a margin on both sides)."""
    scores = np.array([accuracy(d, same, t) for t in GRID])
    best = np.flatnonzero(np.isclose(scores, scores.max()))
    runs = np.split(best, np.flatnonzero(np.diff(best) != 1) + 1)
    run = max(runs, key=len)
    return float(GRID[run[len(run) // 2]])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=PAIRS)
    parser.add_argument("--nli", default=None, help="an NLI cross-encoder folder (optional)")
    args = parser.parse_args(argv)
    from backend.models.sentence_encoder import load_sentence_encoder

    pairs = load_pairs(args.pairs)
    same = np.array([bool(p["same"]) for p in pairs])
    tune = split(pairs)
    encoder = load_sentence_encoder()
    rows, errors = [], {}
    for name, aware, keep_apart, default in (
        ("plain embedding", False, False, DEFAULT_DISTANCE_THRESHOLD),
        ("answer parts only (no must_differ; ablation)", True, False, DEFAULT_ANSWER_THRESHOLD),
        ("answer-aware embedding (default)", True, True, DEFAULT_ANSWER_THRESHOLD),
    ):
        d = distances(encoder, pairs, aware, keep_apart)
        chosen = best_threshold(d[tune], same[tune])
        oracle = best_threshold(d, same)  # chosen on all pairs: an upper bound, not a result
        rows.append((name, f"{chosen:.2f}", accuracy(d[tune], same[tune], chosen),
                     accuracy(d[~tune], same[~tune], chosen), accuracy(d, same, chosen),
                     f"{default:.2f}", accuracy(d, same, default), f"{accuracy(d, same, oracle):.1%} at {oracle:.2f}"))
        errors[name] = [(p["kind"], p["a"], p["b"], p["same"], round(float(x), 3))
                        for p, x, s in zip(pairs, d, same) if (x <= default) != s]
    if args.nli:
        from analysis.uncertainty import cluster_by_entailment
        from backend.models.nli import load_nli

        entails = load_nli(args.nli).entails_fn()
        pred = np.array([len(set(cluster_by_entailment([p["a"], p["b"]], entails, p["prompt"]))) == 1 for p in pairs])
        ok = pred == same
        rows.append(("NLI " + args.nli, "-", float(ok[tune].mean()), float(ok[~tune].mean()), float(ok.mean()), "-",
                     float(ok.mean()), "-"))
    print(f"{len(pairs)} pairs ({int(same.sum())} same meaning), tune half {int(tune.sum())}, "
          f"held-out half {int((~tune).sum())}\n")
    print("| method | threshold chosen on tune | tune acc. | held-out acc. | all acc. | default threshold "
          "| all acc. at default | best on all (upper bound) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, chosen, a_tune, a_held, a_all, default, a_default, oracle in rows:
        print(f"| {name} | {chosen} | {a_tune:.1%} | {a_held:.1%} | {a_all:.1%} | {default} | {a_default:.1%} | {oracle} |")
    for name, wrong in errors.items():
        print(f"\n{name}: {len(wrong)} wrong at the default threshold")
        for kind, a, b, s, x in wrong:
            print(f"  [{kind}] {'same' if s else 'diff'} d={x}: {a!r} / {b!r}")
    print("\ncommand: DUET_MODEL_CACHE=.cache/models .venv/bin/python -m bench.clustering_accuracy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
