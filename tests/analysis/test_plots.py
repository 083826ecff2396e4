"""Figures: the traces, distributions and same-vocabulary plots carry units, words and escaped hover text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import metrics, plots
from analysis.schema import BITS_PER_NAT


def words_table(n: int = 10) -> pd.DataFrame:
    a = -np.arange(1, n + 1, dtype=float)
    b = -np.full(n, 2.0)
    a[3] = np.nan
    return pd.DataFrame({
        "text_id": 0, "word_index": np.arange(n), "word": ["<img src=x onerror=alert(1)>"] + [f"w{i}" for i in range(1, n)],
        "char_start": np.arange(n) * 3, "char_end": np.arange(n) * 3 + 2,
        "logprob_a": a, "logprob_b": b, "entropy_a": np.full(n, 1.0), "entropy_b": np.full(n, 3.0),
        "n_tokens_a": 1, "n_tokens_b": 1, "delta": a - b,
    })


def test_rolling_mean_skips_missing_values():
    values = np.array([1.0, np.nan, 3.0, 5.0])
    np.testing.assert_allclose(plots.rolling(values, 2), [1.0, 1.0, 3.0, 4.0])
    np.testing.assert_array_equal(plots.rolling(values, 1), values)


@pytest.mark.parametrize("units", ["nats", "bits"])
def test_word_trace(units):
    fig = plots.word_trace(words_table(), "surprisal", units, window=1, labels=("SmolLM", "Gemma"))
    names = [t.name for t in fig.data]
    assert names == ["SmolLM", "Gemma", "advantage of SmolLM"]
    factor = BITS_PER_NAT if units == "bits" else 1.0
    np.testing.assert_allclose(fig.data[0].y[:3], np.array([1.0, 2.0, 3.0]) * factor)
    # Positive where A did better (lower surprisal): B − A of surprisal, the word table's Δ.
    np.testing.assert_allclose(fig.data[2].y[:3], np.array([1.0, 0.0, -1.0]) * factor)
    assert np.isnan(fig.data[0].y[3])  # a missing value stays missing, never 0
    assert fig.layout.yaxis.title.text == f"surprisal ({units})"
    assert fig.layout.yaxis2.title.text == f"B − A ({units}) · ↑ A better"
    # Hover names the word, escaped (plotly renders a subset of HTML in hover labels).
    assert fig.data[0].customdata[0] == "&lt;img src=x onerror=alert(1)&gt;"
    assert "%{customdata}" in fig.data[0].hovertemplate and units in fig.data[0].hovertemplate
    # Words counted from 1 on the axis and in the hover ("word %{x}"), as the reader counts.
    assert list(fig.data[0].x[:2]) == [1, 2] and fig.data[0].x[-1] == 10 and "(word %{x})" in fig.data[0].hovertemplate


def test_word_trace_rolling_and_entropy():
    fig = plots.word_trace(words_table(), "entropy", "nats", window=3)
    assert "rolling mean of 3 words" in fig.layout.title.text
    np.testing.assert_allclose(fig.data[2].y, np.full(10, -2.0))
    with pytest.raises(ValueError):
        plots.word_trace(words_table(), "rank", "nats")


def test_distribution_per_token_and_per_word():
    tokens = pd.DataFrame({"model": ["a"] * 4 + ["b"] * 2, "logprob": [-1.0, -2.0, np.nan, -3.0, -1.0, -1.0]})
    fig = plots.distribution(tokens, words_table(), "bits", "tokens", ("A", "B"))
    assert len(fig.data) == 2 and fig.data[0].histnorm == "probability density"
    assert len(fig.data[0].x) == 3 and "mean" in fig.data[0].name
    assert fig.data[0].name.endswith(f"(mean {2 * BITS_PER_NAT:.2f} bits)")  # the legend's mean has its unit
    assert fig.layout.xaxis.title.text == "surprisal (bits per token)"
    fig = plots.distribution(tokens, words_table(), "nats", "words")
    assert fig.layout.xaxis.title.text == "surprisal (nats per word)" and len(fig.data[0].x) == 9


def test_same_vocab_trace():
    same = pd.DataFrame({"text_id": 0, "position": [2, 0, 1], "kl_a_b": [0.3, 0.1, 0.2], "kl_b_a": 0.2, "js": 0.1,
                         "topk_overlap": [1.0, 0.2, 0.6]})
    tokens_a = pd.DataFrame({"position": [0, 1, 2], "token": ["<s", "b", "c"]})
    fig = plots.same_vocab_trace(same, tokens_a, "bits", 1)
    assert [t.name for t in fig.data] == ["KL(A‖B)", "KL(B‖A)", "JS", "top-k overlap"]
    np.testing.assert_allclose(fig.data[0].y, np.array([0.1, 0.2, 0.3]) * BITS_PER_NAT)
    assert fig.data[0].customdata[0] == "&lt;s" and fig.layout.yaxis.title.text == "divergence (bits)"
    assert list(fig.data[0].x) == [1, 2, 3] and "(token %{x})" in fig.data[0].hovertemplate  # token 1 is the first


@pytest.mark.parametrize("metric", ["surprisal", "entropy"])
def test_word_trace_says_which_way_the_difference_reads(metric):
    """Above 0 is A better, as in the heatmap's and the Differences page's Δ; entropy has no better side: A higher."""
    fig = plots.word_trace(words_table(), metric, "nats")
    notes = {a.yanchor: a.text for a in fig.layout.annotations if a.yref == "y2 domain"}
    if metric == "surprisal":
        assert "A predicted the word better" in notes["top"] and "B predicted the word better" in notes["bottom"]
        assert fig.layout.yaxis2.title.text == "B − A (nats) · ↑ A better"
    else:
        assert "A was less sure" in notes["top"] and "B was less sure" in notes["bottom"]
        assert fig.layout.yaxis2.title.text == "A − B (nats) · ↑ A higher"


def test_the_trace_difference_has_the_sign_of_the_word_tables_delta():
    """One convention everywhere: the surprisal panel is Δ = logprob A − B, word for word."""
    words = words_table()
    fig = plots.word_trace(words, "surprisal", "nats")
    np.testing.assert_allclose(fig.data[2].y, words["delta"].to_numpy())
    for m in metrics.traces():
        a, b = np.array([1.0]), np.array([3.0])
        better = metrics.a_better(m.name, a, b)[0]
        # A's value is lower: positive exactly when lower is better.
        assert (better > 0) == (m.higher_is_better is False), m.name


def test_word_trace_of_one_model_draws_only_its_line():
    """The other model failed: no empty legend entry for it, no A − B panel, and the title says so."""
    words = words_table().assign(logprob_a=np.nan, entropy_a=np.nan, delta=np.nan)
    fig = plots.word_trace(words, "surprisal", "nats", labels=("SmolLM", "Gemma"), sides=("b",))
    assert [t.name for t in fig.data] == ["Gemma"] and fig.layout.showlegend  # its one line is still named
    assert "B only (A failed)" in fig.layout.title.text
    assert "yaxis2" not in fig.layout and not fig.layout.annotations
    assert fig.layout.xaxis.title.text == "word"
    with pytest.raises(ValueError):
        plots.word_trace(words, "surprisal", "nats", sides=())


@pytest.mark.parametrize("metric", [m.name for m in metrics.traces()])
def test_every_traced_metric_draws_with_its_label_unit_and_signs(metric):
    """What the registry lists as a trace draws A, B and A − B, named and signed from its declaration."""
    fig = plots.word_trace(words_table(), metric, "bits", labels=("SmolLM", "Gemma"))
    m = metrics.get(metric)
    diff = "advantage of SmolLM" if m.higher_is_better is not None else "SmolLM − Gemma"
    assert [t.name for t in fig.data] == ["SmolLM", "Gemma", diff]
    assert fig.layout.title.text.startswith(f"{m.label} along the text")
    assert fig.layout.yaxis.title.text == metrics.axis_title(metric, "bits") and "bits" in fig.data[0].hovertemplate
    side_a = metrics.compute(metrics.per_side(words_table(), "a"), [metric])[metric].to_numpy()
    np.testing.assert_allclose(fig.data[0].y, metrics.display(metric, side_a, "bits"))
    notes = {a.yanchor: a.text for a in fig.layout.annotations if a.yref == "y2 domain"}
    assert notes["top"].startswith("↑ above 0") and notes["bottom"].startswith("↓ below 0")


LONG = ("HuggingFaceTB/SmolLM2-135M-Instruct?variant=int8-dynamic&dtype=float32",
        "google/gemma-3-270m-it?variant=prune&sparsity=0.5")


def _figures_with_legends(labels):
    from analysis import calibration_plots, difference_plots, generation_plots

    tokens = pd.DataFrame({"model": ["a", "b"], "logprob": [-1.0, -2.0]})
    sweep = pd.DataFrame({"prompt_id": 0, "model": ["a", "b"], "threshold": 0.25, "n_clusters": [2, 3],
                          "discrete_semantic_entropy": [0.5, 0.7]})
    bins = pd.DataFrame({"model": ["a", "b"], "mean_confidence": [0.5, 0.6], "accuracy": [0.4, 0.7], "n": [3, 4]})
    stats = pd.DataFrame({"feature": [1, 2], "median_dlogprob": [0.5, -0.5], "consistency": [0.9, 0.8],
                          "n_examples": [3, 4], "winner": ["a", "b"]})
    return {
        "trace": plots.word_trace(words_table(), "surprisal", "nats", labels=labels),
        "distribution": plots.distribution(tokens, words_table(), "nats", "tokens", labels),
        "sweep": generation_plots.threshold_sweep_figure(sweep, 0.25, labels, "nats"),
        "clusters": generation_plots.cluster_bars({m: pd.DataFrame({"size": [2], "frequency": [1.0],
                                                                   "probability": [0.5]}) for m in "ab"}, labels),
        "features": difference_plots.feature_overview(stats, [1, 2], False, "nats", *labels, top=5),
        "calibration": calibration_plots.reliability_figure(bins, pd.DataFrame(), dict(zip("ab", labels))),
    }


@pytest.mark.parametrize("name", ["trace", "distribution", "sweep", "clusters", "features", "calibration"])
def test_legends_sit_below_the_plot_clear_of_the_title(name):
    """Long model names wrap the legend: at the figure's foot (container frame) it cannot reach the title."""
    fig = _figures_with_legends(LONG)[name]
    legend = fig.layout.legend
    assert (legend.yref, legend.yanchor, legend.y, legend.orientation) == ("container", "bottom", 0, "h")
