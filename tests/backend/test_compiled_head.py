"""The torch.compile'd head statistics against the eager ones (the float32 reference path)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import backend.scoring.compiled_head as compiled_head
from backend.scoring.head import Head, position_stats
from backend.models.loading import load_model
from backend.scoring.score import ScoreSettings, score_texts
from backend.models.specs import ModelSpec
from tiny_models import CORPUS


def make_head(vocab=3000, d=48, bias=True, softcap=None, scale=1.0, seed=0) -> Head:
    generator = torch.Generator().manual_seed(seed)
    linear = torch.nn.Linear(d, vocab, bias=bias)
    with torch.no_grad():
        linear.weight.copy_(torch.randn(vocab, d, generator=generator) * 0.5)
        if bias:
            linear.bias.copy_(torch.randn(vocab, generator=generator))
    return Head(linear, linear.weight.detach().float(), None if not bias else linear.bias.detach().float(), softcap, scale)


@pytest.mark.parametrize("softcap,scale,bias", [(None, 1.0, False), (30.0, 0.5, True)])
def test_compiled_equals_eager_for_every_chunk_size(softcap, scale, bias):
    head = make_head(softcap=softcap, scale=scale, bias=bias)
    generator = torch.Generator().manual_seed(1)
    hidden = torch.randn(101, 48, generator=generator) * 3
    targets = torch.randint(0, 3000, (101,), generator=generator)
    eager = position_stats(head, hidden, targets, 5, 101)
    for chunk in (101, 40, 1):  # 40: a last chunk of 21; 1: single positions (padded to two inside)
        fused = position_stats(head, hidden, targets, 5, chunk, compiled=True)
        for name in ("logprob", "entropy", "topk_logprobs"):
            np.testing.assert_allclose(getattr(fused, name).numpy(), getattr(eager, name).numpy(), atol=2e-5, rtol=0)
        assert torch.equal(fused.rank, eager.rank) and torch.equal(fused.topk_ids, eager.topk_ids)
    assert not compiled_head._broken


def test_a_head_that_cannot_compile_falls_back_to_eager_with_a_warning(monkeypatch):
    def refuse():
        def fail(*args):
            raise RuntimeError("no C++ compiler found")
        return fail

    monkeypatch.setattr(compiled_head, "_compiled", refuse)
    monkeypatch.setattr(compiled_head, "_broken", [])
    head = make_head()
    hidden, targets = torch.randn(10, 48), torch.randint(0, 3000, (10,))
    with pytest.warns(UserWarning, match="no C\\+\\+ compiler"):
        fused = position_stats(head, hidden, targets, 5, 4, compiled=True)
    eager = position_stats(head, hidden, targets, 5, 4)
    assert torch.equal(fused.logprob, eager.logprob) and torch.equal(fused.rank, eager.rank)


def test_out_of_memory_is_not_mistaken_for_a_compiler_failure(monkeypatch):
    def oom():
        def fail(*args):
            raise torch.OutOfMemoryError("CUDA out of memory")
        return fail

    monkeypatch.setattr(compiled_head, "_compiled", oom)
    monkeypatch.setattr(compiled_head, "_broken", [])
    with pytest.raises(torch.OutOfMemoryError):
        position_stats(make_head(), torch.randn(3, 48), torch.randint(0, 3000, (3,)), 5, 4, compiled=True)
    assert not compiled_head._broken


def test_scoring_with_the_compiled_head_gives_the_same_table(tiny_a):
    loaded = load_model(ModelSpec(str(tiny_a)))
    eager = score_texts(loaded, CORPUS, ScoreSettings(compile_head=False))
    fused = score_texts(loaded, CORPUS, ScoreSettings(compile_head=True, chunk_positions=16))
    for column in ("logprob", "entropy", "rank"):
        np.testing.assert_allclose(fused[column], eager[column], atol=1e-4, rtol=0)
    assert (fused["topk_token_ids"] == eager["topk_token_ids"]).all()


def test_compiled_entropy_of_wide_logits_matches_float64():
    """The fused (compiled) reductions sum in another order than eager: still within 1e-4 nats of
    float64 maths on a Gemma-sized vocabulary with flat-ish distributions far from zero."""
    g = torch.Generator().manual_seed(3)
    vocab, d = 262_144, 64
    linear = torch.nn.Linear(d, vocab)
    with torch.no_grad():
        linear.weight.copy_(torch.randn(vocab, d, generator=g) * 3 / d**0.5)
        linear.bias.fill_(30.0)
    head = Head(linear, linear.weight.detach().float(), linear.bias.detach().float(), None, 1.0)
    hidden = torch.randn(6, d, generator=g)
    targets = torch.randint(0, vocab, (6,), generator=g)
    got = position_stats(head, hidden, targets, 5, 4, compiled=True)
    lp64 = torch.log_softmax(hidden.double() @ linear.weight.double().T + 30.0, -1)
    want_entropy = -(lp64.exp() * lp64).sum(-1)
    assert want_entropy.min() > 3
    assert (got.entropy.double() - want_entropy).abs().max() < 1e-4
    assert (got.logprob.double() - lp64.gather(1, targets[:, None]).squeeze(1)).abs().max() < 1e-4
