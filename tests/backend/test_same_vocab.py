"""KL, JS and top-k overlap between two models of one vocabulary, against scipy on full distributions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy as kl

from backend.models.loading import load_model
from backend.scoring.same_vocab import compare_same_vocab, same_vocabulary
from backend.scoring.score import ScoreSettings
from backend.models.specs import ModelSpec
from tiny_models import CORPUS


@pytest.fixture(scope="module")
def base_and_pruned(tiny_a):
    return load_model(ModelSpec(str(tiny_a))), load_model(ModelSpec(str(tiny_a), variant="prune", sparsity=0.3))


def test_divergences_match_scipy(base_and_pruned):
    a, b = base_and_pruned
    assert same_vocabulary(a, b)
    text = CORPUS[0]
    table = compare_same_vocab(a, b, [text], ScoreSettings(top_k=5, chunk_positions=3))
    ids = [a.tokenizer.bos_token_id] + a.tokenizer(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        p = torch.softmax(a.model(torch.tensor([ids])).logits[0, :-1].double(), -1).numpy()
        q = torch.softmax(b.model(torch.tensor([ids])).logits[0, :-1].double(), -1).numpy()
    assert len(table) == len(ids) - 1
    np.testing.assert_allclose(table["kl_a_b"], [kl(p[i], q[i]) for i in range(len(p))], atol=1e-4)
    np.testing.assert_allclose(table["kl_b_a"], [kl(q[i], p[i]) for i in range(len(p))], atol=1e-4)
    np.testing.assert_allclose(table["js"], [jensenshannon(p[i], q[i]) ** 2 for i in range(len(p))], atol=1e-4)
    top_p, top_q = np.argsort(-p, 1)[:, :5], np.argsort(-q, 1)[:, :5]
    expected = [len(set(x) & set(y)) / 5 for x, y in zip(top_p, top_q)]
    np.testing.assert_allclose(table["topk_overlap"], expected)


def test_a_model_against_itself_has_zero_divergence(base_and_pruned):
    a, _ = base_and_pruned
    for other in (a, load_model(ModelSpec(str(a.spec.source)))):  # the same object (one lock), or a twin
        table = compare_same_vocab(a, other, CORPUS[:2])
        assert table["kl_a_b"].abs().max() < 1e-5 and (table["topk_overlap"] == 1).all()


def test_different_vocabularies_are_refused(tiny_a, tiny_b):
    a, b = load_model(ModelSpec(str(tiny_a))), load_model(ModelSpec(str(tiny_b)))
    assert not same_vocabulary(a, b)
    with pytest.raises(ValueError, match="do not share a vocabulary"):
        compare_same_vocab(a, b, ["x"])


def test_packing_texts_together_changes_no_divergence(base_and_pruned):
    a, b = base_and_pruned
    texts = CORPUS + [" ".join(CORPUS)]
    settings = dict(window=48, stride=16, batch_tokens=2048)  # windows of the long text packed with short texts
    alone = compare_same_vocab(a, b, texts, ScoreSettings(packing=False, **settings))
    packed = compare_same_vocab(a, b, texts, ScoreSettings(packing=True, **settings))
    assert len(alone) == len(packed) > 100
    for column in ("kl_a_b", "kl_b_a", "js", "topk_overlap"):
        np.testing.assert_allclose(packed[column], alone[column], atol=1e-5)
