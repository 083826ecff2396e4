"""Semantic-entropy metrics against scipy.stats.entropy, hand-computed values,
a brute-force average-linkage clusterer, and order invariance."""

import math

import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy

from analysis.uncertainty import (
    cluster_by_embedding,
    cluster_by_entailment,
    cluster_log_probabilities,
    cluster_table,
    discrete_semantic_entropy,
    likelihood_semantic_entropy,
    naive_predictive_entropy,
    threshold_sweep,
    uncertainty_summary,
)


def partition(labels):
    """Label-free view of a clustering: the set of index sets."""
    groups = {}
    for i, label in enumerate(labels):
        groups.setdefault(int(label), set()).add(i)
    return {frozenset(g) for g in groups.values()}


def brute_force_average_linkage(embeddings, threshold):
    """Reference UPGMA written from its definition: keep merging the two
    clusters with the smallest mean pairwise cosine distance while it is <= threshold."""
    x = np.asarray(embeddings, float)
    n = len(x)

    def cos_dist(i, j):
        return 1.0 - float(x[i] @ x[j]) / (np.linalg.norm(x[i]) * np.linalg.norm(x[j]))

    clusters = [[i] for i in range(n)]
    while len(clusters) > 1:
        best = None
        for a in range(len(clusters)):
            for b in range(a + 1, len(clusters)):
                d = np.mean([cos_dist(i, j) for i in clusters[a] for j in clusters[b]])
                if best is None or d < best[0]:
                    best = (d, a, b)
        if best[0] > threshold:
            break
        _, a, b = best
        clusters[a] = clusters[a] + clusters[b]
        del clusters[b]
    return {frozenset(c) for c in clusters}


# --- cluster_by_embedding ---------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("threshold", [0.3, 0.7, 1.0, 1.2])
def test_embedding_clusters_match_brute_force_average_linkage(seed, threshold):
    rng = np.random.default_rng(seed)
    embeddings = rng.normal(size=(9, 4))
    texts = [f"answer {i}" for i in range(9)]
    labels = cluster_by_embedding(embeddings, threshold, texts)
    assert partition(labels) == brute_force_average_linkage(embeddings, threshold)


def test_two_obvious_meanings_are_found():
    # Three vectors near the x axis, two near the y axis: 90 degrees apart.
    embeddings = np.array([[1, 0.05], [1, -0.05], [2, 0.0], [0.02, 1], [-0.02, 3]])
    texts = ["a", "b", "c", "d", "e"]
    labels = cluster_by_embedding(embeddings, 0.25, texts)
    assert labels.tolist() == [0, 0, 0, 1, 1]
    # A threshold beyond orthogonality merges everything.
    assert cluster_by_embedding(embeddings, 1.5, texts).tolist() == [0] * 5


def test_labels_are_numbered_by_first_appearance():
    embeddings = np.array([[0, 1.0], [1, 0], [0, 2], [-1, 0]])
    labels = cluster_by_embedding(embeddings, 0.1, ["p", "q", "r", "s"])
    assert labels.tolist() == [0, 1, 0, 2]


def test_identical_strings_share_a_cluster_whatever_their_embeddings():
    # Opposite embeddings (distance 2) for the same string: still one cluster.
    embeddings = np.array([[1.0, 0], [0, 1], [-1, 0]])
    labels = cluster_by_embedding(embeddings, 0.0, ["Paris", "London", "Paris"])
    assert labels.tolist() == [0, 1, 0]


def test_zero_and_one_samples():
    assert cluster_by_embedding(np.zeros((0, 3)), 0.5, []).tolist() == []
    assert cluster_by_embedding(np.ones((1, 3)), 0.5, ["x"]).tolist() == [0]
    # Two samples of the same string: one distinct string, one cluster.
    assert cluster_by_embedding(np.eye(2), 0.5, ["x", "x"]).tolist() == [0, 0]


def test_empty_generations_with_zero_embeddings():
    # Empty strings embed to zero here: same meaning as each other, orthogonal
    # (distance 1) to every real answer.
    embeddings = np.array([[1.0, 0], [0, 0], [1, 0.01], [0, 0]])
    texts = ["yes", "", "yes.", ""]
    labels = cluster_by_embedding(embeddings, 0.5, texts)
    assert labels.tolist() == [0, 1, 0, 1]
    assert not np.any(np.isnan(labels))
    # A zero embedding for two DIFFERENT strings: they are still together.
    labels = cluster_by_embedding(np.array([[0.0, 0], [0, 0], [1, 0]]), 0.5, ["", " ", "a"])
    assert labels.tolist() == [0, 0, 1]
    # Distance 1 to the rest: merged only past a threshold of 1.
    assert cluster_by_embedding(embeddings, 1.0, texts).tolist() == [0, 0, 0, 0]


def test_mismatched_inputs_are_rejected():
    with pytest.raises(ValueError):
        cluster_by_embedding(np.ones((3, 2)), 0.5, ["a", "b"])
    with pytest.raises(ValueError):
        cluster_by_embedding(np.ones((2, 2)), -0.1, ["a", "b"])


@pytest.mark.parametrize("seed", range(5))
def test_embedding_clusters_do_not_depend_on_sample_order(seed):
    rng = np.random.default_rng(100 + seed)
    embeddings = rng.normal(size=(10, 5))
    texts = [f"t{i}" for i in range(10)]
    texts[7] = texts[2]  # a duplicate string
    labels = cluster_by_embedding(embeddings, 0.8, texts)
    order = rng.permutation(10)
    permuted = cluster_by_embedding(embeddings[order], 0.8, [texts[i] for i in order])
    # Map the permuted partition back to the original indices.
    back = {frozenset(int(order[i]) for i in group) for group in partition(permuted)}
    assert back == partition(labels)


# --- cluster_by_entailment --------------------------------------------------

MEANING = {"Paris": 1, "It is Paris.": 1, "paris": 1, "London": 2, "Rome": 3}


def same_meaning(premise, hypothesis):
    return MEANING[premise] == MEANING[hypothesis]


def test_entailment_clusters_by_meaning():
    texts = ["Paris", "London", "It is Paris.", "Rome", "London", "paris"]
    labels = cluster_by_entailment(texts, same_meaning)
    assert labels.tolist() == [0, 1, 0, 2, 1, 0]


def test_entailment_is_strict_in_both_directions():
    # "a poodle" entails "a dog" but not the reverse: different meanings.
    def entails(premise, hypothesis):
        return (premise, hypothesis) in {("a poodle", "a dog")} or premise == hypothesis

    assert cluster_by_entailment(["a dog", "a poodle"], entails).tolist() == [0, 1]
    assert cluster_by_entailment(["a poodle", "a dog"], entails).tolist() == [0, 1]


def test_entailment_compares_with_each_clusters_first_member_only():
    # Not transitive: A~B and B~C, but not A~C. Greedy against first members
    # puts C in a new cluster, never asking about (B, C).
    pairs = {frozenset("AB"), frozenset("BC")}
    calls = []

    def entails(premise, hypothesis):
        calls.append((premise, hypothesis))
        return frozenset((premise, hypothesis)) in pairs

    assert cluster_by_entailment(["A", "B", "C"], entails).tolist() == [0, 0, 1]
    assert ("B", "C") not in calls and ("C", "B") not in calls


def test_identical_strings_share_a_cluster_without_asking_the_model():
    calls = []

    def never(premise, hypothesis):
        calls.append((premise, hypothesis))
        return False

    labels = cluster_by_entailment(["x", "y", "x", "x", "y"], never)
    assert labels.tolist() == [0, 1, 0, 0, 1]
    assert calls == [("x", "y")]  # only the one needed comparison


def test_prompt_is_prepended_to_both_sides():
    seen = []

    def entails(premise, hypothesis):
        seen.append((premise, hypothesis))
        return True

    labels = cluster_by_entailment(["Paris", "Lyon"], entails, prompt="Capital of France?")
    assert labels.tolist() == [0, 0]
    assert seen[0] == ("Capital of France? Paris", "Capital of France? Lyon")
    assert seen[1] == ("Capital of France? Lyon", "Capital of France? Paris")


def test_entailment_with_no_or_one_sample():
    assert cluster_by_entailment([], same_meaning).tolist() == []
    assert cluster_by_entailment(["Rome"], same_meaning).tolist() == [0]


# --- entropies --------------------------------------------------------------


@pytest.mark.parametrize(
    "labels", [[0, 0, 1, 2, 2, 2], [0, 1, 1, 1], [0, 1, 2, 3, 4], [3, 3, 7, 1, 7, 7, 7]]
)
def test_discrete_semantic_entropy_matches_scipy(labels):
    _, counts = np.unique(labels, return_counts=True)
    assert discrete_semantic_entropy(labels) == pytest.approx(scipy_entropy(counts))


def test_discrete_semantic_entropy_hand_values():
    assert discrete_semantic_entropy([0, 0, 0, 0]) == 0.0
    assert discrete_semantic_entropy([0, 1]) == pytest.approx(math.log(2))
    # p = (3/4, 1/4)
    expected = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert discrete_semantic_entropy([0, 1, 0, 0]) == pytest.approx(expected)


@pytest.mark.parametrize("n", [2, 3, 7, 10])
def test_n_equal_clusters_give_log_n(n):
    labels = np.repeat(np.arange(n), 3)
    assert discrete_semantic_entropy(labels) == pytest.approx(math.log(n))
    same_weight = np.full(labels.size, -1.3)
    assert likelihood_semantic_entropy(labels, same_weight) == pytest.approx(math.log(n))


def test_likelihood_semantic_entropy_matches_scipy_on_plain_exponentials():
    labels = np.array([0, 0, 1, 2, 1, 0])
    mean_logprobs = np.array([-0.5, -1.0, -2.0, -0.1, -3.0, -0.7])
    weights = np.array([np.exp(mean_logprobs[labels == c]).sum() for c in range(3)])
    assert likelihood_semantic_entropy(labels, mean_logprobs) == pytest.approx(
        scipy_entropy(weights)
    )
    assert np.exp(cluster_log_probabilities(labels, mean_logprobs)) == pytest.approx(
        weights / weights.sum()
    )


def test_likelihood_semantic_entropy_hand_value():
    # Two clusters of one sample each, mean logprobs ln 0.3 and ln 0.1:
    # p = (0.75, 0.25).
    value = likelihood_semantic_entropy([0, 1], [math.log(0.3), math.log(0.1)])
    assert value == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))


def test_likelihood_semantic_entropy_is_stable_for_very_low_logprobs():
    labels = np.array([0, 1, 1, 2])
    mean_logprobs = np.array([-0.2, -1.0, -0.4, -2.5])
    reference = likelihood_semantic_entropy(labels, mean_logprobs)
    # exp(-2000) underflows to 0 in float64; the normalised result must not change.
    shifted = likelihood_semantic_entropy(labels, mean_logprobs - 2000.0)
    assert math.isfinite(shifted)
    assert shifted == pytest.approx(reference)


def test_duplicates_never_push_a_cluster_probability_past_one():
    # Ten copies of a near-certain answer: Σ exp = 9.9, but p(c) = 1.
    labels = np.zeros(10, dtype=int)
    mean_logprobs = np.full(10, -0.01)
    assert np.exp(cluster_log_probabilities(labels, mean_logprobs)) == pytest.approx([1.0])
    assert likelihood_semantic_entropy(labels, mean_logprobs) == 0.0
    # Duplicates in one cluster of two: all probabilities in [0, 1], summing to 1.
    labels = np.array([0, 0, 0, 0, 1])
    p = np.exp(cluster_log_probabilities(labels, np.full(5, -0.05)))
    assert np.all(p <= 1.0) and p.sum() == pytest.approx(1.0)
    assert p == pytest.approx([0.8, 0.2])


def test_all_identical_samples_give_zero_entropy():
    texts = ["Paris"] * 6
    embeddings = np.random.default_rng(3).normal(size=(6, 4))  # even if embedded differently
    labels = cluster_by_embedding(embeddings, 0.1, texts)
    assert discrete_semantic_entropy(labels) == 0.0
    assert likelihood_semantic_entropy(labels, np.linspace(-3, -0.1, 6)) == 0.0


def test_one_sample():
    assert discrete_semantic_entropy([0]) == 0.0
    assert likelihood_semantic_entropy([0], [-1.7]) == 0.0
    assert naive_predictive_entropy([-1.7]) == pytest.approx(1.7)


def test_no_samples_give_nan_never_zero():
    assert math.isnan(discrete_semantic_entropy([]))
    assert math.isnan(likelihood_semantic_entropy([], []))
    assert math.isnan(naive_predictive_entropy([]))
    summary = uncertainty_summary([], [])
    assert summary["n_samples"] == 0 and summary["n_clusters"] == 0
    for key in ("discrete_semantic_entropy", "likelihood_semantic_entropy", "naive_predictive_entropy"):
        assert math.isnan(summary[key])


def test_nan_mean_logprob_propagates():
    assert math.isnan(likelihood_semantic_entropy([0, 1], [-1.0, math.nan]))
    assert math.isnan(naive_predictive_entropy([-1.0, math.nan]))


def test_zero_probability_sample_does_not_count():
    # exp(-inf) = 0: the cluster gets probability 0 and contributes 0 (not NaN).
    assert likelihood_semantic_entropy([0, 1, 2], [-1.0, -1.0, -math.inf]) == pytest.approx(
        math.log(2)
    )
    assert math.isnan(likelihood_semantic_entropy([0, 1], [-math.inf, -math.inf]))


def test_naive_predictive_entropy_hand_value():
    assert naive_predictive_entropy([-1.0, -2.0, -3.0, -6.0]) == pytest.approx(3.0)


@pytest.mark.parametrize("seed", range(5))
def test_entropies_do_not_depend_on_sample_order(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, size=12)
    mean_logprobs = rng.uniform(-4, -0.1, size=12)
    order = rng.permutation(12)
    for metric in (discrete_semantic_entropy,):
        assert metric(labels[order]) == pytest.approx(metric(labels))
    assert likelihood_semantic_entropy(labels[order], mean_logprobs[order]) == pytest.approx(
        likelihood_semantic_entropy(labels, mean_logprobs)
    )
    assert naive_predictive_entropy(mean_logprobs[order]) == pytest.approx(
        naive_predictive_entropy(mean_logprobs)
    )


# --- tables -----------------------------------------------------------------


def test_cluster_table():
    table = cluster_table([0, 0, 1, 0], [math.log(0.1)] * 3 + [math.log(0.5)])
    assert table["size"].tolist() == [3, 1]
    assert table["frequency"].tolist() == pytest.approx([0.75, 0.25])
    # p(0) ∝ 0.1 + 0.1 + 0.5 = 0.7, p(1) ∝ 0.1
    assert table["probability"].tolist() == pytest.approx([0.875, 0.125])


def test_threshold_sweep_agrees_with_clustering_at_each_threshold():
    rng = np.random.default_rng(11)
    embeddings = rng.normal(size=(8, 3))
    texts = [f"s{i}" for i in range(8)]
    mean_logprobs = rng.uniform(-3, -0.2, size=8)
    thresholds = [0.0, 0.2, 0.5, 0.9, 1.3, 2.0]
    sweep = threshold_sweep(embeddings, texts, thresholds, mean_logprobs)
    assert list(sweep.columns) == [
        "threshold", "n_clusters", "discrete_semantic_entropy", "likelihood_semantic_entropy"
    ]
    for row in sweep.itertuples():
        groups = brute_force_average_linkage(embeddings, row.threshold)
        sizes = np.array([len(g) for g in groups])
        assert row.n_clusters == len(groups)
        assert row.discrete_semantic_entropy == pytest.approx(scipy_entropy(sizes))
    # Raising the threshold only merges.
    assert sweep["n_clusters"].is_monotonic_decreasing
    assert sweep["n_clusters"].iloc[0] == 8 and sweep["n_clusters"].iloc[-1] == 1
    assert sweep["likelihood_semantic_entropy"].notna().all()
    assert threshold_sweep(embeddings, texts, thresholds)["likelihood_semantic_entropy"].isna().all()


def test_threshold_sweep_with_no_samples():
    sweep = threshold_sweep(np.zeros((0, 4)), [], [0.1, 0.5])
    assert sweep["n_clusters"].tolist() == [0, 0]
    assert sweep["discrete_semantic_entropy"].isna().all()
