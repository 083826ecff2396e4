"""Calibration (ECE, reliability bins) against a direct computation."""

import numpy as np
import pandas as pd
import pytest

from analysis import calibration as C
from analysis.calibration_plots import reliability_figure


def direct_ece(confidence, correct, n_bins):
    order = np.argsort(confidence, kind="stable")
    total = 0.0
    for part in np.array_split(order, n_bins):
        total += len(part) / len(order) * abs(correct[part].mean() - confidence[part].mean())
    return total


def test_ece_matches_a_direct_loop_and_is_zero_for_a_calibrated_model():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.05, 1.0, 20_000)
    calibrated = rng.uniform(size=confidence.size) < confidence
    assert C.expected_calibration_error(confidence, calibrated, 10) == pytest.approx(
        direct_ece(confidence, calibrated, 10), rel=1e-12)
    assert C.expected_calibration_error(confidence, calibrated, 10) < 0.02
    overconfident = rng.uniform(size=confidence.size) < confidence * 0.5
    ece = C.expected_calibration_error(confidence, overconfident, 10)
    assert ece == pytest.approx(np.mean(confidence) * 0.5, abs=0.02)  # the gap is conf/2 everywhere


def test_bins_have_equal_mass_and_hand_values():
    bins = C.calibration_bins([0.9, 0.1, 0.8, 0.2], [True, False, False, True], n_bins=2)
    assert bins["n"].tolist() == [2, 2]
    assert bins["mean_confidence"].tolist() == pytest.approx([0.15, 0.85])
    assert bins["accuracy"].tolist() == [0.5, 0.5]
    assert C.expected_calibration_error([0.9, 0.1, 0.8, 0.2], [True, False, False, True], 2) == pytest.approx(0.35)
    assert np.isnan(C.expected_calibration_error([], [], 5))


def test_by_model_reads_top1_probability_and_rank_from_the_token_table():
    tokens = pd.DataFrame({
        "model": ["a", "a", "a", "b", "b"],
        "rank": [1.0, 3.0, np.nan, 1.0, 1.0],
        "topk_logprobs": [[np.log(0.6), -3.0], [np.log(0.2)], [np.nan], [np.log(0.9)], [np.log(0.5)]],
    })
    summary, bins = C.calibration_by_model(tokens, n_bins=1)
    a = summary.set_index("model").loc["a"]
    assert (a["n"], a["accuracy"]) == (2, 0.5)
    assert a["mean_confidence"] == pytest.approx(0.4)
    assert a["ece"] == pytest.approx(0.1)
    b = summary.set_index("model").loc["b"]
    assert b["ece"] == pytest.approx(1.0 - 0.7)
    fig = reliability_figure(bins, summary, {"a": "A · x", "b": "B · y"})
    assert [t.name for t in fig.data][1:] == ["A · x (ECE 0.100)", "B · y (ECE 0.300)"]
