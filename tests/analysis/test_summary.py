"""Corpus totals: pooled over every token, byte and word, checked against a direct pandas computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.summary import corpus_totals, summarize


def tables():
    texts = ["Short one.", "A much longer text with many more words in it, and ü."]
    rng = np.random.default_rng(0)
    rows = []
    for model, step in (("a", 3), ("b", 2)):
        for text_id, text in enumerate(texts):
            cuts = list(range(0, len(text), step)) + [len(text)]
            for i, (s, e) in enumerate(zip(cuts[:-1], cuts[1:])):
                rows.append({"text_id": text_id, "model": model, "position": i, "char_start": s, "char_end": e,
                             "logprob": np.nan if i == 0 else -rng.uniform(0.1, 6), "entropy": rng.uniform(0, 4),
                             "rank": float(rng.integers(1, 4))})
    tokens = pd.DataFrame(rows)
    words = pd.DataFrame({"text_id": [0, 0, 1, 1, 1, 1], "delta": [0.5, -1.0, 2.0, np.nan, 0.3, -0.2]})
    return texts, tokens, words


def test_corpus_totals_pool_tokens_bytes_and_words():
    texts, tokens, words = tables()
    totals = corpus_totals(texts, tokens, words).set_index("model")
    for model in ("a", "b"):
        mine = tokens[tokens["model"] == model]
        scored = mine.dropna(subset=["logprob"])
        n_bytes = sum(len(texts[t][s:e].encode()) for t, s, e in scored[["text_id", "char_start", "char_end"]].to_numpy())
        row = totals.loc[model]
        assert row["n_tokens"] == len(mine) and row["text_id"] == -1
        assert row["mean_surprisal"] == pytest.approx(-scored["logprob"].mean())
        assert row["perplexity"] == pytest.approx(np.exp(-scored["logprob"].mean()))
        assert row["bits_per_byte"] == pytest.approx(-scored["logprob"].sum() / np.log(2) / n_bytes)
        assert row["mean_entropy"] == pytest.approx(scored["entropy"].mean())
        assert row["top1_share"] == pytest.approx((scored["rank"] == 1).mean())
        sign = 1 if model == "a" else -1
        assert row["words_won"] == int((sign * words["delta"] > 0).sum()) and row["n_words"] == 5
    # Pooled, not a mean of the per-text rows: the long text weighs more.
    per_text = summarize(texts, tokens, words)
    assert totals.loc["a", "mean_surprisal"] != pytest.approx(per_text[per_text["model"] == "a"]["mean_surprisal"].mean())
    assert totals.loc["a", "words_won"] == per_text[per_text["model"] == "a"]["words_won"].sum()
