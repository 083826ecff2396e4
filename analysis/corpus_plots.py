"""Figures of the corpus views (DataFrame -> Figure): a measure over texts as selectable bars, fit per domain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.corpus_domains import ALL
from analysis.plots import COLOUR_A, COLOUR_B, LEGEND_BELOW
from analysis.schema import to_display_units

NEUTRAL = "#868e96"


def display_values(values, unit: str, display_unit: str) -> np.ndarray:
    """A measure in its display unit: nats follow the nats/bits toggle, shares become percent."""
    v = np.asarray(values, dtype=float)
    if unit == "nats":
        return to_display_units(v, display_unit)
    if unit == "share":
        return v * 100.0
    return v


def histogram_bins(values: np.ndarray, n_bins: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """(counts, edges) over the finite values; the last edge nudged up so the maximum falls in a bin
    that is closed on the left ([low, high), as corpus_ranking.rows_in_bin selects)."""
    v = values[np.isfinite(values)]
    if len(v) == 0:
        return np.zeros(0, int), np.zeros(1)
    lo, hi = float(v.min()), float(v.max())
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, n_bins + 1)
    edges[-1] = np.nextafter(hi, np.inf)
    counts, _ = np.histogram(v, bins=edges)
    return counts, edges


def measure_histogram(counts: np.ndarray, edges: np.ndarray, title: str, axis: str, signed: bool,
                      selected: int | None = None) -> go.Figure:
    """Bars (one per bin, so a click selects a bin by its index); signed measures colour the side that is
    ahead (right of 0 in A's colour), the selected bin is outlined."""
    mids = (edges[:-1] + edges[1:]) / 2
    colour = [COLOUR_A if signed and m > 0 else COLOUR_B if signed and m < 0 else NEUTRAL for m in mids]
    fig = go.Figure(go.Bar(
        x=mids, y=counts, width=np.diff(edges) * 0.95, marker_color=colour,
        marker_line_width=[3 if i == selected else 0 for i in range(len(counts))], marker_line_color="#212529",
        customdata=np.c_[edges[:-1], edges[1:]],
        hovertemplate="%{customdata[0]:.3g} to %{customdata[1]:.3g}<br>%{y} texts<extra>click to list them</extra>",
    ))
    if signed:
        fig.add_vline(x=0, line_color="#444", line_width=1)
    fig.update_layout(title=title, xaxis_title=axis, yaxis_title="texts", height=300, bargap=0.02,
                      margin={"t": 40, "b": 10, "l": 10, "r": 10}, clickmode="event+select", dragmode="select")
    return fig


def domain_chart(fit: pd.DataFrame, label_a: str, label_b: str) -> go.Figure:
    """Bits per byte of each model per domain with their intervals, and A − B beside them (analysis.corpus_domains)."""
    from plotly.subplots import make_subplots

    fit = fit[fit["domain"] != ALL]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.6, 0.4], horizontal_spacing=0.12,
                        subplot_titles=("Bits per byte (lower fits better)", "A − B (left: A fits better)"))
    y = fit["domain"].tolist()
    for side, name, colour, offset in (("a", f"A · {label_a}", COLOUR_A, -0.15), ("b", f"B · {label_b}", COLOUR_B, 0.15)):
        v = fit[f"bpb_{side}"].to_numpy(float)
        fig.add_trace(go.Scatter(
            x=v, y=y, mode="markers", name=name, marker=dict(color=colour, size=9),
            error_x=dict(type="data", symmetric=False, array=fit[f"bpb_{side}_high"] - v,
                         arrayminus=v - fit[f"bpb_{side}_low"]),
            hovertemplate="%{y}: %{x:.3f} bits/byte<extra>" + name + "</extra>"), row=1, col=1)
    d = fit["bpb_diff"].to_numpy(float)
    fig.add_trace(go.Scatter(
        x=d, y=y, mode="markers", name="A − B", marker=dict(color=[COLOUR_A if x < 0 else COLOUR_B for x in d], size=9,
                                                             symbol="diamond"),
        error_x=dict(type="data", symmetric=False, array=fit["diff_high"] - d, arrayminus=d - fit["diff_low"]),
        hovertemplate="%{y}: A − B %{x:+.3f} bits/byte<extra></extra>", showlegend=False), row=1, col=2)
    fig.add_vline(x=0, line_color="#444", line_width=1, row=1, col=2)
    fig.update_layout(height=120 + 40 * len(y), margin={"t": 40, "b": 60, "l": 10, "r": 10}, legend=LEGEND_BELOW)
    fig.update_yaxes(autorange="reversed")
    return fig
