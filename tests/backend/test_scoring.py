"""The scorer against a plain full-vocabulary float32 reference, and its invariances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from backend.scoring.score import ScoreSettings, score_texts
from tiny_models import CORPUS

TOL = 1e-4  # nats, float32


def reference(loaded, text: str, k: int = 5) -> dict:
    """Plain way: full forward with the model's own head, log_softmax over the whole vocabulary."""
    tok = loaded.tokenizer
    ids = tok(text, add_special_tokens=False, split_special_tokens=True)["input_ids"]
    bos = [tok.bos_token_id] if tok.bos_token_id is not None else []
    x = torch.tensor([bos + ids])
    with torch.no_grad():
        logits = loaded.model(x).logits[0].float()
    logp = torch.log_softmax(logits, dim=-1)[:-1]
    targets = x[0, 1:]
    lp = logp.gather(1, targets[:, None])[:, 0]
    entropy = -(logp.exp() * logp).sum(-1)
    rank = (logp > lp[:, None]).sum(-1) + 1
    top = logp.topk(k, dim=-1)
    pad = [] if bos else [np.nan]  # no BOS: the first token has no context
    return {
        "ids": ids,
        "logprob": np.array(pad + lp.tolist()),
        "entropy": np.array(pad + entropy.tolist()),
        "rank": np.array(pad + rank.tolist(), dtype=float),
        "topk_ids": top.indices.tolist(),
        "topk_logprobs": top.values.tolist(),
    }


@pytest.mark.parametrize("which", ["model_a", "model_b"])
def test_matches_full_vocab_reference(which, request):
    loaded = request.getfixturevalue(which)
    table = score_texts(loaded, CORPUS)
    for text_id, text in enumerate(CORPUS):
        ref = reference(loaded, text)
        got = table[table["text_id"] == text_id]
        assert got["token_id"].tolist() == ref["ids"]
        np.testing.assert_allclose(got["logprob"], ref["logprob"], atol=TOL, equal_nan=True)
        np.testing.assert_allclose(got["entropy"], ref["entropy"], atol=TOL, equal_nan=True)
        scored = ~np.isnan(ref["rank"])
        # exact rank wherever the target's logit is not (nearly) tied with another
        np.testing.assert_array_equal(got["rank"].to_numpy()[scored], ref["rank"][scored])
        first = 0 if loaded.tokenizer.bos_token_id is not None else 1
        got_top = got["topk_logprobs"].tolist()[first:]
        np.testing.assert_allclose(np.array(got_top), np.array(ref["topk_logprobs"]), atol=TOL)
        assert got["topk_token_ids"].tolist()[first:] == ref["topk_ids"]


def test_no_bos_first_token_is_nan_not_zero(model_b):
    assert model_b.tokenizer.bos_token_id is None
    table = score_texts(model_b, ["Hello world"])
    first = table.iloc[0]
    assert np.isnan(first["logprob"]) and np.isnan(first["entropy"]) and np.isnan(first["rank"])
    assert first["topk_logprobs"] == []
    assert table["logprob"].iloc[1:].notna().all()


def test_offsets_tile_the_text_exactly(model_a, model_b):
    texts = CORPUS + ["  leading spaces and trailing  ", "emoji 🙂 and 漢字\n\n\ttabs"]
    for loaded in (model_a, model_b):
        table = score_texts(loaded, texts)
        for text_id, text in enumerate(texts):
            rows = table[table["text_id"] == text_id]
            pieces = [text[s:e] for s, e in zip(rows["char_start"], rows["char_end"])]
            assert "".join(pieces) == text
            assert (rows["char_start"].to_numpy()[1:] == rows["char_end"].to_numpy()[:-1]).all()


def _numeric(table: pd.DataFrame) -> pd.DataFrame:
    return table[["text_id", "position", "token_id", "logprob", "entropy", "rank", "context_tokens"]]


def assert_same_scores(x: pd.DataFrame, y: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(_numeric(x), _numeric(y), atol=TOL, rtol=0)
    np.testing.assert_allclose(np.array(x["topk_logprobs"].explode().dropna(), dtype=float),
                               np.array(y["topk_logprobs"].explode().dropna(), dtype=float), atol=TOL)


@pytest.mark.parametrize("batch_tokens", [1, 40, 100000])
def test_invariant_to_batch_size_and_padding(model_a, batch_tokens):
    # batch_tokens=1 puts every text alone in its batch (no padding); 100000 pads all together.
    base = score_texts(model_a, CORPUS, ScoreSettings(batch_tokens=512))
    assert_same_scores(base, score_texts(model_a, CORPUS, ScoreSettings(batch_tokens=batch_tokens)))


@pytest.mark.parametrize("chunk", [1, 7, 10000])
def test_invariant_to_head_chunk_size(model_b, chunk):
    base = score_texts(model_b, CORPUS)
    assert_same_scores(base, score_texts(model_b, CORPUS, ScoreSettings(chunk_positions=chunk)))


def test_invariant_to_order_of_texts(model_a):
    forward = score_texts(model_a, CORPUS)
    order = [3, 0, 5, 1, 4, 2]
    shuffled = score_texts(model_a, [CORPUS[i] for i in order])
    for new_id, old_id in enumerate(order):
        a = forward[forward["text_id"] == old_id].reset_index(drop=True)
        b = shuffled[shuffled["text_id"] == new_id].reset_index(drop=True).assign(text_id=old_id)
        assert_same_scores(a, b)


def test_sliding_windows_score_every_token_with_enough_context(model_a):
    text = " ".join(CORPUS * 4)
    window, stride = 48, 16
    table = score_texts(model_a, [text], ScoreSettings(window=window, stride=stride))
    full = score_texts(model_a, [text], ScoreSettings(window=256))  # whole text fits in one row
    assert len(table) == len(full) and len(table) > window
    assert table["logprob"].notna().all()
    # the first window has BOS + all tokens before; later ones at least window - stride tokens
    assert (table["context_tokens"] >= np.minimum(table["position"] + 1, window - stride)).all()
    assert (table["context_tokens"] <= window - 1).all()
    # tokens of the first window see the same context as the unwindowed pass
    first = table["position"] < window - 1
    np.testing.assert_allclose(table.loc[first, "logprob"], full.loc[first, "logprob"], atol=TOL)
    # a windowed token equals a direct reference pass over exactly its window
    tok = model_a.tokenizer
    ids = table["token_id"].tolist()
    i = len(ids) - 1
    ctx = int(table["context_tokens"].iloc[i])
    x = torch.tensor([ids[i - ctx : i + 1]])
    with torch.no_grad():
        logp = torch.log_softmax(model_a.model(x).logits[0, -2].float(), -1)
    assert abs(logp[ids[i]].item() - table["logprob"].iloc[i]) < TOL
    assert tok.bos_token_id not in ids


def test_text_of_special_token_strings_is_scored_as_plain_text(model_a):
    # Texts are data: "</s>" is not turned into the end-of-sequence control token.
    table = score_texts(model_a, ["</s><s>"])
    assert len(table) > 2
    assert model_a.tokenizer.eos_token_id not in table["token_id"].tolist()
    assert table["logprob"].notna().all()


def test_empty_text_gives_no_rows(model_a):
    table = score_texts(model_a, ["", "Hi"])
    assert set(table["text_id"]) == {1}


def test_out_of_memory_halves_the_batch_and_keeps_finished_work(model_a, monkeypatch):
    import backend.scoring.score as scoring

    real = scoring._score_batch
    calls, finished = [], []

    def flaky(loaded, how, rows):
        calls.append(len(rows))
        if len(rows) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        finished.append(len(rows))
        return real(loaded, how, rows)

    monkeypatch.setattr(scoring, "_score_batch", flaky)
    # One text per input here (packing off), so a batch of 6 inputs is 6 texts.
    got = score_texts(model_a, CORPUS, ScoreSettings(batch_tokens=100000, packing=False))
    monkeypatch.undo()
    # 6 fails, 3 fails, then every batch is at most 3 // 2 = 1... rows, each scored once
    assert calls[:2] == [6, 3] and max(finished) <= 2 and sum(finished) == len(CORPUS)
    assert_same_scores(score_texts(model_a, CORPUS), got)


def test_other_errors_are_not_swallowed(model_a, monkeypatch):
    import backend.scoring.score as scoring

    def broken(*args):
        raise ValueError("something else")

    monkeypatch.setattr(scoring, "_score_batch", broken)
    with pytest.raises(ValueError, match="something else"):
        score_texts(model_a, CORPUS)
