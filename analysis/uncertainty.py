"""Semantic-entropy uncertainty of a set of sampled answers (Kuhn et al. 2023;
Farquhar et al., Nature 2024).

Samples of one prompt from one model are grouped into meaning clusters (by
embedding distance, of the whole answers or of the part of each answer that is
its own (analysis/answer_text.py), or by bidirectional entailment), then scored. Entropies are
in nats. Missing values are NaN, never 0.0: with no samples an entropy is NaN
(0.0 would claim certainty).

Labels are int arrays of shape [n_samples], numbered 0.. in order of first
appearance. mean_logprobs are float arrays of shape [n_samples]: each sample's
length-normalised logprob (mean token logprob, nats per token, under the
model's untempered distribution).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from scipy.special import logsumexp

from analysis.diversity import cosine_similarity_matrix  # one zero-row convention for both modules

# Cosine distance 0.25 = similarity 0.75, sentence-transformers' default
# "same topic" threshold (util.community_detection) for MiniLM embeddings.
DEFAULT_DISTANCE_THRESHOLD = 0.25
# For embeddings of analysis.answer_text.answer_parts (the part of each answer that is its own, with
# its must_differ pairs kept apart): chosen on half of the labelled pairs in
# tests/data/answer_pairs.jsonl (bench/clustering_accuracy.py; its README has the table).
DEFAULT_ANSWER_THRESHOLD = 0.26
# The distance given to pairs that must stay apart: the largest cosine distance, so no threshold
# up to the sweep's 1.0 merges them (average linkage averages it with the other members' distances).
APART_DISTANCE = 2.0
# Cosine distance spans [0, 2]; past 1 (orthogonal) everything merges anyway.
DEFAULT_SWEEP_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(0, 21))

# The keys of `uncertainty_summary`, in column order (a count, then the metrics). What each metric
# means (label, unit, help) is declared once, in analysis/metrics.py; n_samples is a count, not a metric.
UNCERTAINTY_METRICS = (
    "n_samples",
    "n_clusters",
    "discrete_semantic_entropy",
    "likelihood_semantic_entropy",
    "naive_predictive_entropy",
)


# --- labels -------------------------------------------------------------------


def renumber_by_first_appearance(labels: Sequence[int]) -> np.ndarray:
    """Relabel so the first sample is cluster 0, the next new cluster 1, ..."""
    mapping: dict[int, int] = {}
    return np.array(
        [mapping.setdefault(label, len(mapping)) for label in labels], dtype=np.int64
    )


def _first_occurrences(texts: Sequence[str]) -> tuple[list[int], np.ndarray]:
    """Index of each distinct string's first occurrence, and for every sample
    the position of its string among those distinct strings."""
    position: dict[str, int] = {}
    firsts: list[int] = []
    inverse = []
    for i, text in enumerate(texts):
        if text not in position:
            position[text] = len(firsts)
            firsts.append(i)
        inverse.append(position[text])
    return firsts, np.array(inverse, dtype=np.int64)


# --- clustering by embeddings -------------------------------------------------


def _mean_direction(embeddings: np.ndarray, inverse: np.ndarray, n_distinct: int) -> np.ndarray:
    """[n_distinct, dim] mean unit vector of each distinct string's samples.

    A deterministic embedder gives duplicates the same vector, but averaging
    (instead of keeping the first) keeps the result independent of sample
    order even when it does not. Zero rows stay zero (see unit_rows).
    """
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    directions = embeddings / np.where(norms == 0.0, 1.0, norms)
    sums = np.zeros((n_distinct, embeddings.shape[1]))
    np.add.at(sums, inverse, directions)
    return sums / np.bincount(inverse, minlength=n_distinct)[:, None]


def _average_linkage(embeddings: np.ndarray, texts: Sequence[str], apart=None):
    """Linkage tree over the distinct strings, and the map sample -> distinct string.

    Identical strings are merged before clustering (into their mean direction)
    so that they share a cluster at any threshold, whatever their embeddings.
    apart: optional [n_samples, n_samples] bools; True pairs get APART_DISTANCE.
    The tree is None when there are fewer than two distinct strings.
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2 or embeddings.shape[0] != len(texts):
        raise ValueError(
            f"embeddings of shape {embeddings.shape} do not match {len(texts)} texts"
        )
    firsts, inverse = _first_occurrences(texts)
    if len(firsts) < 2:
        return None, inverse
    distance = 1.0 - cosine_similarity_matrix(_mean_direction(embeddings, inverse, len(firsts)))
    # Round-off leaves ~1e-16 asymmetries and negatives that squareform rejects.
    distance = np.clip((distance + distance.T) / 2.0, 0.0, 2.0)
    if apart is not None:
        apart = np.asarray(apart, dtype=bool)
        if apart.shape != (len(texts), len(texts)):
            raise ValueError(f"apart of shape {apart.shape} does not match {len(texts)} texts")
        # Identical strings have identical answer parts, so any sample of a string stands for all.
        keep = apart[np.ix_(firsts, firsts)]
        distance = np.where(keep | keep.T, APART_DISTANCE, distance)
    np.fill_diagonal(distance, 0.0)
    # Average linkage (UPGMA): two clusters merge when the MEAN distance between
    # their members is under the threshold. Single linkage would chain A~B~C
    # into one meaning even when A and C are far apart; complete linkage lets
    # one outlier split a meaning; ward/centroid assume Euclidean geometry,
    # which cosine distance is not. Average linkage also never inverts, so
    # cutting the tree at a height is the same as stopping merges there.
    tree = linkage(squareform(distance, checks=False), method="average")
    return tree, inverse


def _cut(tree, inverse: np.ndarray, threshold: float) -> np.ndarray:
    """Labels of every sample when the tree is cut at a cosine-distance threshold."""
    if tree is None:
        distinct_labels = np.zeros(inverse.max() + 1 if inverse.size else 0, dtype=np.int64)
    else:
        # criterion="distance": members of a flat cluster were merged at height <= threshold.
        distinct_labels = fcluster(tree, t=threshold, criterion="distance")
    return renumber_by_first_appearance(distinct_labels[inverse])


def cluster_by_embedding(
    embeddings: np.ndarray, threshold: float, texts: Sequence[str], apart=None
) -> np.ndarray:
    """Meaning clusters of samples from their embeddings.

    embeddings: [n_samples, dim], any scale (rows are normalised here).
    threshold: cosine distance (1 - cosine similarity, in [0, 2]); clusters
        whose average pairwise distance is <= threshold are merged
        (DEFAULT_DISTANCE_THRESHOLD is a reasonable start for MiniLM).
    texts: the n_samples generated strings; identical strings always share a
        cluster. An all-zero embedding (an empty generation) is identical to
        other zero embeddings and orthogonal (distance 1) to everything else.
    apart: optional [n_samples, n_samples] bools, True where two samples can
        never mean the same (analysis.answer_text.must_differ): their distance
        is APART_DISTANCE, so they are merged only inside a cluster whose
        average distance stays under the threshold, which at thresholds < 2
        with two members never happens. Identical strings still share a cluster.
    Returns int labels [n_samples], 0.. in order of first appearance; empty
    for n = 0, [0] for n = 1.
    """
    if threshold < 0:
        raise ValueError(f"threshold is a cosine distance >= 0, got {threshold}")
    tree, inverse = _average_linkage(embeddings, texts, apart)
    return _cut(tree, inverse, threshold)


# --- clustering by entailment -------------------------------------------------


def cluster_by_entailment(
    texts: Sequence[str],
    entails: Callable[[str, str], bool],
    prompt: str | None = None,
) -> np.ndarray:
    """Meaning clusters by strict bidirectional entailment (Farquhar et al. 2024).

    Greedy, in sample order: a sample joins the first existing cluster whose
    FIRST member it entails and is entailed by (both directions must be
    entailment: neutral does not count); otherwise it starts a new cluster.
    Comparing with the first member only keeps it to O(n · clusters) NLI calls.
    Identical strings always share a cluster and are not sent to `entails`.

    entails(premise, hypothesis) -> True when the premise entails the
        hypothesis; the NLI model behind it is the backend's business.
    prompt: when given, "prompt text" (joined by one space) is what both sides
        of every entailment call see, as in Farquhar et al.'s condition_on_question.
    Returns int labels [n_samples], 0.. in order of first appearance.
    """
    def with_prompt(text: str) -> str:
        return text if prompt is None else f"{prompt} {text}"

    label_of_text: dict[str, int] = {}
    first_members: list[str] = []
    labels = []
    for text in texts:
        if text not in label_of_text:
            label_of_text[text] = _find_equivalent(with_prompt(text), first_members, entails)
            if label_of_text[text] == len(first_members):
                first_members.append(with_prompt(text))
        labels.append(label_of_text[text])
    return np.array(labels, dtype=np.int64)


def _find_equivalent(
    text: str, first_members: list[str], entails: Callable[[str, str], bool]
) -> int:
    """Index of the first cluster equivalent to text, or len(first_members) for a new one."""
    for label, member in enumerate(first_members):
        # `and` short-circuits: the reverse call is skipped when the first fails.
        if entails(member, text) and entails(text, member):
            return label
    return len(first_members)


# --- entropies ----------------------------------------------------------------


def _entropy_from_log_probabilities(log_p: np.ndarray) -> float:
    """-Σ p log p in nats; terms with p = 0 (log p = -inf) contribute 0."""
    log_p = log_p[log_p > -np.inf]
    return float(0.0 - np.sum(np.exp(log_p) * log_p))  # 0.0 - x: no "-0.0" on display


def discrete_semantic_entropy(labels: Sequence[int]) -> float:
    """Entropy (nats) of the cluster frequencies: -Σ_c (n_c/n) log(n_c/n).

    0 when every sample is in one cluster, log k for k equally frequent
    clusters. NaN with no samples (never 0).
    """
    labels = np.asarray(labels)
    if labels.size == 0:
        return math.nan
    _, counts = np.unique(labels, return_counts=True)
    return _entropy_from_log_probabilities(np.log(counts) - np.log(labels.size))


def cluster_log_probabilities(labels: Sequence[int], mean_logprobs: Sequence[float]) -> np.ndarray:
    """log p(c) for each cluster label 0..max(labels), shape [n_clusters].

    p(c) ∝ Σ_{i in c} exp(mean_logprob_i), normalised over clusters, so p(c)
    <= 1 however many duplicate samples a cluster holds. Computed with
    log-sum-exp: mean logprobs of -50 nats would underflow exp's sum otherwise.
    All NaN when there are no samples, when any mean logprob is NaN, or when
    every sample has probability 0 (all -inf).
    """
    labels = np.asarray(labels, dtype=np.int64)
    log_w = np.asarray(mean_logprobs, dtype=np.float64)
    if labels.shape != log_w.shape:
        raise ValueError(f"{labels.shape} labels but {log_w.shape} mean logprobs")
    n_clusters = int(labels.max()) + 1 if labels.size else 0
    if labels.size == 0 or np.isnan(log_w).any() or np.all(log_w == -np.inf):
        return np.full(n_clusters, np.nan)
    per_cluster = np.array(
        [logsumexp(log_w[labels == c]) if np.any(labels == c) else -np.inf
         for c in range(n_clusters)]
    )
    return per_cluster - logsumexp(per_cluster)


def likelihood_semantic_entropy(labels: Sequence[int], mean_logprobs: Sequence[float]) -> float:
    """-Σ_c p(c) log p(c) in nats, p(c) from `cluster_log_probabilities`.

    NaN with no samples, or when a mean logprob is NaN (never 0).
    """
    log_p = cluster_log_probabilities(labels, mean_logprobs)
    if log_p.size == 0 or np.isnan(log_p).any():
        return math.nan
    return _entropy_from_log_probabilities(log_p)


def naive_predictive_entropy(mean_logprobs: Sequence[float]) -> float:
    """-mean of the samples' length-normalised logprobs, nats per token.

    The baseline that ignores meaning. NaN with no samples (never 0); a NaN
    mean logprob propagates.
    """
    values = np.asarray(mean_logprobs, dtype=np.float64)
    if values.size == 0:
        return math.nan
    return float(-np.mean(values))


# --- tables for the page --------------------------------------------------------


def cluster_table(labels: Sequence[int], mean_logprobs: Sequence[float]) -> pd.DataFrame:
    """One row per cluster: cluster, size, frequency (size/n), probability (p(c)).

    probability follows `cluster_log_probabilities` (NaN where it is undefined).
    """
    labels = np.asarray(labels, dtype=np.int64)
    n_clusters = int(labels.max()) + 1 if labels.size else 0
    sizes = np.bincount(labels, minlength=n_clusters) if labels.size else np.zeros(0, int)
    return pd.DataFrame(
        {
            "cluster": np.arange(n_clusters, dtype=np.int64),
            "size": sizes.astype(np.int64),
            "frequency": sizes / labels.size if labels.size else np.zeros(0),
            "probability": np.exp(cluster_log_probabilities(labels, mean_logprobs)),
        }
    )


def uncertainty_summary(labels: Sequence[int], mean_logprobs: Sequence[float]) -> dict:
    """Every uncertainty metric of one prompt and model, keyed by UNCERTAINTY_METRICS."""
    labels = np.asarray(labels, dtype=np.int64)
    return {
        "n_samples": int(labels.size),
        "n_clusters": int(np.unique(labels).size),
        "discrete_semantic_entropy": discrete_semantic_entropy(labels),
        "likelihood_semantic_entropy": likelihood_semantic_entropy(labels, mean_logprobs),
        "naive_predictive_entropy": naive_predictive_entropy(mean_logprobs),
    }


def threshold_sweep(
    embeddings: np.ndarray,
    texts: Sequence[str],
    thresholds: Sequence[float] = DEFAULT_SWEEP_THRESHOLDS,
    mean_logprobs: Sequence[float] | None = None,
    apart=None,
) -> pd.DataFrame:
    """How the embedding clusters change with the threshold: one row per threshold.

    Columns: threshold (cosine distance), n_clusters, discrete_semantic_entropy
    (nats), likelihood_semantic_entropy (nats; NaN when mean_logprobs is None).
    The tree is built once and cut at every threshold, so the rows are
    consistent with each other and with `cluster_by_embedding` (apart as there).
    """
    tree, inverse = _average_linkage(embeddings, texts, apart)
    rows = []
    for threshold in thresholds:
        labels = _cut(tree, inverse, threshold)
        rows.append(
            {
                "threshold": float(threshold),
                "n_clusters": int(np.unique(labels).size),
                "discrete_semantic_entropy": discrete_semantic_entropy(labels),
                "likelihood_semantic_entropy": (
                    math.nan
                    if mean_logprobs is None
                    else likelihood_semantic_entropy(labels, mean_logprobs)
                ),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "threshold",
            "n_clusters",
            "discrete_semantic_entropy",
            "likelihood_semantic_entropy",
        ],
    )
