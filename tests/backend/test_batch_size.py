"""Growing the batch to what fits after the first batch (the GPU path), tested on the CPU with a
memory reading injected in place of torch.cuda's."""

from __future__ import annotations

import pytest
import torch

import backend.scoring.score as scoring
from backend.scoring.batch_size import fit_batch_tokens
from backend.scoring.head import Head, chunk_size
from backend.scoring.windows import plan_rows
from tiny_models import CORPUS


def test_fit_uses_the_measured_bytes_per_token():
    # 1,000 tokens needed 10 MB: 10 kB a token; 1 GB free at a 0.8 margin fits 80,000 tokens.
    assert fit_batch_tokens(10_000_000, 1_000_000_000, 1_000, floor=1_000, cap=10**9) == 80_000
    assert fit_batch_tokens(10_000_000, 1_000_000_000, 1_000, floor=1_000, cap=50_000) == 50_000
    assert fit_batch_tokens(10_000_000, 1_000_000, 1_000, floor=1_000) == 1_000  # never below what ran
    assert fit_batch_tokens(0, 1_000_000, 1_000, floor=1_000) == 1_000  # nothing measured: keep it


class FakeProbe:
    """Says every token takes 1 kB and 200 kB are free: room for 160 tokens a batch."""

    def __init__(self):
        self.starts = 0

    def start(self):
        self.starts += 1

    def reading(self):
        return 1_000 * self.tokens, 200_000

    tokens = 0


def test_rest_of_the_call_is_replanned_after_the_first_batch(model_a, monkeypatch):
    texts = CORPUS * 8
    rows = plan_rows([model_a.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts],
                     model_a.bos_id, 256, 128)
    sizes = []
    real = scoring._score_batch
    probe = FakeProbe()

    def recording(loaded, how, packs):
        width = max(sum(len(r) for r in pack) for pack in packs)
        sizes.append(len(packs) * width)
        probe.tokens = sizes[0]
        return real(loaded, how, packs)

    monkeypatch.setattr(scoring, "_score_batch", recording)
    head = Head.of(model_a.model)
    how = scoring.Pass(head, chunk_size(head.vocab_size), 5, packing=True)
    first = max(len(r) for r in rows)  # a first batch of one input
    with torch.inference_mode():  # as score_texts calls it
        results = scoring._run_batches(model_a, how, rows, first, None, probe)
    assert probe.starts == 1 and sizes[0] <= first
    assert max(sizes[1:]) > first and all(size <= 160 for size in sizes[1:])
    monkeypatch.undo()
    with torch.inference_mode():
        fixed = scoring._run_batches(model_a, how, rows, 4096)
    assert by_token(results) == pytest.approx(by_token(fixed), abs=1e-4)


def by_token(results) -> dict:
    """(text, token) -> logprob, whatever the batches were."""
    return {(int(t), int(k)): float(lp) for text, token, _, logprob, *_ in results
            for t, k, lp in zip(text, token, logprob)}
