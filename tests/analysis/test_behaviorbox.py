"""analysis/behaviorbox.py against hand-computed values.

The end-to-end planted-difference test needs the SAE and lives in
tests/backend/test_sae.py.
"""

import numpy as np
import pandas as pd
import pytest

from analysis import behaviorbox as B


def test_performance_aware_embeddings_hand_computed():
    emb = np.array([[3.0, 4.0], [0.0, 0.0]])
    p_a, p_b = np.array([0.5, 1.0]), np.array([0.5, 0.0])
    out = B.performance_aware_embeddings(emb, p_a, p_b, w=0.7)
    # mean norms: embeddings (5 + 0)/2 = 2.5; probs (√0.5 + 1)/2;
    # concatenation (√25.5 + 1)/2.
    m_e, m_p = 2.5, (np.sqrt(0.5) + 1) / 2
    m_t = (np.sqrt(25.5) + 1) / 2
    want = np.hstack([emb * 0.3 * m_t / m_e, np.stack([p_a, p_b], 1) * 0.7 * m_t / m_p])
    np.testing.assert_allclose(out, want, rtol=1e-6)
    assert out.dtype == np.float32 and out.shape == (2, 4)


def test_performance_aware_embeddings_balance_norms_then_weight():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(500, 64)) * 7.0
    p_a, p_b = rng.random(500), rng.random(500)
    for w in (0.0, 0.3, 0.7, 1.0):
        out = B.performance_aware_embeddings(emb, p_a, p_b, w=w).astype(float)
        e_norm = np.linalg.norm(out[:, :64], axis=1).mean()
        p_norm = np.linalg.norm(out[:, 64:], axis=1).mean()
        total = np.linalg.norm(np.hstack([emb, np.stack([p_a, p_b], 1)]), axis=1).mean()
        assert e_norm == pytest.approx((1 - w) * total, rel=1e-5)
        assert p_norm == pytest.approx(w * total, rel=1e-5)
        # The probability columns stay proportional to (p_a, p_b).
        if w > 0:
            np.testing.assert_allclose(out[:, 64] / out[:, 65], p_a / p_b, rtol=1e-4)


def test_performance_aware_embeddings_reject_nan_and_bad_w():
    emb = np.ones((2, 3))
    with pytest.raises(ValueError):
        B.performance_aware_embeddings(emb, np.array([0.5, np.nan]), np.array([0.5, 0.5]))
    with pytest.raises(ValueError):
        B.performance_aware_embeddings(emb, np.ones(2), np.ones(2), w=1.5)
    with pytest.raises(ValueError):
        B.performance_aware_embeddings(emb, np.ones(3), np.ones(3))


@pytest.mark.parametrize(
    "n, want",
    [(0, (32, 4)), (3_000, (96, 4)), (36_000, (1200, 20)), (90_000, (3000, 50)), (10**7, (3000, 50))],
)
def test_default_sae_size(n, want):
    assert B.default_sae_size(n) == want


def test_default_sae_size_is_monotone():
    sizes = [B.default_sae_size(n) for n in range(0, 200_000, 997)]
    assert sizes == sorted(sizes)


def words_table(logprob_a, logprob_b):
    n = len(logprob_a)
    w = pd.DataFrame(
        {
            "text_id": 0,
            "word_index": np.arange(n),
            "word": [f"w{i}" for i in range(n)],
            "char_start": np.arange(n) * 3,
            "char_end": np.arange(n) * 3 + 2,
            "logprob_a": np.asarray(logprob_a, float),
            "logprob_b": np.asarray(logprob_b, float),
        }
    )
    w["delta"] = w["logprob_a"] - w["logprob_b"]
    return w


def test_top_activations_hand_computed():
    acts = np.array(
        [
            [0.0, 2.0, 0.0],
            [5.0, 2.0, 0.0],
            [1.0, 0.0, 0.0],
            [3.0, 7.0, 0.0],
        ]
    )
    t = B.top_activations(acts, top=2)
    assert t.columns.tolist() == B.TOP_COLUMNS
    assert t.values.tolist() == [
        [0, 0, 1, 5.0],
        [0, 1, 3, 3.0],
        [1, 0, 3, 7.0],
        [1, 1, 0, 2.0],  # tie with row 1: the lower row wins
    ]  # feature 2 never fires: absent


def test_keep_rule_percentile_or_fraction_of_max():
    n = 8
    acts = np.zeros((n, 2))
    # Feature 0: nonzero [10, 9, 8, 1, 0.5]; 25th percentile (linear) = 1.0,
    # 0.25 × max = 2.5: keeps 10, 9, 8 (1.0 is not strictly above 1.0).
    acts[:5, 0] = [10, 9, 8, 1, 0.5]
    # Feature 1: [10, 9, 9, 9, 9]; percentile 9 keeps only 10, but all are
    # ≥ 2.5: keeps all five.
    acts[3:, 1] = [10, 9, 9, 9, 9]
    w = words_table(np.full(n, -1.0), np.full(n, -2.0))
    ex = B.feature_examples(acts, w)
    assert sorted(ex[ex.feature == 0]["row"]) == [0, 1, 2]
    assert sorted(ex[ex.feature == 1]["row"]) == [3, 4, 5, 6, 7]
    # `top` cuts before the rule: top 2 of feature 0 are 10 and 9.
    assert sorted(B.feature_examples(acts, w, top=2).query("feature == 0")["row"]) == [0, 1]
    # The long table gives the same result as the dense matrix.
    pd.testing.assert_frame_equal(ex, B.feature_examples(B.top_activations(acts), w))
    with pytest.raises(ValueError):
        B.feature_examples(acts[:5], w)


def test_feature_stats_hand_computed():
    la = np.log([0.9, 0.5, 0.2, 0.1])
    lb = np.log([0.1, 0.25, 0.4, 0.1])
    w = words_table(la, lb)
    acts = np.array([[4.0], [3.0], [2.5], [0.0]])
    st = B.feature_stats(acts, w, pct=0)  # pct 0 and ≥ 0.25·max keep all three
    assert st.columns.tolist() == B.STATS_COLUMNS
    r = st.iloc[0]
    dp = np.array([0.8, 0.25, -0.2])
    dl = np.log([9.0, 2.0, 0.5])
    assert r["n_examples"] == 3 and r["max_activation"] == 4.0
    assert r["median_dp"] == pytest.approx(0.25)
    assert r["mean_dp"] == pytest.approx(dp.mean())
    assert r["median_dlogprob"] == pytest.approx(np.log(2.0))
    assert r["mean_dlogprob"] == pytest.approx(dl.mean())
    assert r["winner"] == "a" and r["consistency"] == pytest.approx(2 / 3)


def test_feature_stats_winner_b_tie_and_nan():
    w = words_table([-3.0, -3.0, -1.0, np.nan, -1.0, -2.0], [-1.0, -1.0, -3.0, -1.0, -2.0, -1.0])
    acts = np.zeros((6, 2))
    acts[:4, 0] = [3, 3, 3, 3]  # deltas -2, -2, +2, NaN -> b wins 2 of 3
    acts[4:, 1] = [3, 3]  # deltas +1, -1 -> tie
    st = B.feature_stats(acts, w).set_index("feature")
    assert st.loc[0, "winner"] == "b" and st.loc[0, "n_examples"] == 3
    assert st.loc[0, "consistency"] == pytest.approx(2 / 3)
    assert st.loc[1, "winner"] == "tie" and st.loc[1, "consistency"] == 0.5


def stats(rows):
    cols = ["feature", "n_examples", "median_dp", "median_dlogprob", "consistency", "winner"]
    st = pd.DataFrame(rows, columns=cols)
    st["max_activation"] = 1.0
    st["mean_dp"] = st["median_dp"]
    st["mean_dlogprob"] = st["median_dlogprob"]
    return st[B.STATS_COLUMNS]


def test_select_features_thresholds_and_ranking():
    st = stats(
        [
            [0, 20, 0.05, 1.0, 0.9, "a"],  # exactly 1 nat, small Δp: out (strict >)
            [1, 20, 0.3, 0.8, 0.9, "a"],  # Δp > 0.1: in
            [2, 20, -0.05, -2.5, 0.95, "b"],  # in, largest effect
            [3, 9, 0.5, 3.0, 1.0, "a"],  # too few examples
            [4, 20, 0.0, 1.5, 0.5, "tie"],  # no winner
            [5, 20, 0.2, 0.8, 0.7, "a"],  # in; same effect as 1, smaller Δp
        ]
    )
    sel = B.select_features(st)
    assert sel["feature"].tolist() == [2, 1, 5]
    assert sel["effect"].tolist() == [2.5, 0.8, 0.8]
    assert B.select_features(st, min_examples=5)["feature"].tolist()[0] == 3
    only_lp = B.select_features(st, min_abs_median_logprob=0.5, min_abs_median_p=1)
    assert only_lp["feature"].tolist() == [2, 0, 1, 5]


def test_select_features_can_return_nothing():
    st = stats([[0, 20, 0.01, 0.1, 0.6, "a"], [1, 20, -0.02, -0.2, 0.6, "b"]])
    sel = B.select_features(st)
    assert len(sel) == 0 and sel.columns.tolist() == B.STATS_COLUMNS + ["effect"]


def test_describe_feature_hand_computed():
    words = ["5", "10", "5", "7"]
    ctx = [
        ("it costs $", "5", " today"),
        ("only $", "10", " today ."),
        ("pay $", "5", "."),
        ("a mere $", "7", " now"),
    ]
    text = B.describe_feature(words, ctx)
    # Before-grams: "$" ×4, "costs $"/"only $"/... ×1; after: "today" ×2.
    # n-grams need ≥ 2 hits and ≥ 20% of examples.
    assert text == (
        'Mostly numbers (100%). Words: "5" (2/4). Before: "$" (4/4). After: "today" (2/4).'
    )


def test_describe_feature_shows_whitespace_and_handles_no_pattern():
    text = B.describe_feature(["\n", "\n", "\n"], [("a", "\n", "b")] * 3)
    assert 'Mostly whitespace (100%). Words: "\\n" (3/3).' in text
    assert B.describe_feature(["x", "y", "z"], [("p", "q"), ("r", "s"), ("t", "u")]) == (
        "3 varied words, no shared pattern."
    )
    assert B.describe_feature([], []) == "No examples."


def test_context_only_vectors_set_the_probabilities_to_their_means():
    x = np.array([[1.0, 2.0, 0.1, 0.2], [3.0, 4.0, 0.5, 0.0]], dtype=np.float32)
    out = B.context_only_vectors(x)
    np.testing.assert_allclose(out, [[1, 2, 0.3, 0.1], [3, 4, 0.3, 0.1]], rtol=1e-6)
    assert out.dtype == np.float32 and x[0, 2] == np.float32(0.1)  # the input is left alone


def context_examples(deltas: dict[int, list[float]], texts: dict[int, list[int]] | None = None) -> pd.DataFrame:
    """Context examples; each word in its own text unless `texts` gives a feature's text ids."""
    rows = [(f, d, (texts or {}).get(f, [None] * len(ds))[i]) for f, ds in deltas.items() for i, d in enumerate(ds)]
    ex = pd.DataFrame(rows, columns=["feature", "dlogprob", "text_id"])
    own = ex["text_id"].isna()
    ex.loc[own, "text_id"] = 1000 + np.flatnonzero(own)
    return ex.astype({"text_id": "int64"})


def test_context_check_counts_texts_not_words():
    """40 words won by A, but all from 2 texts (and 10 lost in 2 others): 2 texts of 4 is no evidence."""
    ex = context_examples({0: [0.3] * 40 + [-0.3] * 10}, {0: [1] * 20 + [2] * 20 + [3] * 5 + [4] * 5})
    out = B.context_check(ex, feature_winners({0: "a"}))
    assert out.loc[0, "context_p"] == pytest.approx(11 / 16)  # P(X >= 2 | 4 texts, ½)
    assert out.loc[0, "context_consistency"] == pytest.approx(40 / 50)  # still the share of words won
    assert not out.loc[0, "holds_in_context"]


def feature_winners(winners: dict[int, str]) -> pd.DataFrame:
    return pd.DataFrame({"feature": list(winners), "winner": list(winners.values())})


def test_context_check_hand_computed():
    ex = context_examples(
        {
            0: [1.0] * 9 + [-1.0, 0.0, np.nan],  # A wins 9 of 10 after the tie and the NaN are dropped
            1: [-2.0] * 6,  # B wins all 6
            2: [-1.0, -1.0, -1.0, 0.5],  # the feature said A, context says B
            4: [0.0, 0.0, 0.0],  # only ties: nothing to test
            5: [1.0, 1.0],  # no winner to test
        }
    )
    st = feature_winners({0: "a", 1: "b", 2: "a", 3: "a", 4: "a", 5: "tie"})  # 3: never fires on context
    out = B.context_check(ex, st, alpha=0.5).set_index("feature")
    assert out.reset_index().columns.tolist() == B.CONTEXT_COLUMNS
    assert out.index.tolist() == [0, 1, 2, 3, 4, 5]
    # Exact one-sided sign test: P(X ≥ 9 | 10, ½) = (C(10,9) + C(10,10)) / 2¹⁰ = 11/1024.
    assert out.loc[0, "context_p"] == pytest.approx(11 / 1024, rel=1e-12)
    assert out.loc[0, "context_n"] == 11 and out.loc[0, "context_median_dlogprob"] == 1.0
    assert out.loc[0, "context_consistency"] == pytest.approx(9 / 11)  # the tie counts as not won
    assert out.loc[1, "context_p"] == pytest.approx(1 / 64) and out.loc[1, "context_consistency"] == 1.0
    assert out.loc[1, "context_median_dlogprob"] == -2.0
    assert out.loc[2, "context_p"] == pytest.approx(15 / 16)  # P(X ≥ 1 | 4, ½)
    assert out.loc[2, "context_consistency"] == 0.25 and out.loc[2, "context_median_dlogprob"] == -1.0
    assert out.loc[3, "context_n"] == 0 and out.loc[3, ["context_median_dlogprob", "context_consistency",
                                                         "context_p"]].isna().all()
    assert out.loc[4, "context_n"] == 3 and np.isnan(out.loc[4, "context_p"])
    assert out.loc[4, "context_consistency"] == 0.0 and out.loc[4, "context_median_dlogprob"] == 0.0
    assert np.isnan(out.loc[5, "context_p"]) and np.isnan(out.loc[5, "context_consistency"])
    # alpha 0.5 over 6 features: p < 0.0833 holds; 2 (wrong winner), 3, 4 and 5 cannot.
    assert out["holds_in_context"].tolist() == [True, True, False, False, False, False]
    assert out["holds_in_context"].dtype == bool and out["context_n"].dtype == np.int64


def test_context_check_bonferroni_and_scipy_reference():
    from math import comb

    from scipy.stats import binomtest

    ex = context_examples({0: [0.3] * 40 + [-0.3] * 10, 1: [1.0] * 9 + [-1.0]})
    one = B.context_check(ex, feature_winners({0: "a", 1: "a"}))
    # P(X ≥ 40 | 50, ½), summed by hand, and scipy's exact test agree.
    want = sum(comb(50, k) for k in range(40, 51)) / 2**50
    assert one.loc[0, "context_p"] == pytest.approx(want, rel=1e-9)
    assert one.loc[0, "context_p"] == pytest.approx(binomtest(40, 50, alternative="greater").pvalue, rel=1e-12)
    # 11/1024 ≈ 0.0107: under 0.05 / 2 features, over 0.05 / 5 features.
    assert one["holds_in_context"].tolist() == [True, True]
    five = B.context_check(ex, feature_winners({0: "a", 1: "a", 2: "b", 3: "a", 4: "b"}))
    assert five["holds_in_context"].tolist() == [True, False, False, False, False]


def test_context_check_of_all_zero_activations():
    # Context-only activations that never fire leave no examples: nothing holds.
    w = words_table(np.log([0.9, 0.8, 0.7]), np.log([0.1, 0.1, 0.1]))
    stats = B.feature_stats(np.array([[3.0], [2.0], [2.0]]), w)
    ex = B.feature_examples(np.zeros((3, 1)), w)
    out = B.context_check(ex, stats)
    assert out["context_n"].tolist() == [0] and not out["holds_in_context"].any()
    empty = B.context_check(ex, stats.iloc[:0])
    assert empty.empty and empty.columns.tolist() == B.CONTEXT_COLUMNS


def test_select_features_requires_the_context_check_when_known():
    st = stats([[0, 20, 0.3, 2.0, 0.9, "a"], [1, 20, 0.3, 1.5, 0.9, "a"], [2, 20, -0.3, -1.2, 0.9, "b"]])
    assert B.select_features(st)["feature"].tolist() == [0, 1, 2]  # no check known: no filter
    checked = st.assign(holds_in_context=[False, True, np.nan])  # NaN: unknown, does not hold
    assert B.select_features(checked)["feature"].tolist() == [1]
    assert B.select_features(checked, require_context=False)["feature"].tolist() == [0, 1, 2]
