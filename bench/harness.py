"""Scoring throughput: (a) the plain way, (b) Duet's scorer, (c) minicons, side by side on the same inputs.

  # CPU, the embedded pair (real weights), short sequences:
  .venv/bin/python -m bench.harness --models smollm2-135m gemma3-270m --batch 4 --seq 128
  # GPU, random-weight models from the real configs in bench/configs/ (weights cannot travel there):
  python -m bench.harness --models config:smollm2-135m config:gemma3-270m config:pythia-160m config:pythia-1b \
      --batch 64 256 --seq 512 --find-max-batch

(a) plain: full forward, float32 log_softmax over the whole vocabulary, gather, entropy, rank.
(b) duet: backend.scoring.score's path (hidden states, then the chunked float32 head statistics; eager by
    default, as the pages score; --compile-head on for the compiled head a corpus of 100k+ tokens gets,
    both adds a row with the other mode).
(c) minicons IncrementalLMScorer.compute_stats on the same token ids (if minicons is installed), logprobs
    only: its ranks cost two extra argsorts of the vocabulary, so --minicons-rank adds a row with them
    (Duet's row always has logprob, entropy, rank and top-k, so without ranks minicons does less work).
Like for like: every method's runs alternate (A B C A B C ...), after one warm-up each; wall and CPU
seconds (process time, all threads) are both reported, medians over repeats. --threads 1 2 repeats the
whole set with torch.set_num_threads(1), then (2), alternating too, for the thread policy.
Agreement of (b) with (a) is checked on every token: max |Δ logprob|, max |Δ entropy|, and rank
equality where the target's logit is not within 1e-3 of another's.

MFU = tokens/s x FLOPs per token / peak FLOP/s, with FLOPs per token =
  2 x (non-embedding parameters) + 2 x d_model x vocab (the head) + 2 x n_layers x seq x d_model (attention scores
  and weighted sum, causal: on average seq/2 keys, two matmuls of 2 FLOPs per multiply-add).
Peak: 989e12 (H100 SXM, dense bf16); none on CPU.
Writes bench/results/harness-<time>.json and .md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np
import torch

from backend.scoring.head import Head, chunk_size
from backend.models.loading import LoadedModel, load_model
from backend.scoring.score import Pass, _run_batches
from backend.models.specs import ModelSpec
from backend.scoring.windows import Row

CONFIGS = Path(__file__).parent / "configs"
PEAK_FLOPS = {"cuda": 989e12}


def build(name: str, device: str, dtype: str) -> LoadedModel:
    if name.startswith("config:"):
        from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedTokenizerFast
        from tokenizers import Tokenizer, models

        config = AutoConfig.from_pretrained(CONFIGS / f"{name[7:]}.json")
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype), attn_implementation="sdpa")
        model = model.to(device).eval()
        # A stand-in tokenizer (inputs are random ids). It has pad and eos tokens so minicons does not
        # add one and resize the model's embeddings.
        vocab = {"<unk>": 0, "<pad>": 1, "<eos>": 2}
        tokenizer = PreTrainedTokenizerFast(
            tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="<unk>")), pad_token="<pad>", eos_token="<eos>"
        )
        return LoadedModel(spec=ModelSpec(name, device=device, dtype=dtype), model=model, tokenizer=tokenizer)
    return load_model(ModelSpec(name, device=device, dtype=dtype))


def flops_per_token(model, seq: int) -> float:
    config = model.config
    d = config.hidden_size
    vocab = model.get_output_embeddings().weight.shape[0]
    embed = model.get_input_embeddings().weight.numel()
    params = sum(p.numel() for p in model.parameters())
    head = vocab * d
    non_embedding = params - embed - (0 if model.get_output_embeddings().weight is model.get_input_embeddings().weight else head)
    return 2 * non_embedding + 2 * d * vocab + 2 * config.num_hidden_layers * seq * d


def plain(loaded: LoadedModel, ids: torch.Tensor):
    logits = loaded.model(input_ids=ids).logits.float()
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    target = ids[:, 1:]
    lp = logp.gather(-1, target[..., None])[..., 0]
    entropy = -(logp.exp() * logp).sum(-1)
    rank = (logp > lp[..., None]).sum(-1) + 1
    return lp, entropy, rank, logp


def duet(loaded: LoadedModel, ids: np.ndarray, batch_tokens: int, compile_head: bool = False):
    # One row per sequence; its first id plays the role of BOS (scored from position 1, like plain).
    rows = [Row(text_index=b, ids=ids[b], first_token=0, offset=1, score_from=1) for b in range(ids.shape[0])]
    head = Head.of(loaded.model)
    how = Pass(head, chunk_size(head.vocab_size), 5, compile_head=compile_head)
    results = _run_batches(loaded, how, rows, batch_tokens)
    lp = np.zeros((ids.shape[0], ids.shape[1] - 1))
    ent, rank = np.zeros_like(lp), np.zeros_like(lp)
    for text_i, token_i, _, lps, ents, ranks, *_ in results:  # see backend/scoring/score.py _Scored.arrays
        lp[text_i, token_i], ent[text_i, token_i], rank[text_i, token_i] = lps, ents, ranks
    return lp, ent, rank


def minicons_stats(loaded: LoadedModel, ids: torch.Tensor, rank: bool = False):
    from minicons import scorer

    lm = scorer.IncrementalLMScorer(loaded.model, device=loaded.device, tokenizer=loaded.tokenizer)
    from transformers import BatchEncoding

    encoded = BatchEncoding({"input_ids": ids, "attention_mask": torch.ones_like(ids)})
    offsets = [0] * ids.shape[0]  # no priming prefix: score every token after the first
    return lm.compute_stats((encoded, offsets), rank=rank)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed_alternating(methods: dict, device: str, repeats: int, threads: list[int]) -> dict:
    """{(method, threads): (median wall s, median CPU s, peak GPU GiB)}: one warm-up each, then the
    methods' runs alternate, A B C A B C ..., so a change in machine load falls on all of them alike."""
    keys = [(m, t) for t in threads for m in methods]
    times: dict = {k: [] for k in keys}
    peaks: dict = {}
    failed: dict = {}
    for round_ in range(repeats + 1):
        for method, n_threads in keys:
            if (method, n_threads) in failed:
                continue
            torch.set_num_threads(n_threads)
            if device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                methods[method]()
                sync(device)
            except (torch.OutOfMemoryError, ImportError) as error:
                failed[(method, n_threads)] = "OOM" if isinstance(error, torch.OutOfMemoryError) else "not installed"
                continue
            finally:
                if device.startswith("cuda"):
                    torch.cuda.empty_cache()
            if round_:  # round 0 is the warm-up
                times[(method, n_threads)].append((time.perf_counter() - wall, time.process_time() - cpu))
            peaks[(method, n_threads)] = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else float("nan")
    out = {}
    for key in keys:
        if key in failed:
            out[key] = failed[key]
        else:
            walls, cpus = zip(*times[key])
            out[key] = (float(np.median(walls)), float(np.median(cpus)), peaks[key])
    return out


def agreement(loaded: LoadedModel, ids: torch.Tensor, batch_tokens: int, compile_head: bool) -> dict:
    lp_a, ent_a, rank_a, logp = plain(loaded, ids)
    lp_b, ent_b, rank_b = duet(loaded, ids.cpu().numpy(), batch_tokens, compile_head)
    lp_a, ent_a, rank_a = (t.double().cpu().numpy() for t in (lp_a, ent_a, rank_a))
    gap = (logp - logp.gather(-1, ids[:, 1:, None])).abs()
    near_tie = ((gap < 1e-3).sum(-1) > 1).cpu().numpy()
    return {
        "max_abs_logprob_diff": float(np.abs(lp_a - lp_b).max()),
        "max_abs_entropy_diff": float(np.abs(ent_a - ent_b).max()),
        "rank_equal_non_ties": bool((rank_a == rank_b)[~near_tie].all()),
    }


def max_batch(fn_for_batch, device: str, start: int, limit: int = 4096) -> int:
    best, batch = 0, start
    while batch <= limit:
        try:
            fn_for_batch(batch)
            sync(device)
            best, batch = batch, batch * 2
        except torch.OutOfMemoryError:
            break
        finally:
            if device.startswith("cuda"):
                torch.cuda.empty_cache()
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["smollm2-135m", "gemma3-270m"])
    parser.add_argument("--batch", nargs="+", type=int, default=[4])
    parser.add_argument("--seq", nargs="+", type=int, default=[128])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default=None, help="default: bfloat16 on GPU, float32 on CPU")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-minicons", action="store_true")
    parser.add_argument("--find-max-batch", action="store_true")
    parser.add_argument("--compile-head", choices=["on", "off", "both"], default="off",
                        help="Duet's head statistics compiled (backend/scoring/compiled_head.py); off (default): eager, as the "
                             "pages and the plain way run; on: compiled, as a corpus of 100k+ tokens gets; both: also a row "
                             "duet_other with the other mode")
    parser.add_argument("--minicons-rank", action="store_true", help="also minicons with rank=True (two extra argsorts)")
    parser.add_argument("--threads", nargs="+", type=int, default=[torch.get_num_threads()],
                        help="torch threads; several values are measured alternately (the thread policy)")
    args = parser.parse_args()
    dtype = args.dtype or ("bfloat16" if args.device.startswith("cuda") else "float32")
    rows = []
    for name in args.models:
        loaded = build(name, args.device, dtype)
        vocab = min(loaded.vocab_size, loaded.model.config.vocab_size)
        for seq in args.seq:
            fpt = flops_per_token(loaded.model, seq)
            for batch in args.batch:
                gen = torch.Generator().manual_seed(batch * 1000 + seq)
                ids = torch.randint(3, vocab, (batch, seq), generator=gen).to(args.device)
                n_tokens = batch * (seq - 1)
                compiled = args.compile_head == "on"
                methods = {
                    "plain": lambda: plain(loaded, ids),
                    "duet": lambda: duet(loaded, ids.cpu().numpy(), batch * seq, compiled),
                }
                if args.compile_head == "both":
                    methods["duet_other"] = lambda: duet(loaded, ids.cpu().numpy(), batch * seq, not compiled)
                if not args.no_minicons:
                    methods["minicons"] = lambda: minicons_stats(loaded, ids)
                    if args.minicons_rank:
                        methods["minicons_rank"] = lambda: minicons_stats(loaded, ids, rank=True)
                with torch.inference_mode():
                    measured = timed_alternating(methods, args.device, args.repeats, args.threads)
                for n_threads in args.threads:
                    row = {"model": name, "batch": batch, "seq": seq, "device": args.device, "dtype": dtype,
                           "threads": n_threads, "duet_head": "compiled" if compiled else "eager"}
                    for method in methods:
                        got = measured[(method, n_threads)]
                        if isinstance(got, str):
                            row[f"{method}_tok_s"] = got
                            continue
                        wall, cpu, peak = got
                        row[f"{method}_tok_s"] = n_tokens / wall
                        row[f"{method}_wall_s"] = wall
                        row[f"{method}_cpu_s"] = cpu
                        row[f"{method}_peak_gib"] = peak
                        peak_flops = PEAK_FLOPS.get(args.device.split(":")[0])
                        row[f"{method}_mfu"] = n_tokens / wall * fpt / peak_flops if peak_flops else float("nan")
                    if isinstance(row.get("plain_tok_s"), float) and isinstance(row.get("duet_tok_s"), float):
                        row["duet_vs_plain"] = row["duet_tok_s"] / row["plain_tok_s"]
                        if isinstance(row.get("duet_other_tok_s"), float):
                            row["duet_other_vs_plain"] = row["duet_other_tok_s"] / row["plain_tok_s"]
                        with torch.inference_mode():
                            row.update(agreement(loaded, ids, batch * seq, compiled))
                    if isinstance(row.get("minicons_tok_s"), float) and isinstance(row.get("duet_tok_s"), float):
                        row["duet_vs_minicons"] = row["duet_tok_s"] / row["minicons_tok_s"]
                    if args.find_max_batch and args.device.startswith("cuda"):
                        with torch.inference_mode():
                            row["plain_max_batch"] = max_batch(
                                lambda b: plain(loaded, torch.randint(3, vocab, (b, seq), device=args.device)), args.device, 16)
                            row["duet_max_batch"] = max_batch(
                                lambda b: duet(loaded, np.random.randint(3, vocab, (b, seq)), b * seq, compiled), args.device, 16)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
        del loaded
    write(rows)


def write(rows: list[dict]) -> None:
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (out / f"harness-{stamp}.json").write_text(json.dumps(rows, indent=2))
    columns = sorted({k for r in rows for k in r}, key=lambda k: list(rows[0]).index(k) if k in rows[0] else 99)
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(f"{r[c]:.3g}" if isinstance(r.get(c), float) else str(r.get(c, "")) for c in columns) + " |")
    table = "\n".join(lines)
    (out / f"harness-{stamp}.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
