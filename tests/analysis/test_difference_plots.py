"""analysis/difference_plots.py: the Differences figures show the table's numbers, in the chosen unit and colours."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.difference_plots import NEUTRAL, UNSELECTED, feature_histogram, feature_overview, group_chart
from analysis.differences import MIN_CI_WORDS
from analysis.plots import COLOUR_A, COLOUR_B
from analysis.schema import BITS_PER_NAT


def groups() -> pd.DataFrame:
    """Three groups: A significantly better, B significantly better, one too small for an interval."""
    return pd.DataFrame({
        "family": ["all words", "numbers", "punctuation"],
        "group": ["all words", "numbers", "#1"],
        "n": [100, 40, MIN_CI_WORDS - 1],
        "mean_delta": [0.5, -1.0, 0.2],
        "median_delta": [0.4, -0.9, 0.2],
        "a_win_share": [0.7, 0.2, 0.5],
        "ci_low": [0.3, -1.4, np.nan],
        "ci_high": [0.7, -0.6, np.nan],
        "significant": [True, True, False],
    })


@pytest.mark.parametrize("unit, factor", [("nats", 1.0), ("bits", BITS_PER_NAT)])
def test_group_chart_means_intervals_and_colours(unit, factor):
    fig = group_chart(groups(), unit, "tiny-a", "tiny-b")
    (trace,) = fig.data
    assert list(trace.y) == ["all words · all words", "numbers · numbers", "punctuation · #1"]
    assert np.allclose(trace.x, np.array([0.5, -1.0, 0.2]) * factor)
    assert np.allclose(trace.error_x.array[:2], np.array([0.2, 0.4]) * factor)  # ci_high - mean
    assert np.allclose(trace.error_x.arrayminus[:2], np.array([0.2, 0.4]) * factor)  # mean - ci_low
    assert list(trace.marker.color) == [COLOUR_A, COLOUR_B, NEUTRAL]
    assert list(trace.marker.symbol) == ["circle", "circle", "circle-open"]  # too small: no interval drawn
    assert trace.customdata[2][2].startswith("no interval") and trace.customdata[0][2] == ""
    assert trace.customdata[0][1] == pytest.approx(70.0)  # A's share of wins in percent
    assert unit in fig.layout.xaxis.title.text and "tiny-a" in fig.layout.title.text
    assert fig.layout.height == 320  # the floor for a short list


def stats() -> pd.DataFrame:
    return pd.DataFrame({
        "feature": [0, 1, 2, 3],
        "n_examples": [50, 20, 10, 5],
        "median_dlogprob": [1.0, -2.0, 0.5, 0.1],
        "consistency": [0.9, 0.8, 0.6, 0.5],
        "winner": ["a", "b", "a", "tie"],
        "holds_in_context": [True, False, True, False],
    })


def test_feature_overview_splits_selected_features_by_winner():
    fig = feature_overview(stats(), pd.Series([0, 1]), True, "bits", "tiny-a", "tiny-b", top=50)
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"not selected", "A wins (tiny-a)", "B wins (tiny-b)"}
    assert [t.marker.color for t in fig.data] == [UNSELECTED, COLOUR_A, COLOUR_B]
    assert list(by_name["not selected"].customdata[:, 0]) == [2, 3]
    assert np.allclose(by_name["A wins (tiny-a)"].x, [BITS_PER_NAT])
    assert np.allclose(by_name["B wins (tiny-b)"].x, [-2.0 * BITS_PER_NAT])
    assert by_name["A wins (tiny-a)"].customdata[0, 2] == "yes"
    assert by_name["A wins (tiny-a)"].marker.size[0] == pytest.approx(16.0)  # a full top list: the largest marker


def test_feature_overview_without_the_context_check_says_unknown():
    fig = feature_overview(stats().drop(columns="holds_in_context"), [], False, "nats", "a", "b", top=50)
    assert len(fig.data[0].customdata) == 4  # nothing selected
    assert set(fig.data[0].customdata[:, 2]) == {"unknown"}
    assert all(len(t.x) == 0 for t in fig.data[1:])


def test_feature_histogram_in_units_with_the_winner_colour():
    d = np.array([0.5, 1.0, -0.25, math.log(2)])
    fig = feature_histogram(d, 7, "b", "bits")
    (trace,) = fig.data
    assert np.allclose(trace.x, d * BITS_PER_NAT)
    assert trace.marker.color == COLOUR_B
    assert fig.layout.title.text == "Feature 7: Δ of its 4 examples"
    assert fig.layout.xaxis.title.text.startswith("Δ (bits)")
