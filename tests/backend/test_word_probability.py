"""The end-of-word correction: the word-start statistic against full-vocabulary maths, and word probabilities that sum to at most 1."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from analysis.words import align_words, split_words, token_word_shares, word_end_term
from backend.models.loading import load_model
from backend.models.specs import ModelSpec
from backend.scoring.score import ScoreSettings, score_texts
from backend.scoring.word_start import word_start_ids
from tiny_models import CORPUS


@pytest.mark.parametrize("which", ["model_a", "model_b"])
def test_word_starting_tokens_are_the_ones_that_start_words_in_real_texts(which, request):
    """Oracle from the texts themselves: a token that begins at a non-word character starts a word; one that
    continues a run of word characters does not."""
    loaded = request.getfixturevalue(which)
    starts = set(word_start_ids(loaded.tokenizer, loaded.vocab_size).tolist())
    assert loaded.tokenizer.eos_token_id in starts
    assert not ({loaded.tokenizer.pad_token_id, loaded.tokenizer.bos_token_id} - {None}) & starts
    table = score_texts(loaded, CORPUS)
    checked = 0
    for text_id, text in enumerate(CORPUS):
        for start, end, token in table.loc[table["text_id"] == text_id, ["char_start", "char_end", "token_id"]].itertuples(index=False):
            if end <= start or "\ufffd" in loaded.tokenizer.decode([token]):
                continue  # a byte piece of a character: may continue a word or not, left out (word_start.py)
            if not re.match(r"\w", text[start]):
                assert token in starts, (text[start:end], token)
                checked += 1
            elif start > 0 and re.match(r"\w", text[start - 1]):
                assert token not in starts, (text[start:end], token)
                checked += 1
    assert checked > 50


def full_reference(loaded, text: str, ids: np.ndarray):
    """Word-start mass before each token and after the last, from a plain forward and log_softmax over the vocabulary."""
    tok = loaded.tokenizer
    token_ids = tok(text, add_special_tokens=False, split_special_tokens=True)["input_ids"]
    bos = [tok.bos_token_id] if tok.bos_token_id is not None else []
    x = torch.tensor([bos + token_ids])
    with torch.no_grad():
        logp = torch.log_softmax(loaded.model(x).logits[0].float(), dim=-1)
    mass = torch.logsumexp(logp[:, torch.from_numpy(ids)], dim=-1).double().numpy()
    before = mass[:-1] if bos else np.concatenate([[np.nan], mass[:-1]])
    return before, mass[-1]


@pytest.mark.parametrize("which", ["model_a", "model_b"])  # with a BOS token, and without
def test_word_start_logprob_equals_a_full_vocabulary_float32_computation(which, request):
    loaded = request.getfixturevalue(which)
    ids = word_start_ids(loaded.tokenizer, loaded.vocab_size)
    table = score_texts(loaded, CORPUS, ScoreSettings(batch_tokens=64))  # several batches, packed rows
    for text_id, text in enumerate(CORPUS):
        rows = table[table["text_id"] == text_id]
        before, after_last = full_reference(loaded, text, ids)
        np.testing.assert_allclose(rows["word_start_logprob"], before, atol=1e-4)
        np.testing.assert_allclose(rows["next_word_start_logprob"].iloc[:-1], before[1:], atol=1e-4)
        assert rows["next_word_start_logprob"].iloc[-1] == pytest.approx(after_last, abs=1e-4)
        assert (rows["word_start_logprob"].dropna() <= 1e-6).all()


def test_corrected_words_add_up_to_the_tokens_plus_the_boundary_term(model_a, model_b):
    tokens_a, tokens_b = score_texts(model_a, CORPUS), score_texts(model_b, CORPUS)
    words = align_words(CORPUS, tokens_a, tokens_b)
    for side, tokens in (("a", tokens_a), ("b", tokens_b)):
        for text_id, text in enumerate(CORPUS):
            t = tokens[tokens["text_id"] == text_id].reset_index(drop=True)
            w = words[words["text_id"] == text_id]
            scored = t["logprob"].notna().all()
            if not scored:  # no BOS: the first token has no score, nor has the first word
                w, t = w.iloc[1:], t
            prefix_total = w[f"logprob_prefix_{side}"].sum()
            split = split_words(text)
            ti, wi, _ = token_word_shares(t["char_start"].to_numpy(), t["char_end"].to_numpy(),
                                          split["span_start"].to_numpy(), split["span_end"].to_numpy())
            boundary = word_end_term(split, t, ti, wi)[-1]  # A(last word): does the text end there?
            first_term = 0.0 if scored else word_end_term(split, t, ti, wi)[0]
            assert w[f"logprob_{side}"].sum() == pytest.approx(prefix_total + boundary - first_term, abs=1e-9)
            if scored:
                assert prefix_total == pytest.approx(t["logprob"].sum(), abs=1e-9)


# --- a hand-built bigram model: every word's probability known, so the sums can be checked ------------------

VOCAB = ["<pad>", "<s>", "</s>", "▁a", "a", ".", "▁"]
# p(next | current): after the start a word begins (" a"); inside a word it very likely goes on ("a").
BIGRAM = {
    "<s>": {"▁a": 0.90, "a": 0.02, ".": 0.02, "</s>": 0.02, "▁": 0.02, "<pad>": 0.01, "<s>": 0.01},
    "▁a": {"a": 0.80, "▁a": 0.05, ".": 0.05, "</s>": 0.05, "▁": 0.03, "<pad>": 0.01, "<s>": 0.01},
    "a": {"a": 0.75, "▁a": 0.08, ".": 0.06, "</s>": 0.06, "▁": 0.03, "<pad>": 0.01, "<s>": 0.01},
}


def build_bigram_model(folder):
    """A llama whose layers add nothing: the residual is the current token's one-hot embedding, so the
    head is a bigram table, loaded through the real path like any user's folder."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(VOCAB)}, merges=[("▁", "a")]))
    raw.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never")
    raw.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="never")
    fast = PreTrainedTokenizerFast(tokenizer_object=raw, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    d = 8
    config = AutoConfig.for_model(
        "llama", vocab_size=len(VOCAB), hidden_size=d, intermediate_size=8, num_hidden_layers=1,
        num_attention_heads=1, num_key_value_heads=1, max_position_embeddings=64, rms_norm_eps=1e-12,
        bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False,
    )
    model = AutoModelForCausalLM.from_config(config)
    with torch.no_grad():
        for parameter in model.model.layers.parameters():
            parameter.zero_()
        model.model.embed_tokens.weight.zero_()
        model.model.embed_tokens.weight[:, : len(VOCAB)] = torch.eye(len(VOCAB))
        model.model.norm.weight.fill_(1.0)
        head = torch.full((len(VOCAB), d), 0.0)
        for current, row in BIGRAM.items():
            i = VOCAB.index(current)
            for nxt, p in row.items():
                head[VOCAB.index(nxt), i] = math.log(p) / math.sqrt(d)  # the norm scales one-hot by sqrt(d)
        model.lm_head.weight.copy_(head)
    model.save_pretrained(folder, safe_serialization=True)
    fast.save_pretrained(folder)
    return folder


def test_corrected_probabilities_of_one_word_continuations_sum_to_at_most_one(tmp_path):
    loaded = load_model(ModelSpec(str(build_bigram_model(tmp_path / "bigram"))))
    texts = [" a" + "a" * k for k in range(8)]  # every one-word continuation of up to 8 tokens
    tokens = score_texts(loaded, texts)
    first = tokens[tokens["position"] == 0]
    assert np.exp(first["logprob"]).round(4).tolist() == [0.9] * 8  # the table is what the model says
    words = align_words(texts, tokens, tokens)
    assert (words.groupby("text_id").size() == 1).all()
    corrected, prefix = np.exp(words["logprob_a"]).sum(), np.exp(words["logprob_prefix_a"]).sum()
    assert prefix > 2.0  # " a" also counts " aa", " aaa", ...: not a distribution over words
    assert corrected <= 1.0 + 1e-9
    # By hand: p(" a" a^k, then a word start) = 0.9 · 0.8 · 0.75^(k-1) · P(start | after), with no
    # denominator for the first word of a text.
    ends = {"▁a": 0.05 + 0.05 + 0.05 + 0.03, "a": 0.08 + 0.06 + 0.06 + 0.03}
    expect = [0.9 * ends["▁a"]] + [0.9 * 0.8 * 0.75 ** (k - 1) * ends["a"] for k in range(1, 8)]
    np.testing.assert_allclose(np.exp(words["logprob_a"]), expect, rtol=1e-4)
