"""The reliability diagram: accuracy against confidence per equal-mass bin, both models, with the diagonal."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analysis.plots import LEGEND_BELOW

MODEL_COLOURS = {"a": "#1f77b4", "b": "#ff7f0e"}  # the models' colours in every Duet plot


def reliability_figure(bins: pd.DataFrame, summary: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """bins/summary from analysis.calibration.calibration_by_model; labels: model key -> display name."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#adb5bd", dash="dash"),
                             name="perfectly calibrated", hoverinfo="skip"))
    ece = summary.set_index("model")["ece"].to_dict() if not summary.empty else {}
    for model, part in bins.groupby("model", sort=True):
        name = f"{labels.get(model, model)} (ECE {ece.get(model, float('nan')):.3f})"
        fig.add_trace(
            go.Scatter(
                x=part["mean_confidence"], y=part["accuracy"], mode="lines+markers", name=name,
                line=dict(color=MODEL_COLOURS.get(model)), customdata=part[["n"]].to_numpy(),
                hovertemplate="confidence %{x:.3f}<br>accuracy %{y:.3f}<br>%{customdata[0]} positions<extra></extra>",
            )
        )
    fig.update_layout(
        title="Reliability of the top-1 prediction (equal-mass bins)",
        xaxis=dict(title="top-1 probability (mean in bin)", range=[0, 1]),
        yaxis=dict(title="share where the top-1 token came next", range=[0, 1]),
        legend=LEGEND_BELOW,
        margin=dict(l=60, r=20, t=50, b=90), height=440,
    )
    return fig
