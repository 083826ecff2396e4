"""Graph-based uncertainty of N sampled answers from a similarity matrix W: EigV, Degree, Eccentricity, KLE, Inv-Entropy.

W is an [N, N] symmetric matrix of similarities in [0, 1] with ones on the
diagonal (an answer is fully similar to itself). Two ways to build it:
`entailment_similarity` (NLI entailment probabilities, symmetrised, as Lin et
al. 2023 do) and `cosine_similarity_graph` (sentence-embedding cosine,
negatives cut to 0, when no NLI model is chosen). Every score is oriented so
that higher means more uncertain. Entropies are in nats.

Laplacians: EigV and Eccentricity use the symmetric normalised Laplacian
L = I − D^{-1/2} W D^{-1/2} (Lin et al.), kernel language entropy the plain one
L = D − W (Nikitin et al.), with D = diag(Σ_j W_ij) (every degree is >= 1: the
diagonal of W is 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from analysis.diversity import cosine_similarity_matrix

# Lin et al. keep the Laplacian eigenvectors whose eigenvalue is below this for Eccentricity
# (LM-Polygraph's default too): the "informative" smooth directions of the graph.
ECCENTRICITY_THRESHOLD = 0.9
# Heat-kernel time of kernel language entropy: Nikitin et al.'s default (and LM-Polygraph's).
KLE_TIME = 0.3
# Below this an eigenvalue of a unit-trace kernel is round-off: 0 log 0 = 0 drops it.
EIGENVALUE_FLOOR = 1e-12


# --- building W ------------------------------------------------------------------------------------


def entailment_similarity(texts: Sequence[str], entail_prob: Callable[[str, str], float],
                          prompt: str | None = None) -> np.ndarray:
    """W_ij = (p(s_i ⇒ s_j) + p(s_j ⇒ s_i)) / 2 from an NLI model's entailment probabilities (Lin et al. 2023).

    entail_prob(premise, hypothesis): the probability of the entailment class. Identical
    answers get 1 without asking (as cluster_by_entailment treats them). prompt: when
    given, each side is "prompt answer", as in Farquhar et al.'s condition_on_question.
    """
    def with_prompt(text: str) -> str:
        return text if prompt is None else f"{prompt} {text}"

    distinct = list(dict.fromkeys(texts))
    m = len(distinct)
    sim = np.eye(m)
    for i in range(m):
        for j in range(i + 1, m):
            a, b = with_prompt(distinct[i]), with_prompt(distinct[j])
            sim[i, j] = sim[j, i] = (float(entail_prob(a, b)) + float(entail_prob(b, a))) / 2.0
    index = {t: i for i, t in enumerate(distinct)}
    ids = np.array([index[t] for t in texts], dtype=np.int64)
    return sim[np.ix_(ids, ids)]


def cosine_similarity_graph(embeddings: np.ndarray) -> np.ndarray:
    """W_ij = max(0, cos(e_i, e_j)): a non-negative affinity from sentence embeddings.

    Negative cosines (rare for sentence encoders) become 0: a graph weight cannot be
    negative. Zero rows (empty answers) follow analysis.diversity.unit_rows.
    """
    w = np.clip(cosine_similarity_matrix(embeddings), 0.0, 1.0)
    np.fill_diagonal(w, 1.0)
    return w


def _check(w: np.ndarray) -> np.ndarray:
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(f"a similarity matrix is square, got shape {w.shape}")
    if not np.allclose(w, w.T, atol=1e-9):
        raise ValueError("the similarity matrix must be symmetric (symmetrise NLI probabilities first)")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("similarities must be finite and >= 0")
    return (w + w.T) / 2.0


def normalised_laplacian(w: np.ndarray) -> np.ndarray:
    """L = I − D^{-1/2} W D^{-1/2}; its eigenvalues lie in [0, 2]."""
    w = _check(w)
    inv_sqrt = 1.0 / np.sqrt(w.sum(axis=1))
    return np.eye(w.shape[0]) - inv_sqrt[:, None] * w * inv_sqrt[None, :]


# --- Lin et al. 2023, "Generating with Confidence" -------------------------------------------------------


def eigv(w: np.ndarray) -> float:
    """EigV: U = Σ_k max(0, 1 − λ_k) over the eigenvalues λ_k of the normalised Laplacian.

    A continuous number of semantic sets: 1 when all answers agree (W all ones), N when
    none do (W = I). NaN for N = 0; 1 for N = 1.
    """
    w = np.asarray(w, dtype=np.float64)
    if w.shape[0] == 0:
        return math.nan
    eigenvalues = np.linalg.eigvalsh(normalised_laplacian(w))
    return float(np.sum(np.maximum(0.0, 1.0 - eigenvalues)))


def degree(w: np.ndarray) -> float:
    """Degree: U = trace(N·I − D) / N² = 1 − mean_ij W_ij, in [0, 1).

    0 when all answers agree; 1 − 1/N when none do. NaN for N = 0; 0 for N = 1.
    """
    w = _check(w)
    n = w.shape[0]
    if n == 0:
        return math.nan
    return float(np.trace(n * np.eye(n) - np.diag(w.sum(axis=1))) / n**2)


def eccentricity(w: np.ndarray, threshold: float = ECCENTRICITY_THRESHOLD) -> float:
    """Eccentricity: U = ‖[v'_1, …, v'_N]‖_F, the spread of the answers' spectral embeddings.

    v_j ∈ R^k is answer j's row of the k eigenvectors of the normalised Laplacian whose
    eigenvalue is below `threshold` (0.9); v'_j = v_j − mean_j v_j. 0 when all answers agree
    (only the constant eigenvector is kept); √(N − 1) when none do (W = I: every eigenvector
    kept, an orthogonal basis). The norm does not depend on which basis eigh returns for a
    repeated eigenvalue. NaN for N = 0; 0 for N = 1.
    """
    w = np.asarray(w, dtype=np.float64)
    if w.shape[0] == 0:
        return math.nan
    eigenvalues, vectors = np.linalg.eigh(normalised_laplacian(w))
    kept = vectors[:, eigenvalues < threshold]
    centred = kept - kept.mean(axis=0, keepdims=True)
    return float(np.linalg.norm(centred))


# --- Nikitin et al. 2024, "Kernel Language Entropy" ------------------------------------------------------


def heat_kernel(w: np.ndarray, t: float = KLE_TIME) -> np.ndarray:
    """K_t = exp(−t L), L = D − W, by eigendecomposition (L is symmetric)."""
    w = _check(w)
    laplacian = np.diag(w.sum(axis=1)) - w
    eigenvalues, vectors = np.linalg.eigh(laplacian)
    return (vectors * np.exp(-t * eigenvalues)) @ vectors.T


def von_neumann_entropy(kernel: np.ndarray) -> float:
    """VNE(K) = −tr(ρ ln ρ) = −Σ λ ln λ, ρ = the kernel scaled to unit diagonal, then divided by N (unit trace)."""
    k = np.asarray(kernel, dtype=np.float64)
    n = k.shape[0]
    d = np.sqrt(np.diag(k))
    rho = k / np.outer(d, d) / n
    eigenvalues = np.linalg.eigvalsh((rho + rho.T) / 2.0)
    eigenvalues = eigenvalues[eigenvalues > EIGENVALUE_FLOOR]
    return float(0.0 - np.sum(eigenvalues * np.log(eigenvalues)))


def kernel_language_entropy(w: np.ndarray, t: float = KLE_TIME) -> float:
    """KLE = VNE(K_t): von Neumann entropy (nats) of the heat kernel over the semantic graph, t = 0.3.

    ln N when no two answers are similar (W = I: K = I, ρ = I/N). When all agree (W all
    ones) it is not 0 but the entropy of ρ's eigenvalues 1/(N·d) and e^{−tN}/(N·d) (N − 1
    times), d = 1/N + e^{−tN}(N − 1)/N: the heat kernel at finite t never fully merges the
    answers. Nikitin et al. weight W by NLI classes; here it is the same W as the other graph
    estimators. NaN for N = 0; 0 for N = 1.
    """
    w = np.asarray(w, dtype=np.float64)
    if w.shape[0] == 0:
        return math.nan
    return von_neumann_entropy(heat_kernel(w, t))


# --- Inv-Entropy (not shown on the page: see the docstring) ------------------------------------------------


def inv_entropy(input_similarity: np.ndarray, output_similarity: np.ndarray) -> float:
    """Inv-Entropy, nats: −Σ_i p(x_i | y_i) ln p(x_i | y_i) of the inverse model.

    From "Inv-Entropy: A Fully Probabilistic Framework for Uncertainty Quantification in
    Language Models" (2025).

    The paper pairs n PERTURBED inputs x_i (paraphrases of the question) with their answers
    y_i, and models each side as a random walk whose transitions are the row-normalised
    similarities: P_x = rownorm(S_x), P_y = rownorm(S_y). The inverse model is
    p(x | y) = [P_y P_x] (walk among answers, then to an input); Inv-Entropy sums the
    entropy terms of each answer's own input, as the authors' released code does.

    Duet samples N answers to ONE input, so S_x is all ones, P_x = 11ᵀ/N, P_y P_x = 11ᵀ/N
    whatever the answers, and Inv-Entropy is ln N for every prompt: it needs perturbed
    prompts (the paper's GAAP or paraphrases) and one answer per perturbation, which the
    sampler does not make. Hence it is implemented and tested, but not a page metric.
    """
    sx = np.asarray(input_similarity, dtype=np.float64)
    sy = np.asarray(output_similarity, dtype=np.float64)
    if sx.shape != sy.shape or sx.ndim != 2 or sx.shape[0] != sx.shape[1]:
        raise ValueError(f"two square similarity matrices of one size, got {sx.shape} and {sy.shape}")
    if sx.shape[0] == 0:
        return math.nan
    px = sx / sx.sum(axis=1, keepdims=True)
    py = sy / sy.sum(axis=1, keepdims=True)
    p = np.diag(py @ px)
    p = p[p > 0]
    return float(0.0 - np.sum(p * np.log(p)))
