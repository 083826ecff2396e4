"""Figures of the "which estimator predicts errors" section: rejection curves per model, side by side.

Tables in (analysis/uncertainty_evaluation.rejection_curve), plotly figures out;
model A blue and B orange as on the rest of the page; user text escaped.
"""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis.generation_plots import COLOUR_A, COLOUR_B, TEMPLATE

COLOURS = {"a": COLOUR_A, "b": COLOUR_B}
NAMES = {"a": "A", "b": "B"}


def rejection_curves_figure(curves: dict[str, tuple[str, pd.DataFrame]], labels: tuple[str, str]) -> go.Figure:
    """One panel per model: accuracy of the kept answers as the most uncertain are rejected first.

    curves: model ("a" | "b") -> (the estimator's label, rejection_curve table). Each panel
    draws that estimator, the oracle (every wrong answer rejected first) and random
    rejection (the overall accuracy); the area between the estimator and random, over the
    area between the oracle and random, is its PRR.
    """
    sides = [side for side in ("a", "b") if side in curves]
    names = {"a": labels[0], "b": labels[1]}
    titles = [html.escape(f"{NAMES[s]} · {names[s]}: {curves[s][0]}") for s in sides] or [""]
    fig = make_subplots(rows=1, cols=max(1, len(sides)), shared_yaxes=True, subplot_titles=titles,
                        horizontal_spacing=0.06)
    for col, side in enumerate(sides, start=1):
        estimator, curve = curves[side]
        rejected = curve["rejected"] * 100
        fig.add_trace(go.Scatter(x=rejected, y=curve["oracle"], mode="lines", name="oracle",
                                 line=dict(color="#868e96", dash="dot", width=1.5), legendgroup="oracle",
                                 showlegend=col == 1), row=1, col=col)
        fig.add_trace(go.Scatter(x=rejected, y=curve["random"], mode="lines", name="random",
                                 line=dict(color="#adb5bd", dash="dash", width=1.5), legendgroup="random",
                                 showlegend=col == 1), row=1, col=col)
        fig.add_trace(go.Scatter(x=rejected, y=curve["accuracy"], mode="lines+markers",
                                 name=html.escape(f"{NAMES[side]}: {estimator}"),
                                 line=dict(color=COLOURS[side], width=2.5), marker=dict(size=5),
                                 hovertemplate="rejected %{x:.0f}%<br>accuracy of the rest %{y:.2f}<extra></extra>"),
                       row=1, col=col)
        fig.update_xaxes(title_text="answers rejected, most uncertain first (%)", range=[0, 100], row=1, col=col)
    fig.update_yaxes(title_text="accuracy of the answers kept", range=[0, 1.02], row=1, col=1)
    fig.update_layout(template=TEMPLATE, height=420, margin=dict(l=60, r=20, t=60, b=50),
                      title=dict(text="Rejection curves of each model's best estimator", font=dict(size=14)),
                      legend=dict(orientation="h", y=-0.25))
    return fig
