"""Diversity of a set of generated texts (one model's N samples for a prompt,
or all of its samples).

Pure functions over a list of strings and, optionally, an embeddings array
of shape [n_samples, dim]. The samples are an unordered set: every metric
here is invariant to their order.

Missing values are NaN, never 0.0: a metric that is undefined for the input
(no samples, no n-grams, fewer than two samples for a pairwise metric) is NaN.

Tokenisation for the n-gram metrics (distinct-n, n-gram diversity, n-gram
Vendi): ``text.lower().split()``, i.e. lowercase, then split on runs of
whitespace. Punctuation stays attached to its word ("paris." != "paris").
N-grams never cross the boundary between two samples. Self-BLEU does NOT use
this tokenisation: it uses sacrebleu's own defaults (see `self_bleu`).
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Sequence

import numpy as np
import scipy.sparse
from sacrebleu import sentence_bleu

# n-gram diversity sums distinct-n over n = 1..4, as in Shaib et al.
NGRAM_DIVERSITY_MAX_N = 4
# Below this an eigenvalue of K/n is round-off, not signal: eigvalsh returns
# tiny negatives for a rank-deficient PSD matrix.
EIGENVALUE_FLOOR = 1e-12

# The keys of `diversity_summary`, in display order. Stable: pages and stored
# runs use these names.
DIVERSITY_METRICS = (
    "n_samples",
    "distinct_1",
    "distinct_2",
    "distinct_3",
    "ngram_diversity",
    "self_bleu",
    "compression_ratio",
    "mean_pairwise_cosine_distance",
    "vendi_embedding",
    "vendi_ngram",
)


# --- tokens and n-grams -------------------------------------------------------


def tokenize(text: str) -> list[str]:
    """Lowercased whitespace tokens: the tokenisation of every n-gram metric here."""
    return text.lower().split()


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """Contiguous n-grams of one token list (empty when len(tokens) < n)."""
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Unique n-grams / total n-grams, pooled over all samples (in [0, 1]).

    N-grams are counted within each sample (never across two samples). NaN when
    there is no n-gram at all (no samples, or every sample shorter than n tokens).
    """
    pooled = [g for text in texts for g in ngrams(tokenize(text), n)]
    if not pooled:
        return math.nan
    return len(set(pooled)) / len(pooled)


def ngram_diversity(texts: Sequence[str], max_n: int = NGRAM_DIVERSITY_MAX_N) -> float:
    """Σ_{n=1..max_n} distinct-n (in [0, max_n]; Shaib et al.'s n-gram diversity).

    NaN when some order has no n-gram (every sample shorter than max_n tokens):
    a missing term is unknown, and dropping it would make short answers look
    less diverse than long ones.
    """
    return float(sum(distinct_n(texts, n) for n in range(1, max_n + 1)))


# --- self-BLEU and compression ------------------------------------------------


def self_bleu(texts: Sequence[str]) -> float:
    """Mean over samples of sacrebleu's sentence BLEU of one sample (hypothesis)
    against all the others (references). Scale 0-100 as sacrebleu gives it;
    higher means LESS diverse.

    sacrebleu defaults: 13a tokenizer, case-sensitive, exponential smoothing,
    effective n-gram order (so short sentences are not scored 0 outright).
    NaN with fewer than two samples (a sample needs others to be compared to).
    """
    if len(texts) < 2:
        return math.nan
    scores = [
        sentence_bleu(texts[i], [*texts[:i], *texts[i + 1 :]]).score
        for i in range(len(texts))
    ]
    return float(np.mean(scores))


def compression_ratio(texts: Sequence[str]) -> float:
    """UTF-8 bytes of the samples joined by spaces / bytes of their gzip (Shaib et al.).

    Higher means more repetitive, i.e. LESS diverse. The samples are sorted
    before joining: gzip's result depends on the order, and samples are a set,
    so sorting makes the metric independent of sampling order. gzip level 9 and
    mtime 0 (a deterministic 20-byte header, no file name). NaN when the joined
    text is empty.
    """
    raw = " ".join(sorted(texts)).encode("utf-8")
    if not raw:
        return math.nan
    return len(raw) / len(gzip.compress(raw, compresslevel=9, mtime=0))


# --- embeddings ---------------------------------------------------------------


def unit_rows(features: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, shape [n, d + 1].

    A zero row (an empty generation embeds to, or counts to, nothing) has no
    direction, so cosine similarity is undefined for it. Convention: it becomes
    one extra shared axis, so a zero row is identical (similarity 1) to every
    other zero row and orthogonal (similarity 0) to everything else. Doing it
    with an extra column keeps the Gram matrix positive semi-definite, which
    Vendi needs.
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D array [n, d], got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("features contain NaN or inf")
    norms = np.linalg.norm(x, axis=1)
    is_zero = norms == 0.0
    out = np.zeros((x.shape[0], x.shape[1] + 1))
    out[~is_zero, :-1] = x[~is_zero] / norms[~is_zero, None]
    out[is_zero, -1] = 1.0
    return out


def cosine_similarity_matrix(embeddings: np.ndarray) -> np.ndarray:
    """[n, n] cosine similarities of the rows, in [-1, 1] (zero rows: see `unit_rows`)."""
    u = unit_rows(embeddings)
    return np.clip(u @ u.T, -1.0, 1.0)


def mean_pairwise_cosine_distance(embeddings: np.ndarray) -> float:
    """Mean of 1 - cos(e_i, e_j) over unordered pairs i < j (in [0, 2]).

    NaN with fewer than two samples.
    """
    n = np.asarray(embeddings).shape[0]
    if n < 2:
        return math.nan
    upper = np.triu_indices(n, k=1)
    return float(np.mean(1.0 - cosine_similarity_matrix(embeddings)[upper]))


# --- Vendi score --------------------------------------------------------------


def vendi_from_similarity(similarity: np.ndarray) -> float:
    """exp(Shannon entropy, nats, of the eigenvalues of K/n) (Friedman & Dieng).

    K is an [n, n] PSD similarity matrix with ones on the diagonal, so the
    eigenvalues of K/n sum to 1 and form a distribution. The score is an
    effective number of distinct samples: 1 when all are identical, n when
    all are orthogonal. NaN for n = 0.
    """
    k = np.asarray(similarity, dtype=np.float64)
    n = k.shape[0]
    if n == 0:
        return math.nan
    eigenvalues = np.linalg.eigvalsh(k / n)
    # Tiny negatives are round-off of a PSD matrix; 0 log 0 = 0 drops them.
    eigenvalues = eigenvalues[eigenvalues > EIGENVALUE_FLOOR]
    return float(np.exp(-np.sum(eigenvalues * np.log(eigenvalues))))


def vendi_embedding(embeddings: np.ndarray) -> float:
    """Vendi score with K = cosine similarity of the embeddings (in [1, n]).

    Zero-norm embeddings follow `unit_rows`. NaN for n = 0.
    """
    return vendi_from_similarity(cosine_similarity_matrix(embeddings))


def ngram_count_matrix(
    texts: Sequence[str], max_n: int = NGRAM_DIVERSITY_MAX_N
) -> scipy.sparse.csr_matrix:
    """Sparse [n_samples, n_distinct_ngrams] counts of every 1..max_n-gram.

    Sparse because the vocabulary grows with samples × length; a dense matrix
    for a few hundred samples would take hundreds of MB.
    """
    vocabulary: dict[tuple[str, ...], int] = {}
    rows, cols = [], []
    for row, text in enumerate(texts):
        tokens = tokenize(text)
        for n in range(1, max_n + 1):
            for gram in ngrams(tokens, n):
                rows.append(row)
                cols.append(vocabulary.setdefault(gram, len(vocabulary)))
    # Duplicate (row, col) entries are summed, which is what turns them into counts.
    return scipy.sparse.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(vocabulary))
    )


def vendi_ngram(texts: Sequence[str], max_n: int = NGRAM_DIVERSITY_MAX_N) -> float:
    """Vendi score with K = cosine similarity of 1..max_n-gram count vectors.

    An empty sample (no tokens) is a zero vector: identical to other empty
    samples, orthogonal to the rest (see `unit_rows`). NaN for n = 0.
    """
    if len(texts) == 0:
        return math.nan
    counts = ngram_count_matrix(texts, max_n)
    gram = (counts @ counts.T).toarray()
    norms = np.sqrt(np.diag(gram))
    is_zero = norms == 0.0
    safe = np.where(is_zero, 1.0, norms)
    similarity = gram / np.outer(safe, safe)
    # Same zero-row convention as unit_rows, applied to the Gram matrix directly.
    similarity[np.ix_(is_zero, is_zero)] = 1.0
    return vendi_from_similarity(np.clip(similarity, 0.0, 1.0))


# --- one record -----------------------------------------------------------------


def diversity_summary(texts: Sequence[str], embeddings: np.ndarray | None = None) -> dict:
    """Every diversity metric of one set of samples, keyed by DIVERSITY_METRICS.

    Embedding metrics are NaN when no embeddings are given. With no samples
    every metric is NaN (n_samples is 0).
    """
    texts = list(texts)
    if embeddings is not None and np.asarray(embeddings).shape[0] != len(texts):
        raise ValueError(
            f"{len(texts)} texts but {np.asarray(embeddings).shape[0]} embeddings"
        )
    has_embeddings = embeddings is not None and len(texts) > 0
    return {
        "n_samples": len(texts),
        "distinct_1": distinct_n(texts, 1),
        "distinct_2": distinct_n(texts, 2),
        "distinct_3": distinct_n(texts, 3),
        "ngram_diversity": ngram_diversity(texts),
        "self_bleu": self_bleu(texts),
        "compression_ratio": compression_ratio(texts),
        "mean_pairwise_cosine_distance": (
            mean_pairwise_cosine_distance(embeddings) if has_embeddings else math.nan
        ),
        "vendi_embedding": vendi_embedding(embeddings) if has_embeddings else math.nan,
        "vendi_ngram": vendi_ngram(texts),
    }
