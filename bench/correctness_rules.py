"""Each model's accuracy on the example questions under every correctness rule, from real samples.

`DUET_MODEL_CACHE=.cache/models .venv/bin/python -m bench.correctness_rules --questions 20`
samples the first N questions of data/example_questions.csv with the embedded pair (3 samples
plus the reference answer, chat template, one line, 32 new tokens, seed 0) and prints, per rule
and model, the reference answers judged correct and the share of sampled answers. Why: the
default rule was chosen because SQuAD as published scores sentence answers wrong; this is the
measurement behind that choice (about 40 s per model on the 2-core CPU).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from analysis import uncertainty_correctness as corr

QUESTIONS = Path(__file__).resolve().parent.parent / "data" / "example_questions.csv"
RULES = ("squad-plain", "squad", "contains")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    args = parser.parse_args()

    from backend.models.loading import load_model
    from backend.models.specs import ModelSpec
    from backend.sampling.sampler import SampleSettings, sample_prompts

    data = pd.read_csv(QUESTIONS, dtype=str, keep_default_na=False).head(args.questions)
    prompts, gold = list(data["text"]), list(data["answer"])
    settings = SampleSettings(n_samples=args.samples, max_new_tokens=args.max_new_tokens, seed=0,
                              chat_template=True, single_line=True, prompt_format="Question: {prompt}\nAnswer:")
    frames = []
    for alias in ("smollm2-135m", "gemma3-270m"):
        started = time.perf_counter()
        result = sample_prompts(load_model(ModelSpec(alias)), prompts, settings, model=alias)
        frames.append(result.samples if hasattr(result, "samples") else result)
        print(f"{alias}: sampled in {time.perf_counter() - started:.0f} s", flush=True)
    samples = pd.concat(frames, ignore_index=True)
    print(f"\n| rule | model | reference answers correct | sampled answers correct |\n| --- | --- | ---: | ---: |")
    for rule in RULES:
        table = corr.correctness_table(samples, corr.correctness(samples, gold, rule, prompts))
        for model, rows in table.groupby("model"):
            print(f"| {rule} | {model} | {int(rows['correct'].sum())}/{len(rows)} | {rows['sample_accuracy'].mean():.0%} |")


if __name__ == "__main__":
    main()
