"""Calibration of next-token predictions: does a top-1 probability of 0.7 come true 70% of the time?

Exact from what Duet already stores: the confidence is the top-1 probability (exp of the first
top-k logprob) and the prediction came true when the actual token has rank 1. Bins hold equal
numbers of positions (equal mass), so every bin's accuracy rests on the same count; equal-width
bins leave most bins nearly empty because language models put most positions at low confidence.

ECE = Σ_b (n_b / N) · |accuracy_b − mean confidence_b|   (Naeini et al. 2015; Guo et al. 2017)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_BINS = 15
BIN_COLUMNS = ["model", "bin", "n", "mean_confidence", "accuracy"]
SUMMARY_COLUMNS = ["model", "n", "mean_confidence", "accuracy", "ece"]


def top1_confidence(tokens: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, correct) per scored position of a token table; positions with no score are left out."""
    first = tokens["topk_logprobs"].map(lambda row: row[0] if row is not None and len(row) else np.nan)
    confidence = np.exp(first.to_numpy(dtype=float))
    correct = tokens["rank"].to_numpy(dtype=float) == 1
    ok = np.isfinite(confidence) & np.isfinite(tokens["rank"].to_numpy(dtype=float))
    return confidence[ok], correct[ok]


def calibration_bins(confidence, correct, n_bins: int = DEFAULT_BINS) -> pd.DataFrame:
    """Equal-mass bins in order of confidence: bin, n, mean_confidence, accuracy."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    order = np.argsort(confidence, kind="stable")
    parts = [p for p in np.array_split(order, min(n_bins, len(order))) if len(p)] if len(order) else []
    return pd.DataFrame(
        {
            "bin": np.arange(len(parts), dtype="int64"),
            "n": np.array([len(p) for p in parts], dtype="int64"),
            "mean_confidence": [confidence[p].mean() for p in parts],
            "accuracy": [correct[p].mean() for p in parts],
        },
        columns=["bin", "n", "mean_confidence", "accuracy"],
    )


def expected_calibration_error(confidence, correct, n_bins: int = DEFAULT_BINS) -> float:
    """ECE over equal-mass bins (NaN with no position)."""
    bins = calibration_bins(confidence, correct, n_bins)
    if bins.empty:
        return float("nan")
    weights = bins["n"] / bins["n"].sum()
    return float((weights * (bins["accuracy"] - bins["mean_confidence"]).abs()).sum())


def calibration_by_model(tokens: pd.DataFrame, n_bins: int = DEFAULT_BINS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per model of a combined token table: (summary with ECE, the bins of its reliability diagram)."""
    summaries, bins = [], []
    for model, table in tokens.groupby("model", sort=True):
        confidence, correct = top1_confidence(table)
        b = calibration_bins(confidence, correct, n_bins).assign(model=model)
        bins.append(b[BIN_COLUMNS])
        summaries.append(
            {
                "model": model,
                "n": len(confidence),
                "mean_confidence": confidence.mean() if len(confidence) else np.nan,
                "accuracy": correct.mean() if len(correct) else np.nan,
                "ece": expected_calibration_error(confidence, correct, n_bins),
            }
        )
    summary = pd.DataFrame(summaries, columns=SUMMARY_COLUMNS)
    return summary, (pd.concat(bins, ignore_index=True) if bins else pd.DataFrame(columns=BIN_COLUMNS))
