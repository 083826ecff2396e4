"""BehaviorBox timings (issue 6): word embeddings + SAE training for a corpus of N words.

  .venv/bin/python -m bench.behaviorbox [--words 100000] [--measure-steps 200] [--device cpu|cuda] [--threads N]

The word table is built from real text (bench/corpus_paragraphs.py's
generator, repeated with new seeds until N words) with **synthetic** word
logprobs (scoring 100k words with both LMs takes hours on this CPU and the
timings below do not depend on the values). Stages:

- embedding: backend/behaviorbox/word_embeddings.py over every word (all-MiniLM-L6-v2, windows of 256 tokens), measured in full;
- SAE training at the default sizes for N words (analysis.behaviorbox.default_sae_size,
  backend.behaviorbox.sae.default_steps). With --measure-steps S < the default, only S steps
  are run after 20 warm-up steps, and the full time is extrapolated linearly
  (training cost per step does not depend on the step); the table says so;
- top activations: each feature's top 50 words over all N words (backend/sae.top_activations), in full.

Prints a markdown table and the command that made it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def build_corpus(n_words: int):
    import numpy as np
    import pandas as pd

    from analysis.words import split_words
    from bench.corpus_paragraphs import paragraphs

    texts, frames, total, seed = [], [], 0, 0
    while total < n_words:
        for p in paragraphs(330, seed=seed):
            w = split_words(p)
            frames.append(w.assign(text_id=len(texts), word_index=np.arange(len(w))))
            texts.append(p)
            total += len(w)
            if total >= n_words:
                break
        seed += 1
    words = pd.concat(frames, ignore_index=True).head(n_words)
    rng = np.random.default_rng(0)
    base = rng.uniform(-8, -0.05, len(words))
    words["logprob_a"] = base + rng.normal(0, 1, len(words))
    words["logprob_b"] = base + rng.normal(0, 1, len(words))
    return texts, words


def main() -> None:
    parser = argparse.ArgumentParser(description="BehaviorBox embedding + SAE timings")
    parser.add_argument("--words", type=int, default=100_000)
    parser.add_argument("--measure-steps", type=int, default=200, help="SAE steps actually run (0: all)")
    parser.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()

    import numpy as np
    import torch

    from analysis import behaviorbox as B
    from backend.behaviorbox import sae as S
    from backend.models.sentence_encoder import load_sentence_encoder
    from backend.behaviorbox.word_embeddings import word_embeddings

    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    rows = []

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    texts, words = build_corpus(args.words)
    n = len(words)
    t = time.perf_counter()
    encoder = load_sentence_encoder(device=device)
    rows.append(("load encoder", "all-MiniLM-L6-v2", time.perf_counter() - t, ""))
    t = time.perf_counter()
    emb = word_embeddings(encoder, texts, words)
    sync()
    dt = time.perf_counter() - t
    rows.append(("word embeddings", f"{n:,} words, {len(texts):,} texts, {emb.n_windows:,} windows", dt,
                 f"{n / dt:,.0f} words/s"))

    x = B.performance_aware_embeddings(emb.vectors, np.exp(words["logprob_a"]), np.exp(words["logprob_b"]))
    dict_size, k = B.default_sae_size(n)
    steps = S.default_steps(n, 256)
    measured = steps if not args.measure_steps or args.measure_steps >= steps else args.measure_steps
    if measured < steps:
        S.train_sae(x, dict_size, k, steps=20, device=device)  # warm-up (allocator, kernels)
    t = time.perf_counter()
    model, hist = S.train_sae(x, dict_size, k, steps=measured, device=device)
    sync()
    dt = time.perf_counter() - t
    per_step = dt / measured
    note = f"{1 / per_step:,.1f} steps/s"
    if measured < steps:
        rows.append((f"SAE training ({measured} steps measured)", f"dict {dict_size}, k {k}, batch 256, d {x.shape[1]}",
                     dt, note))
        rows.append(("SAE training, all steps (extrapolated)", f"{steps:,} steps = default for {n:,} words",
                     per_step * steps, "measured steps/s × default steps"))
    else:
        rows.append(("SAE training", f"dict {dict_size}, k {k}, {steps:,} steps, batch 256", dt, note))
    t = time.perf_counter()
    top = S.top_activations(model, x, top=50)
    sync()
    rows.append(("top activations", f"{n:,} words × {dict_size} features", time.perf_counter() - t,
                 f"{len(top):,} rows"))
    embed_s = rows[1][2]
    train_s = rows[-2][2]
    rows.append(("**embedding + SAE training + top words**", "", embed_s + train_s + rows[-1][2],
                 "extrapolated" if measured < steps else "measured"))

    cpu = os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    dev = torch.cuda.get_device_name() if device.startswith("cuda") else f"cpu ({cpu} cores, torch threads {torch.get_num_threads()})"
    print(f"\n`{' '.join(['.venv/bin/python -m bench.behaviorbox'] + sys.argv[1:])}`\n")
    print(f"device: {dev} · load average at the end: {load:.1f} · word logprobs synthetic, texts real\n")
    print("| stage | size | seconds | rate |")
    print("| --- | --- | ---: | --- |")
    for stage, size, secs, rate in rows:
        print(f"| {stage} | {size} | {secs:,.1f} | {rate} |")


if __name__ == "__main__":
    main()
