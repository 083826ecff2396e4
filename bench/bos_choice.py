"""What the start token costs a model (the bos= spec option): mean surprisal with each choice.

  DUET_MODEL_CACHE=.cache/models .venv/bin/python -m bench.bos_choice [--model smollm2-135m]
      [--bos auto "<|endoftext|>"] [--paragraphs 60]

Scores the first N paragraphs of bench.corpus_paragraphs (seed 0) with the model once per start
token and prints the mean logprob of each text's first token and of all later tokens (nats), so the
default pair's choice in backend/models/specs.py can be checked.
"""

from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--bos", nargs="+", default=["auto", "<|endoftext|>"])
    parser.add_argument("--paragraphs", type=int, default=60)
    args = parser.parse_args()

    from backend.models.loading import load_model
    from backend.scoring.score import score_texts
    from backend.models.specs import ModelSpec
    from bench.corpus_paragraphs import paragraphs

    texts = paragraphs(args.paragraphs, seed=0)
    print(f"\n`.venv/bin/python -m bench.bos_choice --model {args.model} --paragraphs {args.paragraphs}`\n")
    print("| spec | start token id | first-token logprob (nats) | later tokens, mean logprob (nats) | tokens |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for bos in args.bos:
        loaded = load_model(ModelSpec(args.model, bos=bos))
        table = score_texts(loaded, texts)
        first = table[table["position"] == 0]["logprob"].mean()
        later = table[table["position"] > 0]["logprob"].mean()
        print(f"| {loaded.spec.source}?bos={bos} | {loaded.bos_id} | {first:.3f} | {later:.4f} | {len(table):,} |")


if __name__ == "__main__":
    main()
