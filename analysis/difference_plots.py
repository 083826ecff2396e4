"""The Differences page's figures (DataFrame -> Figure): groups with intervals, BehaviorBox features, one feature's Δ.

Δ = logprob_A − logprob_B in nats in every input; `unit` ("nats" | "bits") converts at display only.
Positive Δ is drawn to the right and in model A's colour, as everywhere else in Duet.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.differences import MIN_CI_WORDS
from analysis.plots import COLOUR_A, COLOUR_B, LEGEND_BELOW
from analysis.schema import to_display_units

COLOURS = {"a": COLOUR_A, "b": COLOUR_B}
NEUTRAL = "#999999"  # a group with no significant winner
UNSELECTED = "#bbbbbb"  # a feature that fired but did not pass the selection


def group_chart(view: pd.DataFrame, unit: str, label_a: str, label_b: str) -> go.Figure:
    """Mean Δ per group with its 95% interval, one row per group.

    view: rows of analysis.differences.group_aggregates (family, group, n, mean_delta, ci_low, ci_high,
    a_win_share, significant), each with n > 0.
    """
    labels = (view["family"] + " · " + view["group"].astype(str)).tolist()
    mean = to_display_units(view["mean_delta"].to_numpy(float), unit)
    lo = to_display_units(view["ci_low"].to_numpy(float), unit)
    hi = to_display_units(view["ci_high"].to_numpy(float), unit)
    colour = [COLOURS["a"] if (s and m > 0) else COLOURS["b"] if s else NEUTRAL
              for s, m in zip(view["significant"], mean)]
    # A group with no interval (too few words, or one text): an open marker and no bar, so it never
    # reads as a tight interval; the hover says why.
    notes = view["ci_note"] if "ci_note" in view else pd.Series("", index=view.index)
    small = ((view["n"] < MIN_CI_WORDS) | (notes != "")).to_numpy()
    interval = np.where(small, "no interval (" + notes.where(notes != "", f"under {MIN_CI_WORDS} words") + ")", "")
    q = view["q_value"].to_numpy(float) if "q_value" in view else np.full(len(view), np.nan)
    interval = np.where(np.isfinite(q), [f"q (BH) {v:.3g}" for v in q], interval)
    fig = go.Figure(go.Scatter(
        x=mean, y=labels, mode="markers",
        marker={"color": colour, "size": 9, "symbol": np.where(small, "circle-open", "circle")},
        error_x={"type": "data", "symmetric": False, "array": hi - mean, "arrayminus": mean - lo, "color": "#888"},
        # Object dtype: stacking numbers with the note as one array would turn the numbers into strings.
        customdata=np.array(list(zip(view["n"], view["a_win_share"] * 100, interval)), dtype=object),
        hovertemplate="%{y}<br>mean Δ %{x:+.3f} " + unit + "<br>%{customdata[0]} words, A wins %{customdata[1]:.0f}%"
                      "<br>%{customdata[2]}<extra></extra>",
    ))
    fig.add_vline(x=0, line_color="#444", line_width=1)
    fig.update_layout(
        title=f"Mean Δ by group, 95% CI resampling texts · A = {label_a}, B = {label_b}",
        xaxis_title=f"mean Δ ({unit}) · right: A better, left: B better",
        yaxis={"autorange": "reversed"}, height=max(320, 22 * len(labels) + 120), margin={"l": 10, "r": 10},
        showlegend=False,
    )
    return fig


def feature_overview(stats: pd.DataFrame, selected: Sequence[int], checked: bool, unit: str, label_a: str,
                     label_b: str, top: int) -> go.Figure:
    """Every BehaviorBox feature that fired: median Δ of its top words against consistency, selected ones by winner.

    stats: analysis.behaviorbox feature statistics (feature, median_dlogprob, consistency, n_examples, winner, and
    holds_in_context when checked); selected: the features that pass the selection; top: examples per feature
    at most (sizes the markers).
    """
    points = stats.assign(
        selected=stats["feature"].isin(selected),
        holds=stats["holds_in_context"].map({True: "yes", False: "no"}) if checked else "unknown",
    )
    fig = go.Figure()
    for name, part, colour in (
        ("not selected", points[~points["selected"]], UNSELECTED),
        (f"A wins ({label_a})", points[points["selected"] & (points["winner"] == "a")], COLOURS["a"]),
        (f"B wins ({label_b})", points[points["selected"] & (points["winner"] == "b")], COLOURS["b"]),
    ):
        fig.add_trace(go.Scatter(
            x=to_display_units(part["median_dlogprob"].to_numpy(float), unit), y=part["consistency"], mode="markers",
            name=name, marker={"color": colour, "size": 6 + 10 * np.sqrt(part["n_examples"] / max(1, top))},
            customdata=np.stack([part["feature"], part["n_examples"], part["holds"]], axis=1),
            hovertemplate="feature %{customdata[0]}<br>median Δ %{x:+.2f} " + unit
                          + "<br>consistency %{y:.0%}<br>%{customdata[1]} examples"
                          + "<br>holds in context: %{customdata[2]}<extra></extra>",
        ))
    fig.update_layout(title="Features: median Δ of their top words vs. consistency",
                      xaxis_title=f"median Δ ({unit}) · right: A better", yaxis_title="consistency", height=380,
                      yaxis={"tickformat": ".0%"}, legend=LEGEND_BELOW)
    return fig


def feature_histogram(dlogprob: np.ndarray, feature: int, winner: str, unit: str) -> go.Figure:
    """The Δ of one feature's examples (dlogprob in nats, one per example), in the winner's colour."""
    d = to_display_units(np.asarray(dlogprob, dtype=float), unit)
    fig = go.Figure(go.Histogram(x=d, marker_color=COLOURS[winner], nbinsx=20,
                                 hovertemplate="Δ %{x}<br>%{y} words<extra></extra>"))
    fig.add_vline(x=0, line_color="#444", line_width=1)
    fig.update_layout(title=f"Feature {feature}: Δ of its {len(d)} examples",
                      xaxis_title=f"Δ ({unit}) · right: A better", yaxis_title="words", height=260,
                      margin={"t": 40, "b": 10, "l": 10, "r": 10}, bargap=0.05)
    return fig
