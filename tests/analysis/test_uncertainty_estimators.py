"""The added uncertainty estimators against hand computations, and their degenerate cases: N = 1, all identical, all distinct."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import uncertainty_estimators as est
from analysis import uncertainty_graph as graph
from analysis.uncertainty_table import (
    ESTIMATOR_COLUMNS,
    estimator_names,
    estimator_table,
    group_estimators,
    with_estimators,
)

EPS = est.VOLUME_RIDGE
ALPHA = est.EIGENSCORE_ALPHA


# --- white box -------------------------------------------------------------------------------------


def test_reference_nll_and_perplexity_by_hand():
    assert est.reference_nll(-2.5, 3) == 2.5  # p = e^-2.5, flipped: −ln p
    assert est.reference_nll(0.0, 1) == 0.0  # probability 1: no uncertainty
    assert math.isnan(est.reference_nll(0.0, 0))  # no token: unknown, not certain
    assert est.reference_perplexity(-math.log(2.0)) == pytest.approx(2.0)
    assert est.reference_perplexity(0.0) == 1.0
    assert math.isnan(est.reference_perplexity(math.nan))


def test_mc_sequence_entropy_by_hand_and_degenerate():
    assert est.mc_sequence_entropy([-1.0, -3.0]) == 2.0
    assert est.mc_sequence_entropy([-4.0]) == 4.0  # N = 1: the one sample's −ln p
    assert est.mc_sequence_entropy([-0.7] * 5) == pytest.approx(0.7)  # all identical
    assert math.isnan(est.mc_sequence_entropy([]))
    assert math.isnan(est.mc_sequence_entropy([-1.0, math.nan]))


# --- lexical ---------------------------------------------------------------------------------------


def test_rouge_l_by_hand():
    # LCS("the cat sat", "the cat") = 2 words: recall 2/3, precision 1, F1 = 2·(2/3)/(5/3) = 0.8.
    assert est.rouge_l("The cat sat", "the cat") == pytest.approx(0.8)
    assert est.rouge_l("", "") == 1.0 and est.rouge_l("Paris", "") == 0.0


def test_lexical_dissimilarity_by_hand_and_degenerate():
    assert est.lexical_dissimilarity(["a b c", "a b c", "x"]) == pytest.approx(1 - 1 / 3)  # pairs 1, 0, 0
    assert est.lexical_dissimilarity(["The cat sat", "the cat"]) == pytest.approx(0.2)
    assert est.lexical_dissimilarity(["Paris"] * 6) == 0.0  # all identical
    assert est.lexical_dissimilarity(["Paris", "Lyon", "Nice"]) == 1.0  # all distinct, no shared word
    assert math.isnan(est.lexical_dissimilarity(["Paris"]))  # N = 1: no pair
    assert math.isnan(est.lexical_dissimilarity([]))


# --- embeddings ------------------------------------------------------------------------------------


def test_eigenscore_by_hand():
    # z1 = e1, z2 = e2 in d = 2: centred over features (±0.5), Σ = [[.5, −.5], [−.5, .5]], eigenvalues 1 and 0.
    got = est.eigenscore(np.eye(2))
    assert got == pytest.approx((math.log(1 + ALPHA) + math.log(ALPHA)) / 2)
    # Three orthonormal vectors in d = 4: Σ = I − 11ᵀ/4, eigenvalues 1/4 (the ones vector) and 1, 1.
    got = est.eigenscore(np.eye(4)[:3])
    assert got == pytest.approx((2 * math.log(1 + ALPHA) + math.log(0.25 + ALPHA)) / 3)


def test_eigenscore_degenerate():
    z = np.array([[0.6, 0.8]])  # N = 1: Σ = |z|² − (Σz)²/d = 1 − 1.96/2 = 0.02
    assert est.eigenscore(z) == pytest.approx(math.log(0.02 + ALPHA))
    same = np.tile([[0.6, 0.8, 0.0]], (4, 1))  # all identical: eigenvalues N·c and 0 (N − 1 times)
    c = 1.0 - 1.4**2 / 3
    assert est.eigenscore(same) == pytest.approx((math.log(4 * c + ALPHA) + 3 * math.log(ALPHA)) / 4)
    assert est.eigenscore(same) < est.eigenscore(np.eye(5)[:4])  # identical < distinct
    assert math.isnan(est.eigenscore(np.zeros((0, 3))))


def test_semantic_volume_by_hand_and_degenerate():
    c = 0.6  # two unit vectors with cosine c: det(G + εI) = (1 + ε)² − c²
    v = np.array([[1.0, 0.0], [c, math.sqrt(1 - c**2)]])
    assert est.semantic_volume(v) == pytest.approx(math.log((1 + EPS) ** 2 - c**2))
    assert est.semantic_volume(3.0 * v) == pytest.approx(est.semantic_volume(v))  # normalised first
    assert est.semantic_volume(np.array([[2.0, 0.0]])) == pytest.approx(math.log(1 + EPS))  # N = 1
    n = 5
    same = np.tile([[1.0, 2.0, 2.0]], (n, 1))  # all identical: G = 11ᵀ, eigenvalues N and 0
    assert est.semantic_volume(same) == pytest.approx(math.log(n + EPS) + (n - 1) * math.log(EPS))
    assert est.semantic_volume(np.eye(n)) == pytest.approx(n * math.log(1 + EPS))  # all distinct: the maximum
    assert math.isnan(est.semantic_volume(np.zeros((0, 3))))


# --- graph -----------------------------------------------------------------------------------------


def two(a: float) -> np.ndarray:
    return np.array([[1.0, a], [a, 1.0]])


@pytest.mark.parametrize("a", [0.0, 0.3, 0.5, 0.9, 1.0])
def test_graph_estimators_of_two_answers_by_hand(a):
    # D = (1 + a) I; normalised Laplacian eigenvalues 0 and 2a/(1 + a).
    assert graph.eigv(two(a)) == pytest.approx(1 + max(0.0, 1 - 2 * a / (1 + a)))
    assert graph.degree(two(a)) == pytest.approx((1 - a) / 2)
    # Eccentricity keeps eigenvalues < 0.9: both (an orthonormal basis: ‖centred‖ = √(N − 1) = 1) or the constant one.
    assert graph.eccentricity(two(a)) == pytest.approx(1.0 if 2 * a / (1 + a) < 0.9 else 0.0, abs=1e-12)
    # L = D − W has eigenvalues 0 and 2a; ρ's eigenvalues are 1/(1 + e) and e/(1 + e), e = exp(−2at).
    e = math.exp(-2 * a * graph.KLE_TIME)
    p = np.array([1 / (1 + e), e / (1 + e)])
    assert graph.kernel_language_entropy(two(a)) == pytest.approx(float(-(p * np.log(p)).sum()))


@pytest.mark.parametrize("n", [2, 5, 10])
def test_graph_estimators_all_identical_and_all_distinct(n):
    same, distinct = np.ones((n, n)), np.eye(n)
    assert graph.eigv(same) == pytest.approx(1.0) and graph.eigv(distinct) == pytest.approx(n)
    assert graph.degree(same) == pytest.approx(0.0) and graph.degree(distinct) == pytest.approx(1 - 1 / n)
    assert graph.eccentricity(same) == pytest.approx(0.0, abs=1e-9)
    assert graph.eccentricity(distinct) == pytest.approx(math.sqrt(n - 1))
    assert graph.kernel_language_entropy(distinct) == pytest.approx(math.log(n))
    # All identical: the heat kernel's ρ has eigenvalues 1/(N·d) and e^{−tN}/(N·d) (N − 1 times).
    e = math.exp(-graph.KLE_TIME * n)
    nd = 1 + e * (n - 1)
    p = np.array([1 / nd] + [e / nd] * (n - 1))
    assert graph.kernel_language_entropy(same) == pytest.approx(float(-(p * np.log(p)).sum()))
    assert graph.kernel_language_entropy(same) < graph.kernel_language_entropy(distinct)


def test_graph_estimators_of_one_answer_and_none():
    one = np.ones((1, 1))
    assert (graph.eigv(one), graph.degree(one), graph.eccentricity(one), graph.kernel_language_entropy(one)) == (
        1.0, 0.0, 0.0, 0.0)
    none = np.zeros((0, 0))
    assert all(math.isnan(f(none)) for f in (graph.eigv, graph.degree, graph.eccentricity,
                                              graph.kernel_language_entropy))


def test_graph_estimators_grow_with_disagreement():
    """More, and more even, meanings: every graph estimator goes up."""
    def blocks(sizes):
        labels = np.repeat(np.arange(len(sizes)), sizes)
        return (labels[:, None] == labels[None, :]).astype(float)

    one, two_even, three = blocks([6]), blocks([3, 3]), blocks([2, 2, 2])
    for f in (graph.eigv, graph.degree, graph.eccentricity, graph.kernel_language_entropy):
        assert f(one) < f(two_even) < f(three), f.__name__
    assert graph.eigv(three) == pytest.approx(3.0)  # disconnected blocks: EigV counts them


def test_graph_inputs_are_checked():
    with pytest.raises(ValueError, match="symmetric"):
        graph.eigv(np.array([[1.0, 0.2], [0.8, 1.0]]))
    with pytest.raises(ValueError, match=">= 0"):
        graph.degree(np.array([[1.0, -0.2], [-0.2, 1.0]]))


def test_entailment_similarity_symmetrises_and_skips_identical():
    probs = {("Paris", "It is Paris"): 0.9, ("It is Paris", "Paris"): 0.5, ("Paris", "Lyon"): 0.1,
             ("Lyon", "Paris"): 0.3, ("It is Paris", "Lyon"): 0.0, ("Lyon", "It is Paris"): 0.2}
    asked = []

    def entail_prob(premise, hypothesis):
        asked.append((premise, hypothesis))
        return probs[(premise, hypothesis)]

    w = graph.entailment_similarity(["Paris", "It is Paris", "Paris", "Lyon"], entail_prob)
    assert w[0, 1] == pytest.approx(0.7) and w[0, 3] == pytest.approx(0.2) and w[1, 3] == pytest.approx(0.1)
    assert w[0, 2] == 1.0 and np.allclose(w, w.T) and np.allclose(np.diag(w), 1.0)
    assert len(asked) == 6  # each ordered pair of DISTINCT answers once
    seen = []
    graph.entailment_similarity(["a", "b"], lambda p, h: seen.append((p, h)) or 0.5, prompt="Q?")
    assert seen == [("Q? a", "Q? b"), ("Q? b", "Q? a")]


def test_cosine_similarity_graph_cuts_negatives():
    w = graph.cosine_similarity_graph(np.array([[1.0, 0.0], [-1.0, 0.0], [1.0, 1.0]]))
    assert w[0, 1] == 0.0 and w[0, 2] == pytest.approx(math.sqrt(0.5)) and np.allclose(np.diag(w), 1.0)


def test_inv_entropy_by_hand_and_why_it_is_not_a_page_metric():
    a = 0.5
    # Distinct inputs (S_x = I): p(x_i | y_i) = [P_y]_ii = 1/(1 + a).
    p = 1 / (1 + a)
    assert graph.inv_entropy(np.eye(2), two(a)) == pytest.approx(-2 * p * math.log(p))
    assert graph.inv_entropy(np.eye(3), np.eye(3)) == 0.0
    # One input sampled N times (what Duet does): ln N whatever the answers say.
    for answers in (np.eye(4), np.ones((4, 4)), graph.cosine_similarity_graph(np.random.default_rng(0).normal(size=(4, 8)))):
        assert graph.inv_entropy(np.ones((4, 4)), answers) == pytest.approx(math.log(4))


# --- the table -------------------------------------------------------------------------------------


def samples_table():
    """Prompt 0: A always says Paris, B splits Paris / Lyon. Prompt 1: A has no reference row."""
    rows = []

    def add(prompt_id, model, texts, reference=None):
        for i, text in enumerate(texts):
            rows.append((prompt_id, model, i, False, text, 2, -1.0 - i, (-1.0 - i) / 2))
        if reference is not None:
            rows.append((prompt_id, model, -1, True, reference, 4, -0.4, -0.1))

    add(0, "a", ["Paris", "Paris", "Paris"], "Paris")
    add(0, "b", ["Paris", "Lyon", "Paris"], "Lyon")
    add(1, "a", ["one", "two", "three"])
    add(1, "b", ["x"], "x")
    return pd.DataFrame(rows, columns=["prompt_id", "model", "sample_id", "is_reference", "text", "n_tokens",
                                       "total_logprob", "mean_logprob"])


def test_estimator_table_per_group():
    samples = samples_table()
    vectors = {"Paris": [1, 0, 0, 0], "Lyon": [0, 1, 0, 0], "one": [0, 0, 1, 0], "two": [0, 0, 0, 1],
               "three": [1, 1, 0, 0], "x": [0, 0, 1, 1]}
    embeddings = np.array([vectors[t] for t in samples["text"]], dtype=float)
    table = estimator_table(samples, embeddings).set_index(["prompt_id", "model"])
    assert list(table.columns) == list(ESTIMATOR_COLUMNS) and len(table) == 4
    a0, b0 = table.loc[(0, "a")], table.loc[(0, "b")]
    assert a0["reference_nll"] == 0.4 and a0["reference_perplexity"] == pytest.approx(math.exp(0.1))
    assert a0["mc_sequence_entropy"] == pytest.approx(2.0)  # −mean(−1, −2, −3)
    assert a0["lexical_dissimilarity"] == 0.0 and a0["eigv"] == pytest.approx(1.0) and a0["degree"] == 0.0
    assert b0["eigv"] == pytest.approx(2.0) and b0["degree"] == pytest.approx(1 - 5 / 9)
    assert math.isnan(table.loc[(1, "a"), "reference_nll"])  # no reference row: NaN, not 0
    assert table.loc[(1, "b"), "eigv"] == 1.0 and math.isnan(table.loc[(1, "b"), "lexical_dissimilarity"])  # N = 1
    rows = ((samples["prompt_id"] == 0) & (samples["model"] == "b") & ~samples["is_reference"]).to_numpy()
    direct = group_estimators(["Paris", "Lyon", "Paris"], np.array([-1.0, -2.0, -3.0]),
                              {"total_logprob": -0.4, "mean_logprob": -0.1, "n_tokens": 4},
                              embeddings[rows], graph.cosine_similarity_graph(embeddings[rows]))
    assert b0.to_dict() == pytest.approx(direct)


def test_estimator_table_with_nli_and_without_embeddings():
    samples = samples_table()
    no_graph = estimator_table(samples)
    assert no_graph[["eigv", "eigenscore", "semantic_volume"]].isna().all().all()
    assert no_graph["mc_sequence_entropy"].notna().all()
    asked = []

    def entail_prob(premise, hypothesis):
        asked.append(premise)
        return 0.0

    nli = estimator_table(samples, entail_prob=entail_prob, prompts={0: "Q0", 1: "Q1"}).set_index(["prompt_id", "model"])
    assert nli.loc[(0, "b"), "eigv"] == pytest.approx(2.0)  # Paris ≠ Lyon, the two Paris identical
    assert nli.loc[(1, "a"), "eigv"] == pytest.approx(3.0)
    assert all(p.startswith(("Q0 ", "Q1 ")) for p in asked)


def test_with_estimators_joins_on_prompt_and_model():
    summary = pd.DataFrame({"prompt_id": [0, 0, 1, 1], "model": pd.array(["a", "b", "a", "b"], dtype="string"),
                            "n_clusters": [1, 2, 3, 1]})
    joined = with_estimators(summary, estimator_table(samples_table()))
    assert list(joined["n_clusters"]) == [1, 2, 3, 1] and joined["model"].dtype == summary["model"].dtype
    assert set(ESTIMATOR_COLUMNS) <= set(joined.columns) and joined.loc[1, "reference_nll"] == 0.4
    assert with_estimators(joined, estimator_table(samples_table())).shape == joined.shape  # idempotent


def test_estimators_are_the_registry_s_uncertainty_metrics():
    names = estimator_names()
    assert set(ESTIMATOR_COLUMNS) <= set(names)
    assert {"discrete_semantic_entropy", "n_clusters", "naive_predictive_entropy"} <= set(names)
    assert "vendi_embedding" not in names  # diversity, not uncertainty
