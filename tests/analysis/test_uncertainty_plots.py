"""Figures of the estimator evaluation, and the A-vs-B scatter with a metric below zero."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.generation_plots import scatter_a_vs_b
from analysis.uncertainty_evaluation import rejection_curve
from analysis.uncertainty_plots import rejection_curves_figure


def test_rejection_curves_side_by_side():
    curve = rejection_curve([0.1, 0.2, 0.3, 0.4], [1, 0, 1, 0])
    fig = rejection_curves_figure({"a": ("EigV", curve), "b": ("<b>KLE</b>", curve)}, ("<i>A</i>", "B"))
    estimators = [t for t in fig.data if t.mode == "lines+markers"]
    assert len(estimators) == 2 and {t.xaxis for t in estimators} == {"x", "x2"}
    np.testing.assert_allclose(estimators[0].y, [0.5, 2 / 3, 0.5, 1.0])
    titles = [a.text for a in fig.layout.annotations]
    assert all("<b>" not in t and "<i>" not in t for t in titles)  # user text escaped
    one = rejection_curves_figure({"b": ("EigV", curve)}, ("A", "B"))
    assert len([t for t in one.data if t.mode == "lines+markers"]) == 1


def test_scatter_reaches_below_zero():
    wide = pd.DataFrame({"prompt_id": [0, 1], "prompt": ["p", "q"], "semantic_volume_a": [-20.0, -3.0],
                         "semantic_volume_b": [-10.0, -1.0]})
    fig = scatter_a_vs_b(wide, "semantic_volume", ("A", "B"), "nats")
    low, high = fig.layout.xaxis.range
    assert low <= -20.0 and high > 0 and tuple(fig.layout.yaxis.range) == (low, high)
    positive = scatter_a_vs_b(wide.assign(semantic_volume_a=[1.0, 2.0], semantic_volume_b=[0.5, 3.0]),
                              "semantic_volume", ("A", "B"), "nats")
    assert positive.layout.xaxis.range[0] == 0  # non-negative metrics keep their axes from 0


def test_scatter_keeps_its_range_on_a_wide_page():
    """Equal scales on a plot wider than tall: plotly widens the x range unless the axes shrink their domain."""
    wide = pd.DataFrame({"prompt_id": [0, 1], "prompt": ["p", "q"], "semantic_entropy_a": [0.9, 1.7],
                         "semantic_entropy_b": [1.0, 1.6]})
    fig = scatter_a_vs_b(wide, "semantic_entropy", ("A", "B"), "nats")
    assert fig.layout.yaxis.scaleanchor == "x"
    assert fig.layout.xaxis.constrain == "domain" and fig.layout.yaxis.constrain == "domain"
