"""analysis/corpus_ranking.py against direct pandas loops over texts and windows."""

import math

import numpy as np
import pandas as pd
import pytest

from analysis import corpus_ranking as C


def corpus(n_texts=6, seed=0, nan_share=0.1):
    """Texts of words "w0 w1 ...", a word table with random Δ (some NaN), a token table of one token
    per word per model and a same-vocabulary table over model A's tokens."""
    rng = np.random.default_rng(seed)
    texts, words, tokens, same = [], [], [], []
    for t in range(n_texts):
        n = int(rng.integers(3, 40))
        pieces = [f"w{i}" if i % 7 else f"é{i}" for i in range(n)]  # some non-ASCII bytes
        text = " ".join(pieces)
        texts.append(text)
        pos = 0
        for i, p in enumerate(pieces):
            a, b = rng.normal(-3, 1), rng.normal(-3, 1)
            if rng.random() < nan_share:
                b = np.nan
            words.append((t, i, p, pos, pos + len(p), a, b))
            start = pos - 1 if i else pos  # the token carries the space before its word
            tokens.append((t, i, start, pos + len(p), a if i else np.nan, "a"))
            tokens.append((t, i, start, pos + len(p), b if i else np.nan, "b"))
            same.append((t, i, rng.exponential(), rng.exponential(), rng.uniform(0, 0.7), rng.uniform()))
            pos += len(p) + 1
    w = pd.DataFrame(words, columns=["text_id", "word_index", "word", "char_start", "char_end", "logprob_a",
                                     "logprob_b"])
    w["delta"] = w["logprob_a"] - w["logprob_b"]
    tok = pd.DataFrame(tokens, columns=["text_id", "position", "char_start", "char_end", "logprob", "model"])
    sv = pd.DataFrame(same, columns=["text_id", "position", "kl_a_b", "kl_b_a", "js", "topk_overlap"])
    return texts, w.sample(frac=1.0, random_state=1), tok, sv


def direct_windows(texts, words, size):
    """Every window the module promises, by a plain loop per text."""
    rows = []
    w = words[words["delta"].notna()].sort_values(["text_id", "word_index"])
    for t, g in w.groupby("text_id"):
        g = g.reset_index(drop=True)
        L = len(g)
        starts = [0] if L <= size else sorted(set(range(0, L - size + 1, max(1, size // 2))) | {L - size})
        for s in starts:
            part = g.iloc[s:s + size]
            cs, ce = int(part["char_start"].iloc[0]), int(part["char_end"].iloc[-1])
            n_bytes = len(texts[t][cs:ce].encode())
            rows.append({"text_id": t, "size": size, "first_word": int(part["word_index"].iloc[0]),
                         "n_words": len(part), "char_start": cs, "char_end": ce,
                         "sum_delta": part["delta"].sum(), "mean_delta": part["delta"].mean(),
                         "max_abs_delta": part["delta"].abs().max(), "share_won_a": (part["delta"] > 0).mean(),
                         "bpb_diff": -part["delta"].sum() / math.log(2) / n_bytes})
    return pd.DataFrame(rows)


def test_spans_match_a_direct_loop():
    texts, words, tokens, _ = corpus()
    spans = C.span_table(texts, words, sizes=(5, 10))
    want = pd.concat([direct_windows(texts, words, 5), direct_windows(texts, words, 10)], ignore_index=True)
    got = spans.sort_values(["size", "text_id", "first_word"]).reset_index(drop=True)
    want = want.sort_values(["size", "text_id", "first_word"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False)


def test_every_compared_word_is_in_a_span():
    texts, words, tokens, _ = corpus(seed=3)
    spans = C.span_table(texts, words, sizes=(5,))
    compared = words[words["delta"].notna()]
    for t, g in compared.groupby("text_id"):
        s = spans[spans["text_id"] == t]
        covered = [((s["char_start"] <= a) & (s["char_end"] >= b)).any() for a, b in zip(g["char_start"], g["char_end"])]
        assert all(covered)


def test_texts_match_direct_pandas():
    texts, words, tokens, sv = corpus(seed=2)
    tables = C.build(texts, words, tokens, sv)
    got = tables["texts"].set_index("text_id")
    compared = words[words["delta"].notna()]
    g = compared.groupby("text_id")["delta"]
    np.testing.assert_allclose(got["mean_delta"], g.mean().reindex(got.index))
    np.testing.assert_allclose(got["share_won_a"], compared.groupby("text_id")["delta"].apply(lambda d: (d > 0).mean()))
    # The largest span: the window of DEFAULT_SPAN words with the largest |Σ Δ|, by the direct loop.
    direct = direct_windows(texts, words, C.DEFAULT_SPAN)
    best = direct.loc[direct["sum_delta"].abs().groupby(direct["text_id"]).idxmax()].set_index("text_id")
    np.testing.assert_allclose(got["max_span_delta"], best["sum_delta"])
    assert (got["span_start"] == best["char_start"]).all() and (got["span_end"] == best["char_end"]).all()
    # Bits per byte as analysis/words.bits_per_byte counts them (scored tokens, their UTF-8 bytes).
    from analysis.words import bits_per_byte
    for side in "ab":
        want = bits_per_byte(texts, tokens[tokens["model"] == side])
        np.testing.assert_allclose(got[f"bpb_{side}"], want.reindex(got.index))
    np.testing.assert_allclose(got["bpb_diff"], got["bpb_a"] - got["bpb_b"])
    # Same vocabulary, per text.
    s = sv.groupby("text_id")
    np.testing.assert_allclose(got["mean_kl"], s["kl_a_b"].mean())
    np.testing.assert_allclose(got["max_kl"], s["kl_a_b"].max())
    np.testing.assert_allclose(got["mean_js"], s["js"].mean())
    np.testing.assert_allclose(got["max_js"], s["js"].max())
    np.testing.assert_allclose(got["min_topk_overlap"], s["topk_overlap"].min())


def test_span_same_vocab_over_tokens_ending_inside_the_span():
    texts, words, tokens, sv = corpus(seed=4)
    spans = C.span_table(texts, words, (5,), sv, tokens)
    a = tokens[tokens["model"] == "a"].merge(sv, on=["text_id", "position"])
    for r in spans.sample(20, random_state=0).itertuples():
        inside = a[(a["text_id"] == r.text_id) & (a["char_end"] > r.char_start) & (a["char_end"] <= r.char_end)]
        assert r.mean_kl == pytest.approx(inside["kl_a_b"].mean())
        assert r.max_js == pytest.approx(inside["js"].max())
        assert r.min_topk_overlap == pytest.approx(inside["topk_overlap"].min())


def test_rank_orders_by_the_measure_and_direction():
    table = pd.DataFrame({"text_id": [0, 1, 2, 3], "mean_delta": [0.5, -2.0, np.nan, 1.0],
                          "bpb_diff": [0.1, -0.3, 0.2, np.nan], "max_kl": [1.0, 3.0, 2.0, np.nan],
                          "min_topk_overlap": [0.4, 0.2, 0.8, 0.1], "share_won_a": [0.5, 0.9, 0.2, 0.45]})
    assert C.rank(table, "mean_delta")["text_id"].tolist() == [1, 3, 0, 2]
    assert C.rank(table, "mean_delta", direction="a")["text_id"].tolist() == [3, 0, 1, 2]
    assert C.rank(table, "mean_delta", direction="b")["text_id"].tolist() == [1, 0, 3, 2]
    assert C.rank(table, "bpb_diff", direction="a")["text_id"].tolist() == [1, 0, 2, 3]  # fewer bits: A better
    assert C.rank(table, "max_kl", n=2)["text_id"].tolist() == [1, 2]
    assert C.rank(table, "min_topk_overlap")["text_id"].tolist() == [3, 1, 0, 2]
    assert C.rank(table, "share_won_a")["text_id"].tolist() == [1, 2, 3, 0]
    assert C.rows_in_bin(table, "max_kl", 1.5, 3.0)["text_id"].tolist() == [2]


def test_without_same_vocabulary_those_measures_are_not_offered():
    texts, words, tokens, _ = corpus(seed=5)
    tables = C.build(texts, words, tokens)
    assert "mean_kl" not in C.offered(tables["texts"], "texts")
    assert "max_span_delta" in C.offered(tables["texts"], "texts")
    assert "sum_delta" in C.offered(tables["spans"], "spans") and "max_span_delta" not in C.offered(tables["spans"], "spans")
