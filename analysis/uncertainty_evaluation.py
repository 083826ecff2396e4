"""Which uncertainty estimator predicts a model's errors: AUROC, prediction–rejection ratio, rejection curves, intervals.

Per model, every prompt with a gold answer gives one pair (u, c): the
estimator's uncertainty u (higher = less sure) and whether the model's
reference answer was correct, c in {0, 1} (analysis/uncertainty_correctness.py).
Prompts where u or c is NaN are left out of that estimator's numbers.

AUROC = P(u of a wrong answer > u of a right one), ties counting ½: the
Mann–Whitney U statistic of (u | wrong) against (u | right) over n_wrong ·
n_right (scipy.stats.mannwhitneyu). 0.5 is chance, 1 a perfect ranking.

Rejection curve and PRR (Malinin et al. 2017; LM-Polygraph's
PredictionRejectionArea): reject the most uncertain answers first; the curve is
the accuracy of the answers kept, at every rejected share 0, 1/n, …, (n−1)/n.
Its area is the mean of those n accuracies. PRR = (area − area_random) /
(area_oracle − area_random), where random rejection keeps the overall accuracy
and the oracle rejects every wrong answer first. 1 is the oracle, 0 chance,
below 0 worse than chance. Tied uncertainties are broken at random in
expectation: each member of a tie counts the tie's mean correctness.

Intervals resample PROMPTS with replacement (the prompt is the independent
unit), seeded, and take the percentile interval of the resampled statistic;
resamples that hold only right or only wrong answers have no AUROC or PRR and
are dropped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu, rankdata

N_BOOT = 1000
LEVEL = 0.95
SEED = 0


def _pairs(uncertainty, correct) -> tuple[np.ndarray, np.ndarray]:
    u = np.asarray(uncertainty, dtype=float)
    c = np.asarray(correct, dtype=float)
    if u.shape != c.shape:
        raise ValueError(f"{u.shape} uncertainties but {c.shape} correctness values")
    ok = np.isfinite(u) & np.isfinite(c)
    return u[ok], c[ok]


# --- AUROC ------------------------------------------------------------------------------------------


def auroc(uncertainty, correct) -> float:
    """P(u_wrong > u_right) + ½ P(tie), by scipy's Mann–Whitney U. NaN without both right and wrong answers."""
    u, c = _pairs(uncertainty, correct)
    wrong, right = u[c == 0], u[c == 1]
    if not len(wrong) or not len(right):
        return math.nan
    return float(mannwhitneyu(wrong, right, alternative="two-sided", method="asymptotic").statistic
                 / (len(wrong) * len(right)))


def _auroc_rows(u: np.ndarray, wrong: np.ndarray) -> np.ndarray:
    """AUROC of every row of u [B, n] against wrong [B, n] (bool), by average ranks; NaN for a one-class row."""
    ranks = rankdata(u, axis=1)
    n_wrong = wrong.sum(axis=1)
    n_right = u.shape[1] - n_wrong
    with np.errstate(invalid="ignore", divide="ignore"):
        out = ((ranks * wrong).sum(axis=1) - n_wrong * (n_wrong + 1) / 2) / (n_wrong * n_right)
    return np.where((n_wrong > 0) & (n_right > 0), out, np.nan)


# --- rejection curves and PRR --------------------------------------------------------------------------


def _kept_accuracy_rows(u: np.ndarray, c: np.ndarray) -> np.ndarray:
    """[B, n]: accuracy of the k least uncertain answers, k = 1..n, each row sorted by its u (ties averaged)."""
    b, n = u.shape
    order = np.argsort(u, axis=1, kind="stable")
    su = np.take_along_axis(u, order, axis=1)
    sc = np.take_along_axis(c, order, axis=1)
    starts = np.ones((b, n), dtype=bool)
    starts[:, 1:] = su[:, 1:] != su[:, :-1]
    group = np.cumsum(starts, axis=1) - 1 + (np.arange(b) * n)[:, None]
    sums = np.bincount(group.ravel(), weights=sc.ravel(), minlength=b * n)
    counts = np.bincount(group.ravel(), minlength=b * n)
    tied = (sums / np.maximum(counts, 1))[group]
    return np.cumsum(tied, axis=1) / np.arange(1, n + 1)


def _prr_rows(u: np.ndarray, c: np.ndarray) -> np.ndarray:
    area = _kept_accuracy_rows(u, c).mean(axis=1)
    oracle = (np.cumsum(-np.sort(-c, axis=1), axis=1) / np.arange(1, c.shape[1] + 1)).mean(axis=1)
    random = c.mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (area - random) / (oracle - random)
    return np.where(oracle > random, out, np.nan)  # all right or all wrong: nothing to reject


def prr(uncertainty, correct) -> float:
    """Prediction–rejection ratio (see the module docstring). NaN without both right and wrong answers."""
    u, c = _pairs(uncertainty, correct)
    if not len(u):
        return math.nan
    return float(_prr_rows(u[None, :], c[None, :])[0])


def rejection_curve(uncertainty, correct) -> pd.DataFrame:
    """Columns rejected (share rejected, 0 .. (n−1)/n), accuracy (of the kept answers), oracle, random."""
    u, c = _pairs(uncertainty, correct)
    n = len(u)
    if not n:
        return pd.DataFrame(columns=["rejected", "accuracy", "oracle", "random"])
    kept = _kept_accuracy_rows(u[None, :], c[None, :])[0][::-1]  # k = n .. 1 kept
    oracle = (np.cumsum(np.sort(c)[::-1]) / np.arange(1, n + 1))[::-1]
    return pd.DataFrame({"rejected": np.arange(n) / n, "accuracy": kept, "oracle": oracle,
                         "random": np.full(n, c.mean())})


# --- intervals over prompts ---------------------------------------------------------------------------


def evaluate(uncertainty, correct, n_boot: int = N_BOOT, rng=SEED, level: float = LEVEL) -> dict:
    """AUROC and PRR with percentile intervals from resampling prompts.

    Keys: n (prompts with both values), n_wrong, auroc, auroc_low, auroc_high, prr, prr_low, prr_high.
    """
    u, c = _pairs(uncertainty, correct)
    n = len(u)
    out = {"n": n, "n_wrong": int((c == 0).sum()), "auroc": auroc(u, c), "prr": prr(u, c)}
    lows = {f"{k}_low": math.nan for k in ("auroc", "prr")} | {f"{k}_high": math.nan for k in ("auroc", "prr")}
    out.update(lows)
    if n < 2 or math.isnan(out["auroc"]) or n_boot < 1:
        return out
    idx = np.random.default_rng(rng).integers(0, n, size=(n_boot, n))
    bu, bc = u[idx], c[idx]
    tail = 100 * (1 - level) / 2
    for name, draws in (("auroc", _auroc_rows(bu, bc == 0)), ("prr", _prr_rows(bu, bc))):
        draws = draws[np.isfinite(draws)]
        if len(draws) >= n_boot / 2:  # most resamples must have both classes, or the interval means little
            out[f"{name}_low"], out[f"{name}_high"] = (float(v) for v in np.percentile(draws, [tail, 100 - tail]))
    return out


def evaluation_table(table: pd.DataFrame, estimators: Sequence[str], n_boot: int = N_BOOT, rng=SEED,
                     level: float = LEVEL) -> pd.DataFrame:
    """One row per (model, estimator): evaluate()'s keys.

    table: one row per (prompt_id, model) with a `correct` column and the estimator columns
    (the per-prompt summary joined with analysis.uncertainty_correctness.correctness_table).
    Every estimator of a model is resampled with the same prompts (the same seed), so their
    intervals are comparable.
    """
    rows = []
    for model, group in table.groupby(table["model"].astype(str), sort=True):
        for estimator in estimators:
            if estimator not in group.columns:
                continue
            result = evaluate(group[estimator].to_numpy(dtype=float), group["correct"].to_numpy(dtype=float),
                              n_boot, rng, level)
            rows.append({"model": model, "estimator": estimator, **result})
    columns = ["model", "estimator", "n", "n_wrong", "auroc", "auroc_low", "auroc_high", "prr", "prr_low", "prr_high"]
    return pd.DataFrame(rows, columns=columns)


def best_estimators(evaluation: pd.DataFrame, by: str = "prr") -> dict[str, str]:
    """model -> the estimator with the highest `by` (PRR by default; AUROC breaks ties); none when all NaN."""
    best = {}
    for model, group in evaluation.groupby("model", sort=True):
        ranked = group.dropna(subset=[by]).sort_values([by, "auroc"], ascending=False, kind="stable")
        if len(ranked):
            best[model] = str(ranked.iloc[0]["estimator"])
    return best


def accuracy_table(correct: pd.DataFrame) -> pd.DataFrame:
    """One row per model: n_prompts (with gold), accuracy of the reference answers, mean sample accuracy."""
    rows = []
    for model, group in correct.groupby(correct["model"].astype(str), sort=True):
        known = group["correct"].dropna()
        rows.append({"model": model, "n_prompts": int(len(known)),
                     "accuracy": float(known.mean()) if len(known) else math.nan,
                     "sample_accuracy": float(group["sample_accuracy"].dropna().mean())
                     if group["sample_accuracy"].notna().any() else math.nan})
    return pd.DataFrame(rows, columns=["model", "n_prompts", "accuracy", "sample_accuracy"])
