"""Uncertainty estimators of one prompt and model beyond semantic entropy: likelihood, lexical and embedding ones.

Each is a pure function of one (prompt, model) group: the reference answer's
logprobs, the N samples' logprobs and texts, or the samples' sentence
embeddings ([N, dim]). Every score here is oriented so that HIGHER MEANS MORE
UNCERTAIN; where a paper's score runs the other way (a probability, a
similarity) the docstring says how it was flipped. Logprobs are in nats, under
the model's untempered distribution, as backend/sampling/sampler.py records
them (total_logprob: sum over the kept tokens, EOS included; mean_logprob: per
token). Missing values are NaN, never 0.0.

The graph-based estimators (EigV, Degree, Eccentricity, kernel language
entropy) are in analysis/uncertainty_graph.py. Number of semantic sets is
`n_clusters` (analysis/uncertainty.py), the length-normalised Monte-Carlo
sequence entropy is `naive_predictive_entropy` there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from analysis.diversity import unit_rows

# Ridge added to a covariance or Gram matrix before its log-determinant: identical samples make it
# singular (log det = -inf). INSIDE (Chen et al. 2024) uses alpha = 1e-3; Semantic Volume uses the same
# here, so both stay finite and keep their order.
EIGENSCORE_ALPHA = 1e-3
VOLUME_RIDGE = 1e-3


# --- the reference answer (white box, one answer) -------------------------------------------------


def reference_nll(total_logprob: float, n_tokens: int) -> float:
    """Maximum sequence probability, flipped: −ln p(y*) of the low-temperature reference answer y*, nats.

    MSP (e.g. Fadeeva et al. 2023, LM-Polygraph's MaximumSequenceProbability) scores
    confidence by p(y* | x) = Π_t p(y*_t | y*_<t, x); −ln of it runs the other way
    (higher = less probable = more uncertain) and is what is stored. NaN for an answer
    with no kept token (its empty sum 0.0 would claim probability 1).
    """
    return float(-total_logprob) if n_tokens > 0 else math.nan


def reference_perplexity(mean_logprob: float) -> float:
    """Perplexity of the reference answer: exp(−(1/L) Σ_t ln p(y*_t | y*_<t, x)).

    L is its number of kept tokens. Already higher = more uncertain. NaN for an answer
    with no tokens (mean_logprob NaN).
    """
    return float(np.exp(-mean_logprob)) if not np.isnan(mean_logprob) else math.nan


# --- Monte-Carlo over the N samples (white box) --------------------------------------------------


def mc_sequence_entropy(total_logprobs: Sequence[float]) -> float:
    """Monte-Carlo sequence entropy: Ĥ = −(1/N) Σ_i ln p(s_i | x), nats (Kuhn et al. 2023's predictive entropy).

    The samples s_i are draws from the model, so the mean of −ln p is an unbiased
    estimate of the entropy of its answer distribution (at temperature 1). The
    length-normalised form, −(1/N) Σ_i (1/L_i) ln p(s_i | x), is `naive_predictive_entropy`
    (analysis/uncertainty.py). NaN with no samples; a NaN logprob propagates.
    """
    values = np.asarray(total_logprobs, dtype=np.float64)
    return float(-np.mean(values)) if values.size else math.nan


# --- lexical (black box) -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _rouge_l():
    # rouge-score's own tokenisation: lowercase, non-alphanumerics become spaces; no stemming.
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def rouge_l(a: str, b: str) -> float:
    """ROUGE-L F1 of two texts (rouge-score); identical texts are 1 (two empty answers included)."""
    if a == b:
        return 1.0
    return float(_rouge_l().score(a, b)["rougeL"].fmeasure)


def lexical_dissimilarity(texts: Sequence[str]) -> float:
    """Lexical similarity (Fomicheva et al. 2020; Lin et al. 2023), flipped: 1 − mean_{i<j} ROUGE-L(s_i, s_j).

    The paper's score is the mean pairwise ROUGE-L F1 of the samples (higher = they agree
    = more confident); 1 minus it is stored, in [0, 1]. 0 when all samples are identical,
    1 when no two share a word. NaN with fewer than two samples (no pair).
    """
    texts = list(texts)
    n = len(texts)
    if n < 2:
        return math.nan
    # Duplicates are common (short factual answers): score each distinct pair once.
    distinct = list(dict.fromkeys(texts))
    index = {t: i for i, t in enumerate(distinct)}
    sim = np.eye(len(distinct))
    for i in range(len(distinct)):
        for j in range(i + 1, len(distinct)):
            sim[i, j] = sim[j, i] = rouge_l(distinct[i], distinct[j])
    ids = np.array([index[t] for t in texts])
    pairs = sim[np.ix_(ids, ids)][np.triu_indices(n, k=1)]
    return float(1.0 - pairs.mean())


# --- embeddings (the samples' sentence embeddings) -----------------------------------------------


def eigenscore(embeddings: np.ndarray, alpha: float = EIGENSCORE_ALPHA) -> float:
    """EigenScore (Chen et al. 2024, "INSIDE"): (1/N) Σ_i ln λ_i(Σ + αI) = (1/N) ln det(Σ + αI).

    Z is the [N, d] matrix of the samples' embeddings, Σ = Z J_d Zᵀ with J_d = I_d − (1/d) 1 1ᵀ
    (each embedding centred over its d features, as in the paper), α = 1e-3. Higher = the
    embeddings span more directions = more uncertain (the paper's direction). INSIDE embeds
    with the model's own middle-layer hidden state of the last token; Duet stores sentence-encoder
    embeddings, so this is EigenScore over those. Eigenvalues below the floor count as 1e-10
    (the reference implementation's guard). NaN with no samples.
    """
    z = np.asarray(embeddings, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"expected embeddings [n, dim], got shape {z.shape}")
    n, d = z.shape
    if n == 0:
        return math.nan
    row_sums = z.sum(axis=1)
    covariance = z @ z.T - np.outer(row_sums, row_sums) / d  # Z J_d Zᵀ without the d×d matrix
    eigenvalues = np.linalg.eigvalsh(covariance + alpha * np.eye(n))
    return float(np.mean(np.log(np.maximum(eigenvalues, 1e-10))))


def semantic_volume(embeddings: np.ndarray, ridge: float = VOLUME_RIDGE) -> float:
    """Semantic Volume: ln det(G + εI), G = V Vᵀ the Gram matrix of the unit-normalised embeddings.

    From "Semantic Volume: Quantifying and Detecting both External and Internal Uncertainty
    in LLMs" (2025), applied to the N sampled answers.

    det G is the squared volume of the parallelotope the N unit vectors span (so ½ ln det G
    is its log volume; the factor does not change any ranking). ε = 1e-3 keeps identical
    samples (G singular) finite: all identical gives ln(N + ε) + (N − 1) ln ε, the least
    uncertain value; N orthogonal answers give N ln(1 + ε) ≈ 0, the most (Hadamard: det G ≤ 1
    for unit rows). Higher = more spread = more uncertain (the paper's direction). Zero rows
    (empty answers) follow analysis.diversity.unit_rows. NaN with no samples.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected embeddings [n, dim], got shape {x.shape}")
    if x.shape[0] == 0:
        return math.nan
    v = unit_rows(x)
    sign, logdet = np.linalg.slogdet(v @ v.T + ridge * np.eye(v.shape[0]))
    return float(logdet) if sign > 0 else math.nan
