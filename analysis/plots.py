"""Tables -> plotly figures. Values arrive in nats; `units` converts for display only.

Every figure names its units on the axis, uses the same two colours for the
models everywhere (A blue, B orange), and escapes user text in hover labels
(plotly renders a small subset of HTML in hover text).
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis import metrics

COLOUR_A = "#1f6feb"
COLOUR_B = "#e8590c"
COLOUR_DIFF = "#495057"
TEMPLATE = "plotly_white"
# Legends sit at the bottom of the figure, under the x-axis title: above the plot, long model names
# wrapped onto the title. In the container's frame plotly grows the bottom margin to fit them
# (the plot shrinks), so they never cover the title, the axis or each other, in the app and in exports.
LEGEND_BELOW = dict(orientation="h", yref="container", yanchor="bottom", y=0, x=0, xanchor="left")


def rolling(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing rolling mean over `window` points; NaNs are skipped, not counted as zero."""
    if window <= 1:
        return np.asarray(values, dtype=float)
    return pd.Series(values, dtype=float).rolling(window, min_periods=1).mean().to_numpy()


def _hover_words(words: pd.Series) -> list[str]:
    return [html.escape(str(w).replace("\n", "↵")) for w in words]


def word_trace(
    words: pd.DataFrame,
    metric: str,
    units: str,
    window: int = 1,
    labels: tuple[str, str] = ("A", "B"),
    title: str | None = None,
    sides: tuple[str, ...] = ("a", "b"),
) -> go.Figure:
    """A per-model metric (metrics.traces(): surprisal, entropy, ...) along one text's words for A and B (top)
    and their difference (bottom).

    words: the word table rows of one text; each side's value per word is computed from its own
    columns (metrics.per_side). The difference is positive where A did better, as everywhere in Duet
    (metrics.a_better: for surprisal B − A, which is the word table's Δ); a metric with no better side
    (entropy) draws A − B, and its axis says "↑ A higher".
    sides: the models that have results. With one (the other failed), only its line is drawn:
    no empty legend entry for the other, and no A − B panel, which would be empty.
    """
    traced = [m.name for m in metrics.traces()]
    if metric not in traced:
        raise ValueError(f"no trace of {metric!r} along the words: use one of {', '.join(traced)}")
    m = metrics.get(metric)
    sides = tuple(s for s in ("a", "b") if s in sides)
    if not sides:
        raise ValueError("word_trace needs at least one of the sides 'a' and 'b'")
    words = words.sort_values("word_index")
    x = np.arange(1, len(words) + 1)  # word 1 is the first, as the reader counts (word_index stays 0-based)
    hover = _hover_words(words["word"])
    a, b = (metrics.display(metric, metrics.compute(metrics.per_side(words, s), [metric])[metric].to_numpy(float), units)
            for s in ("a", "b"))
    unit = metrics.unit_text(metric, units)
    diff = metrics.a_better(metric, a, b)
    both = len(sides) == 2
    if both:
        fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.06)
    else:
        fig = make_subplots(rows=1, cols=1)
    smooth = f" (rolling mean of {window} words)" if window > 1 else ""
    per_side = {"a": (a, labels[0], COLOUR_A, 1), "b": (b, labels[1], COLOUR_B, 1)}
    lines = [per_side[s] for s in sides]
    if both:
        better = metrics.get(metric).higher_is_better is not None
        lines.append((diff, f"advantage of {labels[0]}" if better else f"{labels[0]} − {labels[1]}", COLOUR_DIFF, 2))
    for values, name, colour, row in lines:
        fig.add_trace(
            go.Scatter(
                x=x, y=rolling(values, window), customdata=np.array(hover, dtype=object), name=html.escape(name),
                mode="lines", line=dict(color=colour, width=1.8),
                hovertemplate=f"“%{{customdata}}” (word %{{x}})<br>{html.escape(name)}: %{{y:.2f}} {unit}<extra></extra>",
            ),
            row=row, col=1,
        )
    if both:
        fig.add_hline(y=0, line=dict(color="#adb5bd", width=1), row=2, col=1)
        # Positive is A better here as in the heatmap and on Differences; the notes say it on the panel.
        for y, anchor, text in zip((1, 0), ("top", "bottom"), metrics.signs(metric)):
            fig.add_annotation(xref="x2 domain", yref="y2 domain", x=1, y=y, xanchor="right", yanchor=anchor,
                               text=text, showarrow=False, font=dict(size=11, color="#6c757d"),
                               bgcolor="rgba(255,255,255,0.8)")  # readable over the line it may cross
    only = "" if both else f" · {sides[0].upper()} only ({'B' if sides == ('a',) else 'A'} failed)"
    fig.update_layout(
        template=TEMPLATE,
        title=title or f"{m.label} along the text{smooth}{only}",
        height=420, margin=dict(l=60, r=20, t=60, b=40),
        legend=LEGEND_BELOW,
        showlegend=True,  # plotly hides a legend of one line: it should still name the model that scored
        hovermode="closest",
    )
    fig.update_yaxes(title_text=metrics.axis_title(metric, units), row=1, col=1)
    if both:
        fig.update_yaxes(title_text=metrics.difference_title(metric, units), row=2, col=1)
    fig.update_xaxes(title_text="word", row=2 if both else 1, col=1)
    return fig


def distribution(
    tokens: pd.DataFrame,
    words: pd.DataFrame,
    units: str,
    level: str = "tokens",
    labels: tuple[str, str] = ("A", "B"),
    metric: str = "surprisal",
) -> go.Figure:
    """Histograms of a per-model metric (surprisal by default), as probability density (the models may have
    different token counts).

    level "tokens": each model's own tokens (combined token table, column "model");
    "words": the shared words (comparable across tokenisers).
    """
    fig = go.Figure()
    unit = metrics.unit_text(metric, units)
    for model, label, colour in (("a", labels[0], COLOUR_A), ("b", labels[1], COLOUR_B)):
        source = tokens[tokens["model"] == model] if level == "tokens" else metrics.per_side(words, model)
        values = metrics.compute(source, [metric])[metric].to_numpy(float)
        values = metrics.display(metric, values[np.isfinite(values)], units)
        if not len(values):
            continue
        fig.add_trace(
            go.Histogram(
                x=values, name=f"{html.escape(label)} (mean {values.mean():.2f} {unit})", histnorm="probability density",
                marker_color=colour, opacity=0.55, nbinsx=40,
                hovertemplate=f"{html.escape(label)}<br>%{{x}} {unit}<br>density %{{y:.3f}}<extra></extra>",
            )
        )
    per = "token" if level == "tokens" else "word"
    fig.update_layout(
        template=TEMPLATE, barmode="overlay", height=360,
        title=f"{metrics.get(metric).label} per {per}", margin=dict(l=60, r=20, t=60, b=40),
        legend=LEGEND_BELOW,
        xaxis_title=metrics.axis_title(metric, units, per), yaxis_title=f"density (1/{unit})",
    )
    return fig


def same_vocab_trace(same_vocab: pd.DataFrame, tokens_a: pd.DataFrame, units: str, window: int = 1) -> go.Figure:
    """KL both ways and JS per position (top), top-k overlap (bottom), for one text.

    same_vocab: schema.SAME_VOCAB_COLUMNS rows of one text; tokens_a: model A's
    token rows of the same text (both models share the tokenisation), for hover.
    """
    frame = same_vocab.sort_values("position").merge(
        tokens_a[["position", "token"]], on="position", how="left"
    )
    x = frame["position"].to_numpy() + 1  # token 1 is the first, as the reader counts (the table is 0-based)
    hover = np.array(_hover_words(frame["token"].fillna("")), dtype=object)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.06)
    for column, name, colour in (("kl_a_b", "KL(A‖B)", COLOUR_A), ("kl_b_a", "KL(B‖A)", COLOUR_B), ("js", "JS", "#6a51a3")):
        values = metrics.display(column, frame[column].to_numpy(float), units)
        fig.add_trace(
            go.Scatter(x=x, y=rolling(values, window), customdata=hover, name=name, mode="lines",
                       line=dict(color=colour, width=1.6),
                       hovertemplate=f"“%{{customdata}}” (token %{{x}})<br>{name}: %{{y:.3f}} {units}<extra></extra>"),
            row=1, col=1,
        )
    fig.add_trace(
        go.Scatter(x=x, y=rolling(frame["topk_overlap"].to_numpy(float), window), customdata=hover,
                   name="top-k overlap", mode="lines", line=dict(color="#238b45", width=1.6),
                   hovertemplate="“%{customdata}” (token %{x})<br>top-k overlap: %{y:.2f}<extra></extra>"),
        row=2, col=1,
    )
    fig.update_layout(
        template=TEMPLATE, height=420, title="Same vocabulary: how far apart the next-token distributions are",
        margin=dict(l=60, r=20, t=60, b=40), legend=LEGEND_BELOW,
    )
    fig.update_yaxes(title_text=f"divergence ({units})", row=1, col=1)
    fig.update_yaxes(title_text="overlap (share)", range=[0, 1.05], row=2, col=1)
    fig.update_xaxes(title_text="token", row=2, col=1)
    return fig
