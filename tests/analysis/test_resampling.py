"""Cluster bootstrap by text and Benjamini–Hochberg: coverage and false flags on simulated corpora like the real ones."""

import numpy as np
import pandas as pd
import pytest

from analysis import differences as D
from analysis import resampling as R


def corpus(rng, n_texts, words_per_text, mu, text_sd=1.0, word_sd=1.0):
    """Δ = μ + a per-text effect + word noise: the correlation that makes word resampling lie."""
    effect = rng.normal(0.0, text_sd, n_texts)
    values = mu + np.repeat(effect, words_per_text) + rng.normal(0.0, word_sd, n_texts * words_per_text)
    return values, np.repeat(np.arange(n_texts), words_per_text)


@pytest.mark.parametrize(
    "n_texts, words_per_text, text_sd",
    [(30, 60, 1.0), (300, 1, 0.0)],  # texts with their own effect; every word in its own text
)
def test_interval_covers_the_true_mean_in_at_least_90_percent_of_corpora(n_texts, words_per_text, text_sd):
    rng = np.random.default_rng(20261201)
    mu, hits, corpora = 0.3, 0, 200
    for i in range(corpora):
        values, texts = corpus(rng, n_texts, words_per_text, mu, text_sd)
        m = R.cluster_mean(values, texts, n_boot=400, rng=i)
        hits += m.ci_low <= mu <= m.ci_high
    assert hits / corpora >= 0.90, hits / corpora


def test_false_flags_under_no_difference_are_at_most_10_percent():
    """μ = 0, per-text effects: a word bootstrap flagged about 70% of such corpora."""
    rng = np.random.default_rng(7)
    flags, corpora = 0, 200
    for i in range(corpora):
        values, texts = corpus(rng, 30, 60, 0.0)
        flags += R.cluster_mean(values, texts, n_boot=400, rng=i).p_value < 0.05
    assert flags / corpora <= 0.10, flags / corpora


def test_word_resampling_would_fail_the_same_simulation():
    """The check can fail: treating words as independent covers far below 90% on these corpora."""
    rng = np.random.default_rng(3)
    hits = 0
    for i in range(100):
        values, _ = corpus(rng, 30, 60, 0.3)
        m = R.cluster_mean(values, np.arange(len(values)), n_boot=200, rng=i)
        hits += m.ci_low <= 0.3 <= m.ci_high
    assert hits / 100 < 0.6


def test_standard_error_matches_a_direct_loop_over_resampled_texts():
    rng = np.random.default_rng(11)
    sizes = rng.integers(3, 40, size=25)  # texts of unequal length: the word-weighted mean matters
    texts = np.repeat(np.arange(25), sizes)
    values = rng.normal(0.2, 1.0, len(texts)) + np.repeat(rng.normal(0, 0.7, 25), sizes)
    got = R.cluster_mean(values, texts, n_boot=4000, rng=0)
    assert got.mean == pytest.approx(values.mean(), rel=1e-12)
    loop = np.random.default_rng(99)
    means = []
    for _ in range(4000):
        drawn = loop.integers(0, 25, size=25)
        means.append(np.concatenate([values[texts == t] for t in drawn]).mean())
    direct_se = np.std(means, ddof=1) * np.sqrt(25 / 24)
    assert got.se == pytest.approx(direct_se, rel=0.06)
    assert got.ci_high - got.ci_low == pytest.approx(2 * got.se * 2.0639, rel=1e-3)  # t(0.975, 24)


def test_one_text_has_no_interval_and_nan_values_are_ignored():
    m = R.cluster_mean([1.0, 2.0, np.nan, 3.0], [5, 5, 5, 5])
    assert (m.mean, m.n_words, m.n_texts) == (2.0, 3, 1)
    assert np.isnan([m.ci_low, m.ci_high, m.p_value]).all()
    same = R.cluster_mean([2.0, 2.0, 2.0, 2.0], [0, 0, 1, 1])
    assert (same.ci_low, same.ci_high, same.p_value) == (2.0, 2.0, 0.0)
    assert R.cluster_mean([1.0, 2.0], [0, 1], rng=4) == R.cluster_mean([1.0, 2.0], [0, 1], rng=4)


def test_benjamini_hochberg_against_a_direct_computation():
    rng = np.random.default_rng(5)
    p = np.concatenate([rng.uniform(size=40), rng.uniform(0, 0.002, size=8), [np.nan, np.nan]])
    got = R.benjamini_hochberg(p)
    tested = p[np.isfinite(p)]
    m = len(tested)
    order = np.argsort(tested)
    ranked = tested[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    expect = np.empty(m)
    expect[order] = q_sorted
    np.testing.assert_allclose(got[np.isfinite(p)], expect, rtol=1e-12)
    assert np.isnan(got[-2:]).all()


def test_groups_table_flags_few_groups_when_models_do_not_differ():
    """Many groups at once, μ = 0 with per-text effects: BH keeps corpora with any flag rare."""
    from test_differences import table

    rng = np.random.default_rng(13)
    any_flag = 0
    for i in range(30):
        texts = [" ".join(rng.choice(["the", "a", "Paris", "42", "data", ",", "x"], size=40)) for _ in range(25)]
        w = table(texts)
        effect = rng.normal(0, 1.0, len(texts))
        w["delta"] = effect[w["text_id"].to_numpy()] + rng.normal(0, 1.0, len(w))
        agg = D.group_aggregates(w, n_boot=200, seed=i)
        any_flag += bool(agg["significant"].any())
    assert any_flag / 30 <= 0.10 + 1e-9, any_flag
    assert {"p_value", "q_value", "n_texts", "ci_note"} <= set(agg.columns)
