"""The metric registry: each derived metric against an independent computation, graphlib ordering, lookups, UI lists.

Adding a metric is one decorated function in analysis/metrics.py and one entry in DERIVED below: the
parametrised tests then check it against its reference, its NaN handling, and that it shows where the
entry says (heatmap picker, traces along the text).
"""

from __future__ import annotations

import dataclasses
import graphlib
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy.special import log_softmax, rel_entr
from scipy.stats import entropy as scipy_entropy

from analysis import heatmap, metrics, scales
from analysis.diversity import DIVERSITY_METRICS
from analysis.metric_registry import Registry, UnknownMetric
from analysis.schema import RANK_PAIR_COLUMNS, SAME_VOCAB_COLUMNS, TOKEN_COLUMNS, WORD_COLUMNS
from analysis.uncertainty import UNCERTAINTY_METRICS
from analysis.uncertainty_table import ESTIMATOR_COLUMNS


@dataclasses.dataclass(frozen=True)
class World:
    """Two models' full next-token distributions at n positions and the tokens that came: the reference."""

    logp_a: np.ndarray  # [n, vocab] natural-log probabilities of model A
    logp_b: np.ndarray  # [n, vocab] of model B (same vocabulary)
    token: np.ndarray  # [n] the actual next tokens
    k: int = 3  # top-k of the overlap

    @property
    def rows(self) -> np.ndarray:
        return np.arange(len(self.token))

    def table(self) -> pd.DataFrame:
        """Model A's stored columns (token table and same-vocabulary table), computed with scipy."""
        p_a, p_b = np.exp(self.logp_a), np.exp(self.logp_b)
        mid = (p_a + p_b) / 2
        chosen = self.logp_a[self.rows, self.token]
        chosen_b = self.logp_b[self.rows, self.token]
        top_a = np.argsort(-self.logp_a, axis=1)[:, : self.k]
        top_b = np.argsort(-self.logp_b, axis=1)[:, : self.k]
        return pd.DataFrame({
            "logprob": chosen,
            "entropy": scipy_entropy(p_a, axis=1),
            "rank": 1.0 + (self.logp_a > chosen[:, None]).sum(axis=1),
            "rank_a": 1.0 + (self.logp_a > chosen[:, None]).sum(axis=1),
            "rank_b": 1.0 + (self.logp_b > chosen_b[:, None]).sum(axis=1),
            "kl_a_b": rel_entr(p_a, p_b).sum(axis=1),
            "kl_b_a": rel_entr(p_b, p_a).sum(axis=1),
            "js": 0.5 * rel_entr(p_a, mid).sum(axis=1) + 0.5 * rel_entr(p_b, mid).sum(axis=1),
            "topk_overlap": [len(set(a) & set(b)) / self.k for a, b in zip(top_a, top_b)],
        })


def world(n: int = 40, vocab: int = 12, seed: int = 0) -> World:
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 2.0, (n, vocab))
    logp_a = log_softmax(logits, axis=1)
    logp_b = log_softmax(logits + rng.normal(0.0, 1.0, (n, vocab)), axis=1)
    token = np.array([rng.choice(vocab, p=np.exp(row)) for row in logp_a])
    return World(logp_a, logp_b, token)


@dataclasses.dataclass(frozen=True)
class Case:
    direct: Callable[[World], np.ndarray]  # the metric computed straight from the distributions, not the registry
    picker: bool = False  # offered as a heatmap colouring
    trace: bool = False  # drawn along the text (per word, A, B and A − B)


# One entry per derived metric.
DERIVED = {
    "surprisal": Case(lambda w: -w.logp_a[w.rows, w.token], picker=True, trace=True),
    "typicality": Case(lambda w: -w.logp_a[w.rows, w.token] - scipy_entropy(np.exp(w.logp_a), axis=1),
                       picker=True, trace=True),
    # Written out as ranks counted from the sorted distributions, not from the table's rank columns.
    "rank_diff": Case(lambda w: np.log2(2.0 + np.argsort(np.argsort(-w.logp_b, axis=1, kind="stable"), axis=1)[w.rows, w.token])
                      - np.log2(2.0 + np.argsort(np.argsort(-w.logp_a, axis=1, kind="stable"), axis=1)[w.rows, w.token]),
                      picker=True),
}

DERIVED_NAMES = [m.name for m in metrics.declared() if not m.stored]


@pytest.mark.parametrize("name", DERIVED_NAMES)
def test_derived_metric_matches_its_reference(name):
    assert name in DERIVED, f"add {name!r} to DERIVED in this file: its independent computation"
    w = world()
    got = metrics.compute(w.table(), [name])[name].to_numpy()
    np.testing.assert_allclose(got, DERIVED[name].direct(w), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", DERIVED_NAMES)
def test_derived_metric_is_missing_where_an_input_is(name):
    """NaN in, NaN out: a missing score never turns into a number (0.0 would claim certainty)."""
    for root in metrics.roots(name):
        table = world().table()
        table.loc[3, root] = np.nan
        values = metrics.compute(table, [name])[name].to_numpy()
        assert np.isnan(values[3]) and np.isfinite(np.delete(values, 3)).all()


@pytest.mark.parametrize("name", DERIVED_NAMES)
def test_derived_metric_shows_where_its_entry_says(name):
    case = DERIVED[name]
    assert (name in heatmap.offered_colourings(both_models=True, same_vocab=True)) == case.picker
    assert (name in [m.name for m in metrics.traces()]) == case.trace


@pytest.mark.parametrize("name", heatmap.offered_colourings(both_models=True, same_vocab=True))
def test_every_offered_colouring_has_label_unit_help_and_palette(name):
    m = metrics.get(name)
    assert m.label and m.help and m.unit in ("nats", "rank", "share")
    assert m.palette in scales.PALETTES or m.palette == scales.BUCKETS
    assert m.level in ("token", "word") and metrics.levels(name)
    scale = heatmap.scale_for(name, "bits", np.array([0.5, 2.0]))
    assert scale.title and (m.unit != "nats" or "(bits" in scale.title)


def test_the_picker_follows_what_a_run_has():
    both = heatmap.offered_colourings(both_models=True, same_vocab=False)
    assert {"surprisal", "entropy", "rank", "delta"} <= set(both) and both[0] == "surprisal"  # the default first
    assert "delta" not in heatmap.offered_colourings(both_models=False, same_vocab=False)  # A − B needs both
    assert "js" not in both and "js" in heatmap.offered_colourings(both_models=True, same_vocab=True)


@pytest.mark.parametrize("name", [m.name for m in metrics.declared() if m.stored])
def test_stored_metric_is_a_column_of_its_table(name):
    m = metrics.get(name)
    columns = {
        "tokens": TOKEN_COLUMNS,
        "words": WORD_COLUMNS,
        "same_vocab": SAME_VOCAB_COLUMNS,
        "ranks": RANK_PAIR_COLUMNS,
        "prompts": (*UNCERTAINTY_METRICS, "reference_mean_entropy", *DIVERSITY_METRICS, *ESTIMATOR_COLUMNS),
    }[m.table]
    assert name in columns


def test_uncertainty_keys_are_declared_in_picker_order():
    from analysis.generations import METRIC_INFO

    prompt = [m.name for m in metrics.at_level("prompt")]
    assert set(UNCERTAINTY_METRICS) - {"n_samples"} <= set(prompt)
    assert list(METRIC_INFO) == prompt == [
        "discrete_semantic_entropy", "likelihood_semantic_entropy", "naive_predictive_entropy", "n_clusters",
        "reference_mean_entropy", "distinct_1", "distinct_2", "distinct_3", "ngram_diversity", "self_bleu",
        "compression_ratio", "mean_pairwise_cosine_distance", "vendi_embedding", "vendi_ngram",
        *ESTIMATOR_COLUMNS,
    ]
    assert METRIC_INFO["n_clusters"] == dict(label="Meaning clusters", unit="", higher="more uncertain",
                                             help="Number of distinct meanings among the samples")


def test_levels_are_decided_by_the_columns_a_metric_needs():
    assert metrics.levels("surprisal") == ("token", "word")  # the word table has logprob_a / logprob_b
    assert metrics.levels("rank") == ("token",) and metrics.levels("js") == ("token",)
    assert metrics.levels("delta") == ("word",)
    assert heatmap.drawn_level("rank", "words") == "tokens" and heatmap.drawn_level("delta", "tokens") == "words"
    assert heatmap.drawn_level("surprisal", "words") == "words"


def test_requirements_are_ordered_by_graphlib_whatever_the_declaration_order():
    scratch = Registry()

    @scratch.metric("c", requires=("b",), unit="nats", label="C", help="b plus one", level="token")
    def c(b):
        return b + 1

    @scratch.metric("b", requires=("a", "z"), unit="nats", label="B", help="a times z", level="token")
    def b(z, a):  # parameters are matched by name, not position
        return a * z

    scratch.stored("a", table="tokens", unit="nats", label="A", help="stored", level="token")
    scratch.stored("z", table="tokens", unit="nats", label="Z", help="stored", level="token")
    order = scratch.order(["c"])
    assert order.index("a") < order.index("b") < order.index("c") and order.index("z") < order.index("b")
    out = scratch.compute(pd.DataFrame({"a": [1.0, 2.0], "z": [10.0, 3.0]}), ["c"])
    assert out["b"].tolist() == [10.0, 6.0] and out["c"].tolist() == [11.0, 7.0]
    assert sorted(scratch.roots("c")) == ["a", "z"]
    assert metrics.order(["surprisal"]) == ["logprob", "surprisal"]


def test_a_requirement_cycle_is_refused():
    scratch = Registry()
    scratch.metric("x", requires=("y",), unit="", label="X", help="", level="token")(lambda y: y)
    scratch.metric("y", requires=("x",), unit="", label="Y", help="", level="token")(lambda x: x)
    with pytest.raises(graphlib.CycleError):
        scratch.order(["x"])


def test_unknown_names_and_bad_declarations_are_errors():
    with pytest.raises(UnknownMetric, match="unknown metric 'nope'.*surprisal"):
        metrics.get("nope")
    assert metrics.find("nope") is None
    with pytest.raises(ValueError):  # UnknownMetric is a ValueError: callers that catch ValueError still do
        metrics.compute(world().table(), ["nope"])
    with pytest.raises(ValueError, match="has no such column"):
        metrics.compute(pd.DataFrame({"entropy": [1.0]}), ["surprisal"])
    scratch = Registry()
    scratch.metric("orphan", requires=("ghost",), unit="", label="O", help="", level="token")(lambda ghost: ghost)
    with pytest.raises(UnknownMetric, match="ghost"):
        scratch.order(["orphan"])
    with pytest.raises(ValueError, match="requires"):
        scratch.metric("m", requires=("a",), unit="", label="M", help="", level="token")(lambda b: b)
    with pytest.raises(ValueError, match="level"):
        scratch.stored("s", table="tokens", unit="", label="S", help="", level="paragraph")
    with pytest.raises(ValueError, match="twice"):
        metrics.stored("logprob", table="tokens", unit="nats", label="L", help="", level="token")


def test_display_units_follow_the_declared_unit():
    from analysis.schema import BITS_PER_NAT

    assert metrics.display("surprisal", 1.0, "bits") == pytest.approx(BITS_PER_NAT)
    assert metrics.display("rank", 7.0, "bits") == 7.0 and metrics.unit_text("rank", "bits") == "rank"
    assert metrics.title("surprisal", "bits", per="word") == "surprisal (bits per word)"
    assert metrics.title("entropy", "nats", per="word") == "entropy of the prediction (nats)"
    assert metrics.axis_title("surprisal", "nats", per="token") == "surprisal (nats per token)"


def test_word_table_seen_from_one_side():
    words = pd.DataFrame({"logprob_a": [-1.0], "logprob_b": [-2.0], "entropy_a": [0.5], "entropy_b": [0.7],
                          "delta": [1.0], "word": ["x"]})
    side = metrics.per_side(words, "b")
    assert side.to_dict("records") == [{"logprob": -2.0, "entropy": 0.7, "delta": 1.0}]
