"""Sampling throughput for semantic entropy (issue 5): the batched path against loops of single generate calls.

  .venv/bin/python -m bench.sampling [--models smollm2-135m gemma3-270m] [--prompts 5] [--samples 10]
                                     [--new-tokens 32] [--threads N] [--no-hf-loop] [--random-weights]

For each model, the same request (P prompts x (N samples + 1 reference answer)):
  * batched:        backend.sampling.sampler.sample_prompts, every row of every prompt in one generate call;
  * loop, ours:     the same code with one row per generate call (call_rows=1). Its draws are
                    the batched ones (per-row seeds), so the two do the same work, nearly token for token
                    (float round-off can move a draw that lands in the tail; the table counts identical answers);
  * loop, plain HF: what a simple tool does: N + 1 calls of model.generate(do_sample=True,
                    output_logits=True) per prompt, then log_softmax of the kept logits for the
                    untempered logprobs (different draws, same settings).
Prints a markdown table (answers/s counts the reference answers too) and the command.
--random-weights builds the models from bench/configs (for a GPU machine, where the GGUF files
cannot be carried); throughput does not depend on the weights' values, and with no EOS every
answer runs to the token limit.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

QUESTIONS = [
    "What is the capital of Australia?",
    "Who wrote the novel Frankenstein?",
    "What is the boiling point of water at sea level in degrees Fahrenheit?",
    "Which planet in the solar system has the most moons?",
    "In what year did the Berlin Wall fall?",
    "What is the chemical symbol for gold?",
    "Who painted the Mona Lisa?",
    "What is the largest ocean on Earth?",
]
CONFIGS = {"smollm2-135m": "SmolLM2-135M", "gemma3-270m": "Gemma-3-270M"}


def load(alias: str, random_weights: bool, device: str):
    from backend.models.loading import load_model
    from backend.models.specs import ModelSpec

    if not random_weights:
        return load_model(ModelSpec(alias))
    import json
    from pathlib import Path

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedTokenizerFast
    from tokenizers import Tokenizer, models, pre_tokenizers

    from backend.models.loading import LoadedModel

    folder = Path(__file__).parent / "configs"
    path = next(p for p in folder.glob("*.json") if CONFIGS[alias].lower().replace("-", "") in p.stem.lower().replace("-", "").replace("_", ""))
    raw = json.loads(path.read_text())
    config = AutoConfig.for_model(raw.pop("model_type"), **raw)
    torch.manual_seed(0)
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    model = AutoModelForCausalLM.from_config(config, dtype=dtype).to(device).eval()
    # A word-level tokenizer over the config's vocabulary: token ids are all that matter here.
    vocab = {f"w{i}": i for i in range(config.vocab_size)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="w0"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="w1", pad_token="w0")
    from backend.models.specs import ModelSpec

    return LoadedModel(spec=ModelSpec(alias, device=device, dtype=str(dtype).split(".")[-1]), model=model, tokenizer=tokenizer)


def hf_loop(loaded, prompts, settings) -> tuple[float, int, int]:
    """(seconds, answers, generated tokens) for N + 1 single-sequence generate calls per prompt."""
    import torch

    from backend.sampling.sampler import model_input, stop_token_ids

    eos = stop_token_ids(loaded) or None
    pad = loaded.tokenizer.pad_token_id if loaded.tokenizer.pad_token_id is not None else (eos or [0])[0]
    answers = tokens = 0
    started = time.perf_counter()
    with torch.inference_mode():
        for prompt in prompts:
            ids = torch.tensor([model_input(loaded.tokenizer, prompt, settings).ids], device=loaded.device)
            for i in range(settings.n_samples + 1):
                temperature = settings.reference_temperature if i == settings.n_samples else settings.temperature
                out = loaded.model.generate(
                    input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True, temperature=temperature,
                    top_p=1.0, top_k=0, max_new_tokens=settings.max_new_tokens, output_logits=True,
                    return_dict_in_generate=True, eos_token_id=eos, pad_token_id=pad,
                )
                new = out.sequences[0, ids.shape[1]:]
                logits = torch.stack(out.logits, 1)[0].float()
                logprobs = torch.log_softmax(logits, -1).gather(1, new[:, None]).squeeze(1)
                logprobs.cpu()
                answers += 1
                tokens += int(new.shape[0])
    if loaded.device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - started, answers, tokens


def timed_sample(loaded, prompts, settings, call_rows=None):
    import torch

    from backend.sampling.sampler import sample_prompts

    started = time.perf_counter()
    result = sample_prompts(loaded, prompts, settings, call_rows=call_rows)
    if loaded.device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(CONFIGS))
    parser.add_argument("--prompts", type=int, default=5)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--no-hf-loop", action="store_true")
    parser.add_argument("--no-our-loop", action="store_true")
    parser.add_argument("--random-weights", action="store_true")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    import torch

    from backend.sampling.sampler import SampleSettings

    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    prompts = (QUESTIONS * 10)[: args.prompts]
    settings = SampleSettings(n_samples=args.samples, max_new_tokens=args.new_tokens, seed=0,
                              prompt_format="Question: {prompt}\nAnswer:")
    rows = []
    for alias in args.models:
        loaded = load(alias, args.random_weights, args.device)
        eos_backup = loaded.model.generation_config.eos_token_id
        if args.random_weights:  # random weights: no EOS, every answer runs to the limit
            loaded.model.generation_config.eos_token_id = None
            loaded.tokenizer.eos_token = None
        timed_sample(loaded, prompts[:1], SampleSettings(n_samples=1, max_new_tokens=2))  # warm-up
        seconds, batched = timed_sample(loaded, prompts, settings)
        n_answers = len(batched.samples)
        n_tokens = int(batched.samples["n_tokens"].sum())
        rows.append((alias, "batched (one generate call)", seconds, n_answers, n_tokens, ""))
        if not args.no_our_loop:
            loop_seconds, looped = timed_sample(loaded, prompts, settings, call_rows=1)
            same = sum(x == y for x, y in zip(looped.samples["text"], batched.samples["text"]))
            rows.append((alias, f"loop of {n_answers} single-row calls (same code)", loop_seconds, len(looped.samples),
                         int(looped.samples["n_tokens"].sum()), f"{same} of {n_answers} answers identical to batched"))
        if not args.no_hf_loop:
            hf_seconds, hf_answers, hf_tokens = hf_loop(loaded, prompts, settings)
            rows.append((alias, f"loop of {hf_answers} plain HF generate calls", hf_seconds, hf_answers, hf_tokens,
                         "own draws"))
        loaded.model.generation_config.eos_token_id = eos_backup
        del loaded

    device = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else f"CPU, {platform.processor() or platform.machine()}"
    print(f"\nCommand: {' '.join([os.path.basename(sys.executable), '-m', 'bench.sampling', *sys.argv[1:]])}")
    print(f"Device: {device}; torch threads {torch.get_num_threads()}; load average at start: {load_before:.1f}, at end: {os.getloadavg()[0]:.1f}; "
          f"{args.prompts} prompts x ({args.samples} samples + 1 reference) x up to {args.new_tokens} new tokens, "
          f"{'random' if args.random_weights else 'real'} weights\n")
    print("| model | path | seconds | answers | answers/s | new tokens | tokens/s | batched is faster by | note |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    batched_rate = {}
    for alias, path, seconds, answers, tokens, note in rows:
        rate = answers / seconds
        if path.startswith("batched"):
            batched_rate[alias] = rate
        speed = f"{batched_rate[alias] / rate:.1f}x" if not path.startswith("batched") else "–"
        print(f"| {alias} | {path} | {seconds:.1f} | {answers} | {rate:.2f} | {tokens} | {tokens / seconds:.1f} | "
              f"{speed} | {note} |")


if __name__ == "__main__":
    main()
