"""Intervals and p-values for a mean of word-level values when words come in texts (cluster bootstrap).

Words of one text share its topic, style and domain, so their Δ are correlated: resampling words
as if they were independent makes intervals far too narrow (simulated corpora of 30 texts × 60
words with a per-text effect: about 30% coverage for a nominal 95%). The independent unit is the
text, so every interval here resamples texts with replacement and takes the word-weighted mean of
the words they hold (the ratio estimator Σ sum_c / Σ n_c over the drawn texts).

The interval is mean ± t(C − 1) · se, where se is the standard deviation of the bootstrap means
inflated by C / (C − 1) in variance (the bootstrap of C clusters underestimates the variance by
that factor) and C is the number of texts. A percentile interval on 30 texts under-covers; the
t quantile on C − 1 degrees of freedom is the usual small-sample fix for cluster-robust means.
The two-sided p-value comes from the same se and t distribution, so "the interval excludes 0"
and "p < 1 − level" agree, and p-values are continuous (a bootstrap-count p-value of 1000
resamples could never pass Benjamini–Hochberg across 60 groups).

With one text there is nothing to resample: no interval, and the caller says so.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import stats

MAX_DRAWS_PER_CHUNK = 4_000_000  # resample weights drawn at once (n_boot × texts), ~32 MB of float64


@dataclasses.dataclass(frozen=True)
class ClusterMean:
    mean: float  # word-weighted mean over all words
    n_words: int
    n_texts: int
    ci_low: float  # NaN when there is no interval (fewer than 2 texts)
    ci_high: float
    p_value: float  # two-sided, H0: mean = 0; NaN with no interval
    se: float


def cluster_sums(values: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster sum and count of `values` (finite values only), clusters in first-seen order."""
    values = np.asarray(values, dtype=float)
    clusters = np.asarray(clusters)
    ok = np.isfinite(values)
    _, inverse = np.unique(clusters[ok], return_inverse=True)
    sums = np.bincount(inverse, weights=values[ok])
    counts = np.bincount(inverse).astype(float)
    return sums, counts


def bootstrap_ratio_means(sums: np.ndarray, counts: np.ndarray, n_boot: int, rng) -> np.ndarray:
    """n_boot resampled word-weighted means: C clusters drawn with replacement, Σ sums / Σ counts.

    A draw of C clusters with replacement is a multinomial count per cluster; the means are a
    matrix product of those counts with the cluster sums, chunked so memory stays bounded.
    """
    rng = np.random.default_rng(rng)
    c = len(sums)
    out = np.empty(n_boot)
    chunk = max(1, MAX_DRAWS_PER_CHUNK // max(c, 1))
    p = np.full(c, 1.0 / c)
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        weights = rng.multinomial(c, p, size=b).astype(float)
        total = weights @ counts
        # A draw can in principle pick only texts with no word; with counts > 0 for every
        # cluster (cluster_sums keeps only texts with words) total is always > 0.
        out[start : start + b] = (weights @ sums) / total
    return out


def cluster_mean(values, clusters, n_boot: int = 1000, rng=0, level: float = 0.95) -> ClusterMean:
    """The word-weighted mean of `values` with a cluster-bootstrap interval and p-value (see module doc).

    values: one number per word (NaN ignored); clusters: the text of each word (any hashable ids).
    """
    sums, counts = cluster_sums(values, clusters)
    n_words = int(counts.sum())
    n_texts = len(sums)
    mean = float(sums.sum() / n_words) if n_words else float("nan")
    if n_texts < 2:
        return ClusterMean(mean, n_words, n_texts, np.nan, np.nan, np.nan, np.nan)
    means = bootstrap_ratio_means(sums, counts, n_boot, rng)
    se = float(np.std(means, ddof=1) * np.sqrt(n_texts / (n_texts - 1)))
    t = stats.t.ppf(0.5 + level / 2.0, df=n_texts - 1)
    if se == 0.0:
        # Every resample has the same mean (all words equal): the interval is that point, and
        # a p-value only means something if the point is not 0.
        return ClusterMean(mean, n_words, n_texts, mean, mean, 0.0 if mean != 0 else 1.0, 0.0)
    p = float(2.0 * stats.t.sf(abs(mean) / se, df=n_texts - 1))
    return ClusterMean(mean, n_words, n_texts, mean - t * se, mean + t * se, p, se)


def benjamini_hochberg(p_values) -> np.ndarray:
    """BH-adjusted q-values (false discovery rate), NaN where the p-value is NaN.

    scipy's false_discovery_control does the adjustment; NaNs (groups with no test) are left
    out of the family rather than counted as tests.
    """
    p = np.asarray(p_values, dtype=float)
    q = np.full(p.shape, np.nan)
    tested = np.isfinite(p)
    if tested.any():
        q[tested] = stats.false_discovery_control(p[tested], method="bh")
    return q
