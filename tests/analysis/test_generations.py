"""The uncertainty page's tables: grouping per (prompt, model), references kept out, sides and differences."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import entropy as scipy_entropy

from analysis.generation_plots import cluster_bars, hover_text, scatter_a_vs_b, threshold_sweep_figure
from analysis.generations import (
    NOT_CLUSTERED,
    clusters_of,
    embedding_labels,
    entailment_labels,
    model_summary,
    prompt_summary,
    side_by_side,
    sweep,
    verdicts,
)

E_PARIS, E_LYON, E_OTHER = np.eye(3)


def samples_table():
    """Prompt 0: A always says Paris (certain), B splits 2 Paris / 2 Lyon. Prompt 1: both split 3 ways / agree."""
    rows = []

    def add(prompt_id, model, texts, reference):
        for i, text in enumerate(texts):
            rows.append((prompt_id, model, i, False, text, -1.0 - 0.1 * i, 0.5))
        rows.append((prompt_id, model, -1, True, reference, -0.2, 0.25 if model == "a" else 0.75))

    add(0, "a", ["Paris", " Paris", "Paris.\n", "Paris"], "Paris")
    add(0, "b", ["Paris", "Lyon", "Paris", "Lyon"], "Lyon")
    add(1, "a", ["Paris", "Lyon", "Marseille", "Paris"], "Paris")
    add(1, "b", ["Paris", "Paris", "Paris", "Paris"], "Paris")
    frame = pd.DataFrame(rows, columns=["prompt_id", "model", "sample_id", "is_reference", "text", "mean_logprob", "mean_entropy"])
    vectors = {"paris": E_PARIS, "paris.": E_PARIS, "lyon": E_LYON, "marseille": E_OTHER}
    embeddings = np.stack([vectors[t.strip().lower()] for t in frame["text"]])
    return frame, embeddings


def test_labels_per_group_and_references_left_out():
    samples, embeddings = samples_table()
    labels = embedding_labels(samples, embeddings, threshold=0.25)
    assert (labels[samples["is_reference"].to_numpy()] == NOT_CLUSTERED).all()
    got = {(p, m): list(labels[((samples["prompt_id"] == p) & (samples["model"] == m) & ~samples["is_reference"]).to_numpy()])
           for p in (0, 1) for m in ("a", "b")}
    assert got == {(0, "a"): [0, 0, 0, 0], (0, "b"): [0, 1, 0, 1], (1, "a"): [0, 1, 2, 0], (1, "b"): [0, 0, 0, 0]}


def test_prompt_summary_matches_hand_values():
    samples, embeddings = samples_table()
    labels = embedding_labels(samples, embeddings, 0.25)
    summary = prompt_summary(samples, labels, embeddings).set_index(["prompt_id", "model"])
    assert summary.loc[(0, "a"), "discrete_semantic_entropy"] == 0.0
    assert summary.loc[(0, "b"), "discrete_semantic_entropy"] == pytest.approx(math.log(2))
    assert summary.loc[(1, "a"), "discrete_semantic_entropy"] == pytest.approx(scipy_entropy([2, 1, 1]))
    assert summary.loc[(1, "a"), "n_clusters"] == 3
    assert summary.loc[(0, "a"), "n_samples"] == 4  # the reference is not a sample
    assert summary.loc[(0, "a"), "naive_predictive_entropy"] == pytest.approx(1.15)
    assert summary.loc[(0, "b"), "reference_mean_entropy"] == 0.75
    assert summary.loc[(0, "b"), "reference_text"] == "Lyon"
    assert summary.loc[(1, "b"), "vendi_embedding"] == pytest.approx(1.0)
    assert summary.loc[(0, "a"), "vendi_embedding"] == pytest.approx(1.0)
    # No embeddings: the embedding metrics are NaN, the rest still there.
    plain = prompt_summary(samples, labels).set_index(["prompt_id", "model"])
    assert math.isnan(plain.loc[(0, "a"), "vendi_embedding"]) and plain.loc[(0, "a"), "distinct_1"] > 0


def test_side_by_side_and_verdicts():
    samples, embeddings = samples_table()
    summary = prompt_summary(samples, embedding_labels(samples, embeddings, 0.25), embeddings)
    metrics = ["discrete_semantic_entropy", "n_clusters", "self_bleu"]
    wide = side_by_side(summary, metrics, prompts={0: "Capital of France?", 1: "A French city?"})
    assert list(wide["prompt"]) == ["Capital of France?", "A French city?"]
    np.testing.assert_allclose(wide["discrete_semantic_entropy_diff"],
                               wide["discrete_semantic_entropy_a"] - wide["discrete_semantic_entropy_b"])
    assert wide.loc[0, "n_clusters_a"] == 1 and wide.loc[0, "n_clusters_b"] == 2
    verdict = verdicts(summary, metrics).set_index("metric")
    assert verdict.loc["n_clusters", "prompts_a_higher"] == 1
    assert verdict.loc["n_clusters", "prompts_b_higher"] == 1
    assert verdict.loc["n_clusters", "mean_a"] == 2.0 and verdict.loc["n_clusters", "mean_b"] == 1.5
    assert verdict.loc["self_bleu", "higher"] == "less diverse"


def test_model_summary_pools_all_samples():
    samples, embeddings = samples_table()
    summary = prompt_summary(samples, embedding_labels(samples, embeddings, 0.25), embeddings)
    per_model = model_summary(samples, summary, embeddings).set_index("model")
    assert per_model.loc["a", "n_prompts"] == 2
    assert per_model.loc["a", "all_n_samples"] == 8
    assert per_model.loc["b", "all_vendi_embedding"] == pytest.approx(
        np.exp(scipy_entropy([6 / 8, 2 / 8])), rel=1e-6)  # 6 Paris + 2 Lyon: two orthogonal directions


def test_clusters_of_one_prompt():
    samples, embeddings = samples_table()
    labels = embedding_labels(samples, embeddings, 0.25)
    clusters, members = clusters_of(samples, labels, 1, "a")
    assert list(clusters["size"]) == [2, 1, 1]
    assert clusters["probability"].sum() == pytest.approx(1.0)
    assert list(members["cluster"])[:2] == [clusters["cluster"][0]] * 2
    assert set(members["text"]) == {"Paris", "Lyon", "Marseille"}
    assert not members["is_reference"].any()


def test_entailment_labels_use_the_prompt():
    samples, _ = samples_table()
    seen = []

    def entails(premise, hypothesis):
        seen.append((premise, hypothesis))
        return premise.split()[-1].rstrip(".").lower() == hypothesis.split()[-1].rstrip(".").lower()

    labels = entailment_labels(samples, entails, prompts={0: "Q0", 1: "Q1"})
    assert all(p.startswith(("Q0 ", "Q1 ")) for p, _ in seen)
    assert list(labels[:4]) == [0, 0, 0, 0]


def test_sweep_and_figures():
    samples, embeddings = samples_table()
    table = sweep(samples, embeddings, thresholds=[0.0, 0.5, 1.5])
    assert len(table) == 4 * 3
    merged = table[(table["prompt_id"] == 1) & (table["model"] == "a")].set_index("threshold")
    assert merged.loc[0.0, "n_clusters"] == 3 and merged.loc[1.5, "n_clusters"] == 1
    summary = prompt_summary(samples, embedding_labels(samples, embeddings, 0.25), embeddings)
    wide = side_by_side(summary, ["discrete_semantic_entropy"], prompts={0: "<script>alert(1)</script>", 1: "ok"})
    fig = scatter_a_vs_b(wide, "discrete_semantic_entropy", ("<b>A</b>", "B"), "bits")
    points = fig.data[1]
    assert "&lt;script&gt;" in points.text[0] and "<script>" not in points.text[0]
    assert points.y[0] == pytest.approx(1.0)  # log 2 nats = 1 bit
    assert "&lt;b&gt;A&lt;/b&gt;" in fig.layout.xaxis.title.text
    assert [row[0] for row in points.customdata] == [1, 2]  # "prompt 1" is the first, as the page's selector counts
    sweep_fig = threshold_sweep_figure(table, 0.5, ("A", "B"), "nats")
    assert len(sweep_fig.data) == 4
    assert "(prompt 1)" in threshold_sweep_figure(table, 0.5, ("A", "B"), "nats", prompt_id=0).layout.title.text
    clusters = {m: clusters_of(samples, embedding_labels(samples, embeddings, 0.25), 1, m)[0] for m in ("a", "b")}
    assert len(cluster_bars(clusters, ("A", "B")).data) == 2
    assert hover_text("x" * 1000).count("<br>") <= 6


def test_verdicts_give_the_mean_difference_an_interval_resampling_prompts():
    """A wins 4 of 5 prompts by a little, B wins one by a lot: the mean says B, and the interval spans 0."""
    from scipy import stats

    a = [1.1, 1.2, 1.3, 1.1, 0.2]
    b = [1.0, 1.0, 1.0, 1.0, 3.0]
    summary = pd.DataFrame({"prompt_id": list(range(5)) * 2, "model": ["a"] * 5 + ["b"] * 5,
                            "discrete_semantic_entropy": a + b})
    row = verdicts(summary, ["discrete_semantic_entropy"]).iloc[0]
    assert (row.prompts_a_higher, row.prompts_b_higher) == (4, 1) and row.mean_b > row.mean_a
    diff = np.array(a) - np.array(b)
    assert row.mean_diff == pytest.approx(diff.mean())
    assert row.ci_low < 0 < row.ci_high
    # Each prompt its own cluster: close to the textbook t interval over the per-prompt differences.
    half = stats.t.ppf(0.975, 4) * diff.std(ddof=1) / np.sqrt(5)
    assert row.ci_high - row.ci_low == pytest.approx(2 * half, rel=0.2)
    one = verdicts(summary[summary["prompt_id"] == 0], ["discrete_semantic_entropy"]).iloc[0]
    assert np.isnan(one.ci_low) and one.n_prompts == 1  # nothing to resample
