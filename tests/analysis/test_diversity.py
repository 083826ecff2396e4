"""Diversity metrics against hand-computed values, sacrebleu called directly,
a hand-written BLEU, scipy's pdist, an independent eigen-decomposition for
Vendi, degenerate inputs and order invariance."""

import gzip
import io
import math
from collections import Counter

import numpy as np
import pytest
from sacrebleu import corpus_bleu, sentence_bleu
from scipy.spatial.distance import pdist

from analysis.diversity import (
    DIVERSITY_METRICS,
    compression_ratio,
    distinct_n,
    diversity_summary,
    mean_pairwise_cosine_distance,
    ngram_diversity,
    self_bleu,
    vendi_embedding,
    vendi_ngram,
)

SAMPLES = [
    "The capital of France is Paris .",
    "Paris is the capital of France .",
    "I think it is Paris , the capital .",
    "the capital of france is paris .",
    "Lyon is a large city in France .",
]


# --- distinct-n and n-gram diversity ------------------------------------------


def test_distinct_n_hand_values():
    texts = ["the cat sat", "The cat ran"]
    # unigrams: the cat sat the cat ran -> 4 unique / 6 (lowercased)
    assert distinct_n(texts, 1) == pytest.approx(4 / 6)
    # bigrams: (the cat) (cat sat) (the cat) (cat ran) -> 3 / 4
    assert distinct_n(texts, 2) == pytest.approx(3 / 4)
    # trigrams never cross samples: 2 / 2
    assert distinct_n(texts, 3) == pytest.approx(1.0)
    # no 4-gram at all: undefined, not 0
    assert math.isnan(distinct_n(texts, 4))


def test_whitespace_tokenisation_keeps_punctuation_on_words():
    # "paris." and "paris" are different tokens; runs of whitespace split once.
    assert distinct_n(["Paris.  paris\n PARIS"], 1) == pytest.approx(2 / 3)


def test_ngram_diversity_hand_value():
    texts = ["a b c d", "a b c e"]
    # n=1: 5/8, n=2: 4/6, n=3: 3/4, n=4: 2/2
    assert ngram_diversity(texts) == pytest.approx(5 / 8 + 4 / 6 + 3 / 4 + 1.0)


def test_ngram_diversity_is_nan_when_an_order_has_no_ngrams():
    assert math.isnan(ngram_diversity(["a b c", "d e"]))


def test_all_identical_samples_distinct_is_unique_over_total():
    texts = ["one two three"] * 4
    assert distinct_n(texts, 1) == pytest.approx(3 / 12)
    assert distinct_n(texts, 2) == pytest.approx(2 / 8)
    assert distinct_n(texts, 3) == pytest.approx(1 / 4)


def test_empty_strings_contribute_no_ngrams():
    assert distinct_n(["", "a b", ""], 1) == pytest.approx(1.0)
    assert math.isnan(distinct_n(["", "   "], 1))
    assert math.isnan(distinct_n([], 1))


# --- self-BLEU ------------------------------------------------------------------


def hand_bleu(hypothesis, references, max_n=4):
    """BLEU from its definition for space-separated, punctuation-free text,
    where every n-gram order has at least one match (no smoothing needed)."""
    hyp = hypothesis.split()
    refs = [r.split() for r in references]

    def counts(tokens, n):
        return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))

    log_precisions = []
    for n in range(1, max_n + 1):
        hyp_counts = counts(hyp, n)
        max_ref = Counter()
        for ref in refs:
            max_ref |= counts(ref, n)  # elementwise max over references
        clipped = sum(min(c, max_ref[g]) for g, c in hyp_counts.items())
        log_precisions.append(math.log(clipped / sum(hyp_counts.values())))
    # Closest reference length, shorter one on ties.
    ref_len = min((abs(len(r) - len(hyp)), len(r)) for r in refs)[1]
    brevity = 1.0 if len(hyp) > ref_len else math.exp(1 - ref_len / len(hyp))
    return 100 * brevity * math.exp(sum(log_precisions) / max_n)


def test_self_bleu_against_hand_bleu():
    texts = [
        "the quick brown fox jumps over the lazy dog",
        "the quick brown fox leaps over the lazy dog",
        "a quick brown fox jumps over a lazy dog today",
    ]
    expected = np.mean(
        [hand_bleu(texts[i], [t for j, t in enumerate(texts) if j != i]) for i in range(3)]
    )
    assert self_bleu(texts) == pytest.approx(expected, rel=1e-9)


def test_self_bleu_against_sacrebleu_corpus_level():
    # A one-sentence corpus with all n-gram orders matched: corpus BLEU equals
    # the sentence BLEU (smoothing and effective order play no part).
    texts = [
        "the quick brown fox jumps over the lazy dog",
        "the quick brown fox leaps over the lazy dog",
        "a quick brown fox jumps over a lazy dog today",
        "the quick brown cat jumps over the lazy dog",
    ]
    per_sample = []
    for i, hypothesis in enumerate(texts):
        others = [t for j, t in enumerate(texts) if j != i]
        per_sample.append(corpus_bleu([hypothesis], [[o] for o in others]).score)
    assert self_bleu(texts) == pytest.approx(np.mean(per_sample), rel=1e-9)


def test_self_bleu_uses_sentence_bleu_defaults_on_short_answers():
    # Short answers with punctuation exercise tokenisation and smoothing.
    i_th = [sentence_bleu(SAMPLES[i], SAMPLES[:i] + SAMPLES[i + 1 :]).score for i in range(5)]
    assert self_bleu(SAMPLES) == pytest.approx(sum(i_th) / 5)


def test_self_bleu_degenerate_cases():
    assert self_bleu(["same answer here"] * 3) == pytest.approx(100.0)
    assert math.isnan(self_bleu(["only one"]))
    assert math.isnan(self_bleu([]))
    # Empty hypotheses score 0 against anything: the mean counts them.
    assert self_bleu(["", "a b c d", "a b c d"]) == pytest.approx((0 + 100 + 100) / 3)


# --- compression ratio ------------------------------------------------------------


def shaib_style_ratio(texts):
    """Shaib et al.'s recipe written out: gzip through a file object."""
    raw = " ".join(sorted(texts)).encode("utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9, mtime=0) as f:
        f.write(raw)
    return len(raw) / len(buffer.getvalue())


def test_compression_ratio_against_file_object_gzip():
    assert compression_ratio(SAMPLES) == pytest.approx(shaib_style_ratio(SAMPLES))


def test_compression_ratio_hand_bytes():
    texts = ["ab", "cd"]
    # "ab cd" = 5 bytes; 20-byte gzip header/trailer + deflate of 5 literals.
    compressed = len(gzip.compress(b"ab cd", mtime=0))
    assert compression_ratio(texts) == pytest.approx(5 / compressed)
    assert compression_ratio(["é"]) == pytest.approx(2 / len(gzip.compress("é".encode(), mtime=0)))


def test_repetition_compresses_better():
    repetitive = ["the answer is paris"] * 10
    varied = [f"answer number {i} mentions {w}" for i, w in enumerate("abcdefghij")]
    assert compression_ratio(repetitive) > compression_ratio(varied)


def test_compression_ratio_of_nothing_is_nan():
    assert math.isnan(compression_ratio([]))
    assert math.isnan(compression_ratio([""]))


# --- embeddings ---------------------------------------------------------------


def test_mean_pairwise_cosine_distance_matches_scipy():
    embeddings = np.random.default_rng(0).normal(size=(7, 5))
    assert mean_pairwise_cosine_distance(embeddings) == pytest.approx(
        pdist(embeddings, metric="cosine").mean()
    )


def test_mean_pairwise_cosine_distance_hand_values():
    # Pairs: (x, y) 1, (x, -x) 2, (y, -x) 1 -> mean 4/3; scale is ignored.
    embeddings = np.array([[1.0, 0], [0, 3], [-2, 0]])
    assert mean_pairwise_cosine_distance(embeddings) == pytest.approx(4 / 3)
    assert mean_pairwise_cosine_distance(np.ones((4, 3))) == pytest.approx(0.0)
    assert math.isnan(mean_pairwise_cosine_distance(np.ones((1, 3))))
    assert math.isnan(mean_pairwise_cosine_distance(np.zeros((0, 3))))


def test_zero_embeddings_are_orthogonal_to_others_and_equal_to_each_other():
    embeddings = np.array([[1.0, 0], [0, 0], [0, 0]])
    # distances: (e, 0) 1, (e, 0) 1, (0, 0) 0
    assert mean_pairwise_cosine_distance(embeddings) == pytest.approx(2 / 3)
    assert vendi_embedding(embeddings) == pytest.approx(
        vendi_via_eig(np.array([[1.0, 0, 0], [0, 1, 1], [0, 1, 1]]))
    )


# --- Vendi ----------------------------------------------------------------------


def vendi_via_svd(features):
    """Eigenvalues of K/n from the singular values of the normalised features:
    K = X X^T, so eig(K/n) = s^2 / n."""
    x = features / np.linalg.norm(features, axis=1, keepdims=True)
    s = np.linalg.svd(x, compute_uv=False)
    lam = s**2 / len(x)
    lam = lam[lam > 1e-15]
    return math.exp(-sum(l * math.log(l) for l in lam))


def vendi_via_eig(similarity):
    """exp(entropy) of the eigenvalues of K/n, with the general (non-symmetric) solver."""
    lam = np.linalg.eig(similarity / len(similarity))[0].real
    lam = lam[lam > 1e-12]
    return float(np.exp(-(lam * np.log(lam)).sum()))


@pytest.mark.parametrize("shape", [(5, 8), (12, 4), (3, 3)])
def test_vendi_embedding_against_svd(shape):
    embeddings = np.random.default_rng(sum(shape)).normal(size=shape)
    assert vendi_embedding(embeddings) == pytest.approx(vendi_via_svd(embeddings), rel=1e-9)


def test_vendi_hand_values():
    assert vendi_embedding(np.tile([0.3, -1.2, 2.0], (6, 1))) == pytest.approx(1.0)
    assert vendi_embedding(np.eye(4) * 5) == pytest.approx(4.0)
    # Two identical and one orthogonal: eigenvalues of K/3 are 2/3 and 1/3.
    expected = math.exp(-(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3)))
    assert vendi_embedding(np.array([[1.0, 0], [2, 0], [0, 1]])) == pytest.approx(expected)
    assert vendi_embedding(np.ones((1, 4))) == pytest.approx(1.0)
    assert math.isnan(vendi_embedding(np.zeros((0, 4))))


def ngram_count_vectors(texts, max_n=4):
    """Dense count vectors of 1..4-grams, built independently of the module."""
    bags = []
    for text in texts:
        words = text.lower().split()
        bags.append(
            Counter(" ".join(words[i : i + n]) + f"/{n}" for n in range(1, max_n + 1)
                    for i in range(len(words) - n + 1))
        )
    vocabulary = sorted(set().union(*bags))
    return np.array([[bag[g] for g in vocabulary] for bag in bags], dtype=float)


def test_vendi_ngram_against_dense_counts_and_eig():
    counts = ngram_count_vectors(SAMPLES)
    unit = counts / np.linalg.norm(counts, axis=1, keepdims=True)
    assert vendi_ngram(SAMPLES) == pytest.approx(vendi_via_eig(unit @ unit.T), rel=1e-9)
    assert vendi_ngram(SAMPLES) == pytest.approx(vendi_via_svd(counts), rel=1e-9)


def test_vendi_ngram_degenerate_cases():
    assert vendi_ngram(["Same Words here"] * 5) == pytest.approx(1.0)
    # No shared n-gram: orthogonal count vectors.
    assert vendi_ngram(["alpha beta", "gamma", "delta epsilon zeta"]) == pytest.approx(3.0)
    # Empty samples are one "meaning" of their own: like two orthogonal groups.
    expected = math.exp(-2 * (0.5 * math.log(0.5)))
    assert vendi_ngram(["", "x y", "", "x y"]) == pytest.approx(expected)
    assert vendi_ngram([""] * 3) == pytest.approx(1.0)
    assert math.isnan(vendi_ngram([]))


# --- the summary record --------------------------------------------------------

EXPECTED_KEYS = [
    "n_samples", "distinct_1", "distinct_2", "distinct_3", "ngram_diversity", "self_bleu",
    "compression_ratio", "mean_pairwise_cosine_distance", "vendi_embedding", "vendi_ngram",
]


def test_summary_has_stable_keys_and_agrees_with_each_metric():
    embeddings = np.random.default_rng(1).normal(size=(5, 6))
    summary = diversity_summary(SAMPLES, embeddings)
    assert list(summary) == EXPECTED_KEYS == list(DIVERSITY_METRICS)
    assert summary["n_samples"] == 5
    assert summary["distinct_1"] == pytest.approx(distinct_n(SAMPLES, 1))
    assert summary["self_bleu"] == pytest.approx(self_bleu(SAMPLES))
    assert summary["vendi_embedding"] == pytest.approx(vendi_via_svd(embeddings))
    assert summary["mean_pairwise_cosine_distance"] == pytest.approx(
        pdist(embeddings, "cosine").mean()
    )


def test_summary_without_embeddings_has_nan_embedding_metrics():
    summary = diversity_summary(SAMPLES)
    assert list(summary) == EXPECTED_KEYS
    assert math.isnan(summary["vendi_embedding"])
    assert math.isnan(summary["mean_pairwise_cosine_distance"])
    assert not math.isnan(summary["vendi_ngram"])


def test_summary_of_no_samples_is_all_nan():
    summary = diversity_summary([], np.zeros((0, 4)))
    assert summary["n_samples"] == 0
    assert all(math.isnan(summary[k]) for k in EXPECTED_KEYS if k != "n_samples")


def test_summary_of_one_sample():
    summary = diversity_summary(["a single answer here"], np.ones((1, 3)))
    assert math.isnan(summary["self_bleu"])
    assert math.isnan(summary["mean_pairwise_cosine_distance"])
    assert summary["vendi_embedding"] == pytest.approx(1.0)
    assert summary["vendi_ngram"] == pytest.approx(1.0)
    assert summary["distinct_1"] == pytest.approx(1.0)


def test_summary_of_identical_samples():
    summary = diversity_summary(["it is paris"] * 4, np.tile([0.1, 0.9], (4, 1)))
    assert summary["vendi_embedding"] == pytest.approx(1.0)
    assert summary["vendi_ngram"] == pytest.approx(1.0)
    assert summary["self_bleu"] == pytest.approx(100.0)
    assert summary["mean_pairwise_cosine_distance"] == pytest.approx(0.0, abs=1e-12)
    assert summary["distinct_1"] == pytest.approx(3 / 12)


def test_summary_rejects_mismatched_embeddings():
    with pytest.raises(ValueError):
        diversity_summary(SAMPLES, np.ones((3, 2)))


@pytest.mark.parametrize("seed", range(4))
def test_metrics_do_not_depend_on_sample_order(seed):
    rng = np.random.default_rng(seed)
    texts = SAMPLES + ["", "Paris ."]
    embeddings = rng.normal(size=(len(texts), 5))
    embeddings[5] = 0.0  # the empty generation
    order = rng.permutation(len(texts))
    original = diversity_summary(texts, embeddings)
    permuted = diversity_summary([texts[i] for i in order], embeddings[order])
    for key in EXPECTED_KEYS:
        assert permuted[key] == pytest.approx(original[key], rel=1e-9, nan_ok=True), key
