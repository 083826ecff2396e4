"""Added time of every uncertainty estimator and of the error evaluation, against the sampling they follow.

  DUET_MODEL_CACHE=.cache/models .venv/bin/python -m bench.uncertainty_estimators [--prompts 30] [--samples 10]
                                  [--repeats 5] [--no-sampling] [--new-tokens 32]

Estimator part: SYNTHETIC samples (short answers drawn from a few paraphrases per prompt, random
logprobs) and SYNTHETIC 384-d sentence embeddings (unit vectors around one direction per meaning),
for two models: P prompts x (N samples + 1 reference). Timed, median of --repeats:
  * estimators, cosine W:   analysis.uncertainty_table.estimator_table with embeddings (what the page
                            computes when clustering by embeddings);
  * estimators, NLI W:      the same with a memoised entailment-probability lookup (the page reuses the
                            NLI clustering's probabilities, so no model call is timed here);
  * correctness + AUROC/PRR with intervals: correctness of every answer, then evaluation_table over all
                            15 estimators x 2 models with 1000 prompt resamples.
Sampling part (unless --no-sampling): the same request sampled for real with the embedded pair
(smollm2-135m, gemma3-270m) through backend.sampling.sampler.sample_prompts, one model after the
other as the page does, embeddings of the answers not included. Prints a markdown table and the command.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np
import pandas as pd

PARAPHRASES = [
    ["Paris", "It is Paris.", "The capital is Paris", "Lyon", "Marseille"],
    ["1989", "In 1989.", "It fell in 1989", "1991", "1961"],
    ["Mary Shelley", "Shelley", "It was Mary Shelley.", "Percy Shelley", "Lord Byron"],
]


def synthetic(n_prompts: int, n_samples: int, dim: int = 384, seed: int = 0):
    """(samples table, embeddings, gold answers) for models a and b."""
    rng = np.random.default_rng(seed)
    rows, vectors, gold = [], [], []
    directions = {}
    for p in range(n_prompts):
        options = PARAPHRASES[p % len(PARAPHRASES)]
        gold.append(options[0])
        for model in ("a", "b"):
            spread = rng.uniform(0.0, 1.0)  # how unsure this model is on this prompt
            for sample_id in [*range(n_samples), -1]:
                k = 0 if sample_id == -1 and spread < 0.5 else int(rng.integers(0, 1 + int(spread * 4)))
                text = options[min(k, len(options) - 1)]
                n_tokens = int(rng.integers(2, 12))
                mean_lp = -rng.gamma(1.0 + 2 * spread, 0.3)
                rows.append((p, model, sample_id, sample_id == -1, text, n_tokens, mean_lp * n_tokens, mean_lp))
                meaning = (p, min(k, 2))
                if meaning not in directions:
                    directions[meaning] = rng.normal(size=dim)
                v = directions[meaning] + 0.3 * rng.normal(size=dim)
                vectors.append(v / np.linalg.norm(v))
    samples = pd.DataFrame(rows, columns=["prompt_id", "model", "sample_id", "is_reference", "text", "n_tokens",
                                          "total_logprob", "mean_logprob"])
    return samples, np.array(vectors, dtype=np.float32), gold


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def estimator_times(n_prompts: int, n_samples: int, repeats: int) -> dict:
    from analysis import uncertainty_correctness as corr
    from analysis import uncertainty_evaluation as ev
    from analysis.uncertainty_table import estimator_names, estimator_table, with_estimators

    samples, embeddings, gold = synthetic(n_prompts, n_samples)
    rng = np.random.default_rng(1)
    probabilities: dict = {}

    def entail_prob(premise: str, hypothesis: str) -> float:
        return probabilities.setdefault((premise, hypothesis), float(rng.random()))

    estimator_table(samples.head(n_samples + 1), embeddings[: n_samples + 1])  # warm-up: imports, rouge scorer
    cosine = timed(lambda: estimator_table(samples, embeddings), repeats)
    nli = timed(lambda: estimator_table(samples, embeddings, entail_prob), repeats)

    # The evaluation needs every estimator column: the added ones and stand-ins for the five old ones.
    table = estimator_table(samples, embeddings)
    old = [n for n in estimator_names() if n not in table.columns]
    table = table.assign(**{n: rng.random(len(table)) for n in old})

    def evaluate():
        correct = corr.correctness(samples, gold)
        joined = with_estimators(table[["prompt_id", "model", *old]], table).merge(
            corr.correctness_table(samples, correct), on=["prompt_id", "model"])
        return ev.evaluation_table(joined, estimator_names())

    evaluation = timed(evaluate, repeats)
    return {"cosine": cosine, "nli": nli, "evaluation": evaluation, "n_estimators": len(estimator_names())}


def sampling_time(n_prompts: int, n_samples: int, new_tokens: int) -> dict:
    from backend.models.loading import load_model
    from backend.models.specs import ModelSpec
    from backend.sampling.sampler import SampleSettings, sample_prompts

    questions = pd.read_csv(os.path.join(os.path.dirname(__file__), "..", "data", "example_questions.csv"))["text"]
    prompts = [questions[i % len(questions)] for i in range(n_prompts)]
    settings = SampleSettings(n_samples=n_samples, max_new_tokens=new_tokens, seed=0, chat_template=True,
                              single_line=True, prompt_format="Question: {prompt}\nAnswer:")
    out = {}
    for alias in ("smollm2-135m", "gemma3-270m"):
        loaded = load_model(ModelSpec(alias))
        sample_prompts(loaded, prompts[:1], SampleSettings(n_samples=1, max_new_tokens=2))  # warm-up
        started = time.perf_counter()
        sample_prompts(loaded, prompts, settings)
        out[alias] = time.perf_counter() - started
        del loaded
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=30)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--no-sampling", action="store_true")
    args = parser.parse_args()

    est = estimator_times(args.prompts, args.samples, args.repeats)
    print(f"command: {' '.join([os.path.basename(sys.executable), '-m', 'bench.uncertainty_estimators', *sys.argv[1:]])}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"{args.prompts} prompts x ({args.samples} samples + 1 reference) x 2 models\n")
    print("| step | seconds |")
    print("| --- | ---: |")
    print(f"| 10 added estimators, W = embedding cosine (synthetic samples + 384-d embeddings) | {est['cosine']:.3f} |")
    print(f"| 10 added estimators, W = NLI probabilities (memoised lookup, no model call) | {est['nli']:.3f} |")
    print(f"| correctness + AUROC/PRR with 1000-resample intervals, {est['n_estimators']} estimators x 2 models "
          f"| {est['evaluation']:.3f} |")
    added = est["cosine"] + est["evaluation"]
    if not args.no_sampling:
        sampled = sampling_time(args.prompts, args.samples, args.new_tokens)
        total = sum(sampled.values())
        for alias, seconds in sampled.items():
            print(f"| sampling, {alias} (embedded, max {args.new_tokens} new tokens, single line) | {seconds:.1f} |")
        print(f"\nadded by the estimators and the evaluation: {added:.3f} s = {100 * added / total:.2f}% of the "
              f"{total:.1f} s of sampling both models")
    else:
        print(f"\nadded by the estimators and the evaluation: {added:.3f} s")


if __name__ == "__main__":
    main()
