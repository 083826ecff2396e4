"""The metrics Duet knows, each declared once: label, unit, help, level, palette, and how a derived one is computed.

Pickers, legends, tooltips, axis titles and table headers read these
declarations (through the lookups re-exported below), so adding a metric is
one decorated function here and one entry in the table of
tests/analysis/test_metrics.py. Stored metrics are columns the scorer or a
summary already wrote (analysis/schema.py); derived ones are pure functions
of other metrics, numpy arrays in (by name), an array out, in nats where
`unit="nats"`. The machinery (ordering by graphlib, computing, levels) is
analysis/metric_registry.py.

Declaration order is the order pickers show.
"""

from __future__ import annotations

import numpy as np

from analysis.metric_registry import LEVELS, Metric, Registry, UnknownMetric

__all__ = ["LEVELS", "Metric", "UnknownMetric", "REGISTRY", "metric", "stored", "get", "find", "declared", "at_level",
           "order", "roots", "tables", "levels", "compute", "per_side", "display", "unit_text", "title",
           "axis_title", "colourings", "traces", "a_better", "difference_title", "signs"]

REGISTRY = Registry()
metric = REGISTRY.metric
stored = REGISTRY.stored
get = REGISTRY.get
find = REGISTRY.find
declared = REGISTRY.declared
at_level = REGISTRY.at_level
order = REGISTRY.order
roots = REGISTRY.roots
tables = REGISTRY.tables
levels = REGISTRY.levels
compute = REGISTRY.compute
per_side = REGISTRY.per_side
display = REGISTRY.display
unit_text = REGISTRY.unit_text
title = REGISTRY.title
axis_title = REGISTRY.axis_title
colourings = REGISTRY.colourings
traces = REGISTRY.traces
a_better = REGISTRY.a_better
difference_title = REGISTRY.difference_title
signs = REGISTRY.signs


# --- per token, one value per model (the token table; per word from the word table) --------------

stored("logprob", table="tokens", unit="nats", level="token", higher_is_better=True, join="sum", per_piece=True,
       label="Log-probability", higher="more probable",
       help="ln p(token | everything before it); NaN for a first token with no context")


@metric("surprisal", requires=("logprob",), unit="nats", level="token", higher_is_better=False,
        label="Surprisal", help="How unexpected each piece was: −ln p of the actual piece given everything before it.",
        higher="more surprised", palette="surprisal", per_piece=True,
        signs=("↑ above 0: A predicted the word better", "↓ below 0: B predicted the word better"))
def surprisal(logprob):
    return -logprob


stored("entropy", table="tokens", unit="nats", level="token", label="Entropy",
       help="How unsure the model was before the piece: the entropy of its whole next-token distribution.",
       title="entropy of the prediction", higher="less sure", palette="entropy",
       signs=("↑ above 0: A was less sure", "↓ below 0: B was less sure"))

stored("rank", table="tokens", unit="rank", level="token", higher_is_better=False, label="Rank bucket (GLTR)",
       help="Where the actual piece stood among the model's guesses (GLTR): 1 is its top choice.",
       title="rank of the actual token among the model's predictions", higher="a worse guess", palette="buckets")


@metric("typicality", requires=("surprisal", "entropy"), unit="nats", level="token", label="Typicality",
        help="Surprisal minus entropy: how much more (above 0) or less (below 0) the piece cost than the model "
             "expected before it; near 0 is typical (locally typical sampling, Meister et al. 2023). Per word: "
             "the word's surprisal minus the entropy where it begins.",
        higher="more surprising than it expected", palette="signed",
        ends=("less surprising than expected", "more surprising than expected"))
def typicality(surprisal, entropy):
    return surprisal - entropy


# --- both models at once ------------------------------------------------------------------------------

stored("delta", table="words", unit="nats", level="word", pair=True, label="Difference A − B (words)",
       help="Which model predicted each word better: log-probability of A minus that of B.",
       title="log-probability A − B", higher="A predicted the word better", palette="diverging",
       ends=("B predicted better", "A predicted better"))

# Both models' ranks side by side, joined from the token table when a map is drawn (analysis/heatmap.py), not
# stored: per word the rank of each model's first token of the word (any two tokenizers), per token the rank at
# each position (only when the vocabulary, hence the tokenisation, is shared). Not colourings themselves.
stored("rank_a", table="ranks", unit="rank", level="token", pair=True, label="Rank in A",
       help="Where the actual piece stood among model A's guesses: 1 is its top choice.")
stored("rank_b", table="ranks", unit="rank", level="token", pair=True, label="Rank in B",
       help="Where the actual piece stood among model B's guesses: 1 is its top choice.")


@metric("rank_diff", requires=("rank_a", "rank_b"), unit="rank", level="token", pair=True, label="Rank difference",
        help="log₂(rank in B + 1) − log₂(rank in A + 1) of the actual piece (LMdiff): above 0 A ranked it higher "
             "(a better guess). On a log scale: a rank that doubles moves it by about 1, near the top of the list "
             "or far down it. Per word: the rank of each "
             "model's first token of the word, so any two tokenizers compare; per token only when the vocabulary "
             "is shared.",
        title="rank difference log₂(rank B + 1) − log₂(rank A + 1)", higher="A ranked the actual piece higher",
        palette="diverging", ends=("B ranked it higher", "A ranked it higher"))
def rank_diff(rank_a, rank_b):
    # log2 of rank + 1, not of the rank: rank 1 against rank 2 is a real step, and log2(1) would make it infinite.
    return np.log2(rank_b + 1.0) - np.log2(rank_a + 1.0)


# Same vocabulary only: the two whole next-token distributions compared at each position.
stored("kl_a_b", table="same_vocab", unit="nats", level="token", pair=True, label="KL(A‖B)",
       help="KL divergence of A's next-token distribution from B's: 0 when they agree.",
       title="KL(A‖B) of the next-token distributions", higher="further apart", palette="divergence")
stored("kl_b_a", table="same_vocab", unit="nats", level="token", pair=True, label="KL(B‖A)",
       help="KL divergence of B's next-token distribution from A's: 0 when they agree.",
       title="KL(B‖A) of the next-token distributions", higher="further apart", palette="divergence")
stored("js", table="same_vocab", unit="nats", level="token", pair=True, label="Jensen–Shannon",
       help="Jensen–Shannon divergence of the two next-token distributions: symmetric, at most ln 2.",
       title="Jensen–Shannon of the next-token distributions", higher="further apart", palette="divergence")
stored("topk_overlap", table="same_vocab", unit="share", level="token", pair=True, label="Top-k overlap",
       help="Share of the top-k predictions both models have in common.",
       title="top-k overlap (share of the top-k both models share)", higher="more alike", palette="overlap",
       vrange=(0.0, 1.0))


# --- per prompt and model, over sampled answers (analysis/generations.py) -------------------------------
# unit "" is a count or a score with no unit; "nats" follows the nats/bits toggle.


def _prompt(name: str, label: str, unit: str, higher: str, help: str) -> None:
    stored(name, table="prompts", unit=unit, level="prompt", label=label, higher=higher, help=help)


_prompt("discrete_semantic_entropy", "Semantic entropy (discrete)", "nats", "more uncertain",
        "Entropy of the meaning-cluster frequencies of the samples")
_prompt("likelihood_semantic_entropy", "Semantic entropy (likelihood)", "nats", "more uncertain",
        "Entropy of cluster probabilities, each the sum of its samples' exp(mean token logprob)")
_prompt("naive_predictive_entropy", "Naive predictive entropy", "nats", "more uncertain",
        "Minus the mean length-normalised logprob of the samples (ignores meaning)")
_prompt("n_clusters", "Meaning clusters", "", "more uncertain", "Number of distinct meanings among the samples")
_prompt("reference_mean_entropy", "Reference answer entropy", "nats", "more uncertain",
        "Mean next-token entropy along the low-temperature reference answer")
_prompt("distinct_1", "Distinct-1", "", "more diverse", "Unique words / words")
_prompt("distinct_2", "Distinct-2", "", "more diverse", "Unique word bigrams / bigrams")
_prompt("distinct_3", "Distinct-3", "", "more diverse", "Unique word trigrams / trigrams")
_prompt("ngram_diversity", "N-gram diversity", "", "more diverse", "Sum of distinct-n for n = 1..4")
_prompt("self_bleu", "Self-BLEU", "", "less diverse", "Mean BLEU of each sample against the others (0-100)")
_prompt("compression_ratio", "Compression ratio", "", "less diverse", "Bytes / gzip bytes of the samples together")
_prompt("mean_pairwise_cosine_distance", "Mean pairwise cosine distance", "", "more diverse",
        "Mean 1 - cosine similarity of the sample embeddings")
_prompt("vendi_embedding", "Vendi score (embeddings)", "", "more diverse",
        "Effective number of distinct samples, from embedding similarity (1..N)")
_prompt("vendi_ngram", "Vendi score (n-grams)", "", "more diverse",
        "Effective number of distinct samples, from n-gram count vectors (1..N)")

# Uncertainty estimators beyond semantic entropy (analysis/uncertainty_estimators.py, analysis/uncertainty_graph.py;
# computed per prompt and model by analysis/uncertainty_table.py). Each is oriented so that higher = more uncertain.
_prompt("reference_nll", "Max sequence probability (−ln p)", "nats", "more uncertain",
        "−ln p of the low-temperature reference answer: maximum sequence probability, flipped so higher is less sure")
_prompt("reference_perplexity", "Reference perplexity", "", "more uncertain",
        "Perplexity of the reference answer: exp of minus its mean token logprob")
_prompt("mc_sequence_entropy", "MC sequence entropy", "nats", "more uncertain",
        "Monte-Carlo sequence entropy: minus the mean total logprob of the samples (its length-normalised "
        "form is the naive predictive entropy)")
_prompt("lexical_dissimilarity", "Lexical similarity (1 − ROUGE-L)", "", "more uncertain",
        "1 − the mean pairwise ROUGE-L F1 of the samples (Fomicheva et al. 2020): lexical similarity, flipped")
_prompt("eigv", "EigV", "", "more uncertain",
        "Σ max(0, 1 − λ) over the normalised graph Laplacian of the samples' similarity (Lin et al. 2023): "
        "a continuous number of meanings. Similarity: NLI entailment when clustering by NLI, else embedding cosine")
_prompt("degree", "Degree", "", "more uncertain",
        "trace(N·I − D)/N² = 1 − mean pairwise similarity of the samples (Lin et al. 2023)")
_prompt("eccentricity", "Eccentricity", "", "more uncertain",
        "Spread of the samples' spectral embeddings from the similarity graph's Laplacian (Lin et al. 2023)")
_prompt("kernel_language_entropy", "Kernel language entropy", "nats", "more uncertain",
        "Von Neumann entropy of the heat kernel (t = 0.3) over the samples' similarity graph (Nikitin et al. 2024)")
_prompt("eigenscore", "EigenScore", "", "more uncertain",
        "Mean log-eigenvalue of the regularised covariance of the samples' sentence embeddings (INSIDE, "
        "Chen et al. 2024)")
_prompt("semantic_volume", "Semantic volume", "", "more uncertain",
        "ln det of the Gram matrix (+ 0.001·I) of the samples' unit-normalised embeddings (Semantic Volume, 2025)")
