"""NLI entailment with a tiny randomly initialised classifier saved like a user's folder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from analysis.uncertainty import cluster_by_entailment
from backend.models.loading import ModelLoadError
from backend.models.nli import entailment_index, load_nli

LABELS = {0: "contradiction", 1: "neutral", 2: "entailment"}
ANSWERS = ["Paris", "It is Paris.", "Lyon", "Paris", "The capital is Lyon", "I do not know"]


def build_tiny_nli(folder, id2label=LABELS, seed=0):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    raw = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    raw.normalizer = normalizers.BertNormalizer(lowercase=True)
    raw.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    raw.train_from_iterator(
        ANSWERS * 3 + ["the capital of france is paris", "what is the capital?"],
        trainers.WordPieceTrainer(vocab_size=120, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]),
    )
    cls, sep = raw.token_to_id("[CLS]"), raw.token_to_id("[SEP]")
    raw.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]"
    )
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=raw.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, num_labels=len(id2label),
        id2label=dict(id2label), label2id={v: k for k, v in id2label.items()},
    )
    model = BertForSequenceClassification(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def nli(tmp_path_factory):
    return load_nli(str(build_tiny_nli(tmp_path_factory.mktemp("nli"))))


def test_entailment_label_is_found_by_name():
    assert entailment_index(LABELS) == 2
    assert entailment_index({"0": "ENTAILMENT", "1": "NEUTRAL", "2": "CONTRADICTION"}) == 0
    assert entailment_index({0: "not_entailment", 1: "entails"}) == 1
    with pytest.raises(ModelLoadError, match="LABEL_0, LABEL_1"):
        entailment_index({0: "LABEL_0", 1: "LABEL_1"})


def test_entails_is_the_classifier_argmax(nli):
    entails = nli.entails_fn()
    pairs = [(a, b) for a in ANSWERS[:4] for b in ANSWERS[:4] if a != b]
    with torch.inference_mode():
        for premise, hypothesis in pairs:
            encoded = nli.tokenizer(premise, hypothesis, return_tensors="pt")
            expected = int(nli.model(**encoded).logits.argmax(-1)) == nli.entailment
            assert entails(premise, hypothesis) is expected


def test_prefetch_batches_give_the_same_answers(nli):
    """Padding in a batch must not change a pair's verdict."""
    single = nli.entails_fn()
    one_by_one = {(a, b): single(a, b) for a in ANSWERS for b in ANSWERS if a != b}
    batched = nli.entails_fn()
    batched.prefetch(ANSWERS)
    calls = batched.calls
    assert calls == len(set(ANSWERS)) * (len(set(ANSWERS)) - 1)
    assert {pair: batched(*pair) for pair in one_by_one} == one_by_one
    assert batched.calls == calls  # everything came from the memo


def test_entailment_probabilities_are_kept(nli):
    """The graph estimators need p(entailment), not only the verdict: softmax of the logits, in [0, 1]."""
    entails = nli.entails_fn()
    entails.prefetch(ANSWERS[:4])
    pairs = [(a, b) for a in ANSWERS[:4] for b in ANSWERS[:4] if a != b]
    probs = nli.probabilities(pairs)
    assert probs.shape == (len(pairs), 3) and np.allclose(probs.sum(axis=1), 1.0)
    with torch.inference_mode():
        for (premise, hypothesis), row in zip(pairs, probs):
            encoded = nli.tokenizer(premise, hypothesis, return_tensors="pt")
            expected = torch.softmax(nli.model(**encoded).logits.double(), -1)[0].numpy()
            np.testing.assert_allclose(row, expected, atol=1e-6)
            p = entails.probability(premise, hypothesis)
            assert p == pytest.approx(row[nli.entailment], abs=1e-6)
            assert entails(premise, hypothesis) is bool(row.argmax() == nli.entailment)
    assert nli.predict([]).shape == (0,)


def test_strict_bidirectional_clusters(nli):
    """Rig the classifier: always entailment -> one cluster; never -> one cluster per distinct answer."""
    bias = nli.model.classifier.bias
    saved = bias.detach().clone()
    try:
        with torch.no_grad():
            bias.copy_(torch.tensor([0.0, 0.0, 100.0]))
        assert set(cluster_by_entailment(ANSWERS, nli.entails_fn(), prompt="What is the capital?")) == {0}
        with torch.no_grad():
            bias.copy_(torch.tensor([0.0, 100.0, 0.0]))  # neutral is not entailment
        labels = cluster_by_entailment(ANSWERS, nli.entails_fn())
        assert list(labels) == [0, 1, 2, 0, 3, 4]  # identical strings still share a cluster
    finally:
        with torch.no_grad():
            bias.copy_(saved)


def test_load_errors(tmp_path):
    with pytest.raises(ModelLoadError, match="no NLI model"):
        load_nli("  ")
    with pytest.raises(ModelLoadError, match="hub is unreachable|could not load"):
        load_nli("some-org/no-such-nli-model")
    no_label = build_tiny_nli(tmp_path / "plain", id2label={0: "LABEL_0", 1: "LABEL_1"})
    with pytest.raises(ModelLoadError, match="no 'entailment' label"):
        load_nli(str(no_label))
