"""Figures of the uncertainty page: tables in (nats), plotly figures out; `units` converts for display only.

Same conventions as the token view's figures: model A blue, model B orange,
units on the axes, user text escaped in hover labels (plotly renders a small
subset of HTML there).
"""

from __future__ import annotations

import html
import textwrap

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis import metrics
from analysis.plots import LEGEND_BELOW

COLOUR_A = "#1f6feb"
COLOUR_B = "#e8590c"
TEMPLATE = "plotly_white"


def _shown(values, metric: str, units: str) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return metrics.display(metric, values, units) if metrics.find(metric) else values


def _axis_title(metric: str, units: str) -> str:
    m = metrics.find(metric)
    if m is None:  # a column the registry does not declare: its name, no unit claimed
        return metric
    return f"{m.label} ({units})" if m.unit == "nats" else m.label


def hover_text(text: str, width: int = 60, max_lines: int = 6) -> str:
    """User text for a hover label: escaped, wrapped, cut."""
    lines = textwrap.wrap(" ".join(str(text).split()), width) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines] + ["…"]
    return "<br>".join(html.escape(line) for line in lines)


def scatter_a_vs_b(wide: pd.DataFrame, metric: str, labels: tuple[str, str], units: str) -> go.Figure:
    """One point per prompt: model A's metric (x) against model B's (y), with the diagonal.

    wide: analysis.generations.side_by_side (columns prompt_id, prompt, <metric>_a, <metric>_b).
    Above the diagonal, B is higher on the metric for that prompt.
    """
    x = _shown(wide[f"{metric}_a"], metric, units)
    y = _shown(wide[f"{metric}_b"], metric, units)
    prompts = wide["prompt"] if "prompt" in wide.columns else wide["prompt_id"].astype(str)
    finite = np.concatenate([x[np.isfinite(x)], y[np.isfinite(y)]])
    top = float(finite.max()) if finite.size else 1.0
    top = top * 1.08 if top > 0 else 1.0
    # Axes start at 0 unless a metric goes below it (a log-determinant such as semantic volume is negative).
    low = min(0.0, float(finite.min())) if finite.size else 0.0
    low = low * 1.08 if low < 0 else 0.0
    span = top - low
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=[low, top], y=[low, top], mode="lines", line=dict(color="#adb5bd", dash="dash", width=1),
        hoverinfo="skip", showlegend=False,
    ))
    a_label, b_label = (html.escape(label) for label in labels)
    fig.add_trace(go.Scatter(
        x=x, y=y, mode="markers",
        marker=dict(size=11, color=np.where(y > x, COLOUR_B, np.where(y < x, COLOUR_A, "#868e96")),
                    line=dict(width=1, color="#212529")),
        customdata=np.stack([wide["prompt_id"].to_numpy() + 1], axis=1),  # prompt 1 is the first (ids are 0-based)
        text=[hover_text(p) for p in prompts],
        hovertemplate=(
            "<b>prompt %{customdata[0]}</b><br>%{text}<br>"
            f"{a_label}: %{{x:.3f}}<br>{b_label}: %{{y:.3f}}<extra></extra>"
        ),
        showlegend=False,
    ))
    higher = m.higher if (m := metrics.find(metric)) else "higher"
    fig.add_annotation(x=low + 0.02 * span, y=low + 0.97 * span, text=f"{b_label} {html.escape(higher)}",
                       showarrow=False, xanchor="left", font=dict(color=COLOUR_B))
    fig.add_annotation(x=low + 0.97 * span, y=low + 0.03 * span, text=f"{a_label} {html.escape(higher)}",
                       showarrow=False, xanchor="right", font=dict(color=COLOUR_A))
    title = _axis_title(metric, units)
    fig.update_layout(
        template=TEMPLATE, height=460, margin=dict(l=60, r=20, t=40, b=50),
        title=dict(text=f"{html.escape(title)}: one point per prompt", font=dict(size=14)),
        # constrain="domain": equal scales shrink the wider axis's plot area instead of widening its range
        # (without it a wide page showed x from −1 to 3 around data in 0.9–1.7).
        xaxis=dict(title=f"{a_label} (A)", range=[low, top], zeroline=False, constrain="domain"),
        yaxis=dict(title=f"{b_label} (B)", range=[low, top], zeroline=False, scaleanchor="x", scaleratio=1,
                   constrain="domain"),
    )
    return fig


def threshold_sweep_figure(sweep: pd.DataFrame, threshold: float, labels: tuple[str, str], units: str,
                           prompt_id: int | None = None) -> go.Figure:
    """Clusters and discrete semantic entropy against the clustering threshold, one line per model.

    sweep: analysis.generations.sweep. With prompt_id, that prompt's curves;
    otherwise the mean over prompts. The current threshold is a dotted line.
    """
    data = sweep if prompt_id is None else sweep[sweep["prompt_id"] == prompt_id]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Meaning clusters", f"Semantic entropy, discrete ({units})"))
    for model, colour, label in (("a", COLOUR_A, labels[0]), ("b", COLOUR_B, labels[1])):
        curve = data[data["model"] == model].groupby("threshold", as_index=False)[
            ["n_clusters", "discrete_semantic_entropy"]].mean()
        if curve.empty:
            continue
        name = html.escape(label)
        fig.add_trace(go.Scatter(x=curve["threshold"], y=curve["n_clusters"], mode="lines+markers", name=name,
                                 line=dict(color=colour), legendgroup=model,
                                 hovertemplate=f"{name}<br>threshold %{{x:.2f}}<br>clusters %{{y:.2f}}<extra></extra>"),
                      row=1, col=1)
        entropy = metrics.display("discrete_semantic_entropy", curve["discrete_semantic_entropy"].to_numpy(), units)
        fig.add_trace(go.Scatter(x=curve["threshold"], y=entropy,
                                 mode="lines+markers", name=name, line=dict(color=colour), legendgroup=model,
                                 showlegend=False,
                                 hovertemplate=f"{name}<br>threshold %{{x:.2f}}<br>entropy %{{y:.3f}}<extra></extra>"),
                      row=1, col=2)
    for col in (1, 2):
        fig.add_vline(x=threshold, line=dict(color="#495057", dash="dot", width=1), row=1, col=col)
        fig.update_xaxes(title_text="cosine-distance threshold", row=1, col=col)
    scope = "mean over prompts" if prompt_id is None else f"prompt {prompt_id + 1}"  # counted from 1 for the reader
    fig.update_layout(template=TEMPLATE, height=360, margin=dict(l=50, r=20, t=60, b=50),
                      title=dict(text=f"How the clusters change with the threshold ({scope})", font=dict(size=14)),
                      legend=LEGEND_BELOW)
    return fig


def cluster_bars(clusters: dict[str, pd.DataFrame], labels: tuple[str, str]) -> go.Figure:
    """Cluster frequencies of one prompt, side by side for both models (largest cluster first)."""
    fig = go.Figure()
    for model, colour, label in (("a", COLOUR_A, labels[0]), ("b", COLOUR_B, labels[1])):
        table = clusters.get(model)
        if table is None or table.empty:
            continue
        fig.add_trace(go.Bar(
            x=[f"#{i + 1}" for i in range(len(table))], y=table["frequency"], name=html.escape(label),
            marker_color=colour,
            customdata=np.stack([table["size"], table["probability"]], axis=1),
            hovertemplate=(f"{html.escape(label)}<br>cluster %{{x}}<br>%{{customdata[0]}} samples"
                           "<br>likelihood probability %{customdata[1]:.3f}<extra></extra>"),
        ))
    fig.update_layout(template=TEMPLATE, barmode="group", height=300, margin=dict(l=50, r=20, t=40, b=40),
                      title=dict(text="Share of samples in each meaning cluster", font=dict(size=14)),
                      xaxis_title="cluster (largest first)", yaxis_title="share of samples", yaxis_range=[0, 1],
                      legend=LEGEND_BELOW)
    return fig
