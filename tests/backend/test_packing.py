"""Packing several texts into one input: the plan, the model check, and that scores do not change."""

from __future__ import annotations

import numpy as np
import pytest

from backend.scoring import packing
from backend.models.loading import load_model
from backend.scoring.packing import pack_batches, packed_inputs, packing_works
from backend.scoring.score import ScoreSettings, score_texts
from backend.models.specs import ModelSpec
from backend.scoring.windows import batches_by_length
from tiny_models import CORPUS

TOL = 1e-4  # nats, float32

# Lengths like a real corpus: mostly short, a long tail (the walkthrough paragraphs are 13-126 tokens).
LENGTHS = [int(n) for n in np.random.default_rng(0).lognormal(3.8, 0.5, 400).clip(3, 300)]


@pytest.mark.parametrize("budget", [1, 300, 4096, 10**6])
def test_plan_puts_every_row_once_within_width_and_budget(budget):
    batches = pack_batches(LENGTHS, budget)
    seen = sorted(i for batch in batches for pack in batch for i in pack)
    assert seen == list(range(len(LENGTHS)))
    for batch in batches:
        width = LENGTHS[batch[0][0]]  # the batch's first row is its longest
        assert all(sum(LENGTHS[i] for i in pack) <= width for pack in batch)
        assert len(batch) * width <= max(budget, width)
        assert all(LENGTHS[i] <= width for pack in batch for i in pack)


def padding(batches, lengths) -> float:
    padded = sum(len(batch) * max(sum(lengths[i] for i in pack) for pack in batch) for batch in batches)
    return 1 - sum(lengths) / padded


@pytest.mark.parametrize("budget", [4096, 65536])
def test_packing_cuts_padding(budget):
    unpacked = [[[i] for i in batch] for batch in batches_by_length(LENGTHS, budget)]
    packed = pack_batches(LENGTHS, budget)
    assert padding(packed, LENGTHS) < 0.1 < padding(unpacked, LENGTHS)


def test_inputs_restart_positions_for_every_row_and_for_the_padding():
    ids, positions, starts = packed_inputs([[np.array([5, 6, 7]), np.array([8, 9])], [np.array([1, 2])]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7, 8, 9], [1, 2, 0, 0, 0]]
    assert positions.tolist() == [[0, 1, 2, 0, 1], [0, 1, 0, 1, 2]]
    assert starts == [[0, 3], [0]]


@pytest.mark.parametrize("which", ["model_a", "model_b"])  # llama and gpt_neox
def test_check_passes_on_models_that_follow_position_ids(which, request):
    loaded = request.getfixturevalue(which)
    assert packing_works(loaded.model, loaded.device)


def test_check_fails_when_segments_see_each_other(model_a, monkeypatch):
    # A model that ignores the restarting positions (plain causal attention over the whole input).
    base = getattr(model_a.model, model_a.model.base_model_prefix)
    forward = base.forward
    monkeypatch.setattr(base, "forward", lambda input_ids, position_ids=None, **kw: forward(input_ids=input_ids, **kw))
    assert not packing_works(model_a.model, model_a.device)


@pytest.mark.parametrize("which", ["model_a", "model_b"])
def test_scores_are_the_same_packed_or_not(which, request):
    loaded = request.getfixturevalue(which)
    texts = CORPUS + [" ".join(CORPUS)] * 2 + ["a", "b c"]
    settings = dict(batch_tokens=4096, window=64, stride=16)  # windows of long texts packed with short texts
    alone = score_texts(loaded, texts, ScoreSettings(packing=False, **settings))
    packed = score_texts(loaded, texts, ScoreSettings(packing=True, **settings))
    assert len(alone) == len(packed) and alone["logprob"].notna().sum() > 100
    for column in ("logprob", "entropy", "rank", "context_tokens"):
        np.testing.assert_allclose(packed[column], alone[column], atol=TOL, rtol=0)
    assert (packed["topk_token_ids"] == alone["topk_token_ids"]).all()


def test_scoring_checks_the_model_once_and_keeps_the_answer(tiny_a, monkeypatch):
    loaded = load_model(ModelSpec(str(tiny_a)))
    calls = []
    real = packing.packing_works
    monkeypatch.setattr("backend.scoring.score.packing_works", lambda *a: calls.append(1) or real(*a))
    score_texts(loaded, CORPUS[:2])
    score_texts(loaded, CORPUS[2:])
    assert calls == [1] and loaded.packing is True
