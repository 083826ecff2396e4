"""BehaviorBox analysis (Tjuatja & Neubig 2025), the parts that need no model.

Pipeline: backend gives one contextual embedding per word ->
`performance_aware_embeddings` appends both models' word probabilities ->
backend trains a BatchTopK SAE and encodes every word -> `top_activations`
keeps each feature's strongest words -> `feature_stats` measures who wins on
them -> `context_check` asks whether the gap survives when the words are
picked by context alone (`context_only_vectors`) -> `select_features` keeps
the features with a large, consistent gap that holds in context ->
`describe_feature` names them from their examples.

Row convention: row i of the embeddings / activations is row i (positional,
`iloc`) of the word table passed alongside. Drop words with a NaN logprob
before building embeddings and pass that same filtered table everywhere.
Units: logprobs and Δlogprob in nats; p and Δp are probabilities in [0, 1].
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from analysis.differences import GROUPS, visible

PAPER_DICT_SIZE = 3000  # the paper's code: N=3000, k=50 on corpora of millions of words
PAPER_K = 50


def performance_aware_embeddings(
    word_embeddings: np.ndarray, p_a: np.ndarray, p_b: np.ndarray, w: float = 0.7
) -> np.ndarray:
    """[n, d] embeddings + [n] probabilities of A and B -> [n, d + 2] float32.

    The last two columns are (p_a, p_b), word probabilities = exp(word
    logprob). The 2 probability dims would be swamped by d embedding dims, so
    the parts are balanced as in the paper's code: each part is rescaled so
    its mean row norm equals the mean row norm of the unscaled concatenation
    (both parts then have equal mean norm), then the probability part is
    weighted by w and the embedding part by 1 - w. w=0.7 (the paper's
    default) makes the probabilities 70% of the mean norm: features are
    mostly about how well the models did, refined by context.
    """
    emb = np.asarray(word_embeddings, dtype=np.float64)
    probs = np.stack([np.asarray(p_a, float), np.asarray(p_b, float)], axis=1)
    if emb.ndim != 2 or len(emb) != len(probs):
        raise ValueError(f"need [n, d] embeddings and [n] probs, got {emb.shape}, {probs.shape}")
    if not (np.isfinite(emb).all() and np.isfinite(probs).all()):
        raise ValueError("NaN/inf in embeddings or probabilities: drop those words first")
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"w must be in [0, 1], got {w}")
    mean_total = np.linalg.norm(np.hstack([emb, probs]), axis=1).mean()

    def scale(part: np.ndarray, weight: float) -> np.ndarray:
        mean_norm = np.linalg.norm(part, axis=1).mean()
        # An all-zero part (e.g. p == 0 everywhere) has nothing to balance.
        return part * (weight * mean_total / mean_norm) if mean_norm > 0 else part * 0.0

    return np.hstack([scale(emb, 1.0 - w), scale(probs, w)]).astype(np.float32)


def default_sae_size(n_words: int) -> tuple[int, int]:
    """(dict_size, k) for a corpus of n_words words.

    Rule: one feature per 30 words, rounded to a multiple of 8, between 32
    and the paper's 3000; k = dict_size / 60 (the paper's 50/3000 ratio),
    between 4 and 50. Keeping k/dict_size fixed means a feature fires on
    about n_words/60 words on average, so even a 3,000-word corpus leaves
    each feature ~50 candidate examples for its top-50; the paper's sizes are
    reached from 90,000 words on.
    """
    dict_size = int(np.clip(round(n_words / 30 / 8) * 8, 32, PAPER_DICT_SIZE))
    k = int(np.clip(round(dict_size * PAPER_K / PAPER_DICT_SIZE), 4, PAPER_K))
    return dict_size, k


TOP_COLUMNS = ["feature", "rank", "row", "activation"]


def top_activations(activations: np.ndarray, top: int = 50) -> pd.DataFrame:
    """Dense [n_words, n_features] activations -> each feature's `top`
    largest nonzero activations as a long table (TOP_COLUMNS; rank 0 = max,
    row = positional row of the word table). Ties break by lower row.
    The backend streams the same table for corpora too big to hold dense."""
    acts = np.asarray(activations)
    n, f = acts.shape
    t = min(top, n)
    # Stable argsort of -acts per column: largest first, lower row on ties.
    order = np.argsort(-acts, axis=0, kind="stable")[:t]  # [t, f]
    vals = np.take_along_axis(acts, order, axis=0)
    feat = np.broadcast_to(np.arange(f), (t, f))
    rank = np.broadcast_to(np.arange(t)[:, None], (t, f))
    keep = vals > 0
    out = pd.DataFrame(
        {
            "feature": feat.T[keep.T],
            "rank": rank.T[keep.T],
            "row": order.T[keep.T],
            "activation": vals.T[keep.T].astype(float),
        }
    )
    return out.astype({"feature": "int64", "rank": "int64", "row": "int64"})


def _as_top(activations, top: int) -> pd.DataFrame:
    if isinstance(activations, pd.DataFrame):
        t = activations[activations["activation"] > 0]
        t = t.sort_values(["feature", "activation", "row"], ascending=[True, False, True])
        return t.groupby("feature", sort=False).head(top)
    return top_activations(activations, top)


def feature_examples(
    activations, words: pd.DataFrame, top: int = 50, pct: float = 25, min_frac: float = 0.25
) -> pd.DataFrame:
    """The examples that define each feature, one row per (feature, word).

    `activations`: dense [n_words, n_features] or a TOP_COLUMNS table.
    Keep rule (the paper's code): among a feature's `top` largest nonzero
    activations, keep those strictly above the `pct`-th percentile of those
    top activations, or at least `min_frac` × the feature's max. The
    percentile drops the weak tail of a long top list; the max-fraction keeps
    a feature with few but strong hits from losing a quarter of them.
    Columns: feature, rank, row, activation, the word table's columns, and
    p_a, p_b, dp (= p_a - p_b), dlogprob (= logprob_a - logprob_b, nats).
    """
    t = _as_top(activations, top)
    if not isinstance(activations, pd.DataFrame) and activations.shape[0] != len(words):
        raise ValueError(f"{activations.shape[0]} activation rows for {len(words)} words")
    g = t.groupby("feature")["activation"]
    cut = g.transform(lambda a: np.percentile(a.to_numpy(), pct))
    mx = g.transform("max")
    t = t[(t["activation"] > cut) | (t["activation"] >= min_frac * mx)]
    w = words.iloc[t["row"].to_numpy()].reset_index(drop=True)
    ex = pd.concat([t.reset_index(drop=True), w], axis=1)
    ex["p_a"] = np.exp(ex["logprob_a"].to_numpy(float))
    ex["p_b"] = np.exp(ex["logprob_b"].to_numpy(float))
    ex["dp"] = ex["p_a"] - ex["p_b"]
    ex["dlogprob"] = ex["logprob_a"].to_numpy(float) - ex["logprob_b"].to_numpy(float)
    return ex


STATS_COLUMNS = [
    "feature", "n_examples", "max_activation", "median_dp", "mean_dp",
    "median_dlogprob", "mean_dlogprob", "consistency", "winner",
]  # fmt: skip


def stats_from_examples(examples: pd.DataFrame) -> pd.DataFrame:
    """Per-feature statistics of `feature_examples` output (STATS_COLUMNS).

    Examples with a NaN Δ are dropped. n_examples: examples kept; median/mean
    Δp (probability) and Δlogprob (nats), positive = A better; winner: the
    model that wins more of the examples ("a" if more have Δ > 0, "b" if more
    have Δ < 0, "tie" otherwise; Δp and Δlogprob always share a sign);
    consistency: the share of examples the winner wins (0.5–1 unless ties).
    """
    ex = examples[np.isfinite(examples["dlogprob"].to_numpy(float))]
    rows = []
    for feat, e in ex.groupby("feature", sort=True):
        d = e["dlogprob"].to_numpy(float)
        n_pos, n_neg = int((d > 0).sum()), int((d < 0).sum())
        winner = "a" if n_pos > n_neg else "b" if n_neg > n_pos else "tie"
        rows.append(
            {
                "feature": int(feat),
                "n_examples": len(d),
                "max_activation": float(e["activation"].max()),
                "median_dp": float(np.median(e["dp"])),
                "mean_dp": float(np.mean(e["dp"])),
                "median_dlogprob": float(np.median(d)),
                "mean_dlogprob": float(np.mean(d)),
                "consistency": max(n_pos, n_neg) / len(d),
                "winner": winner,
            }
        )
    return pd.DataFrame(rows, columns=STATS_COLUMNS)


def feature_stats(
    activations, words: pd.DataFrame, top: int = 50, pct: float = 25, min_frac: float = 0.25
) -> pd.DataFrame:
    """Per-feature effect statistics from its top activating words.

    = stats_from_examples(feature_examples(...)); see both. Features that
    never fire are absent.
    """
    return stats_from_examples(feature_examples(activations, words, top, pct, min_frac))


def context_only_vectors(x: np.ndarray, n_probs: int = 2) -> np.ndarray:
    """Performance-aware vectors [n, d + 2] with the probability part (the
    last n_probs columns) replaced by its column means: the corpus-mean
    probabilities in the same scaled space. Encoded by the SAE, they rank
    words by context alone, without looking at either model's probability."""
    out = np.array(x, dtype=np.float32, copy=True)
    out[:, -n_probs:] = out[:, -n_probs:].mean(axis=0, dtype=np.float64)
    return out


CONTEXT_COLUMNS = [
    "feature", "context_n", "context_median_dlogprob", "context_consistency", "context_p", "holds_in_context",
]  # fmt: skip
CONTEXT_ALPHA = 0.05


def context_check(context_examples: pd.DataFrame, stats: pd.DataFrame, alpha: float = CONTEXT_ALPHA) -> pd.DataFrame:
    """Does each feature's winner still win on the words its context alone picks?

    The SAE sees both models' probabilities, so a feature can gather the
    words where noise happened to favour one model; its own examples then
    show a gap by construction (selection bias). `context_examples` are
    `feature_examples` of the same SAE encoding `context_only_vectors`
    (same top / pct / min_frac): words chosen without looking at either
    model, so their Δ is a fair test of the feature's claim.

    Per feature of `stats` (CONTEXT_COLUMNS, stats' order): context_n:
    context examples with a finite Δlogprob; context_median_dlogprob (nats);
    context_consistency: the share of them the feature's winner wins (NaN
    without examples or a winner); context_p: one-sided exact sign test over
    *texts* (ties dropped) that the winner wins more than half of the texts
    holding the examples, each text by the mean Δ of its examples, NaN when
    nothing is left to test. Texts, not words: words of one text share its
    topic and style, so a feature whose words sit in a few texts where one
    model happened to do better would pass a test that counts words as
    independent. holds_in_context: the
    context examples have the same winner and context_p < alpha / (features
    in stats). Bonferroni, because every feature that fired is tested and a
    page of hundreds of features at plain 0.05 would show some that hold by
    luck; it is conservative, and a real context difference reaches p-values
    far below it with a few dozen examples. A feature that never fires on
    the context-only vectors, or has no winner, does not hold.
    """
    ex = context_examples[np.isfinite(context_examples["dlogprob"].to_numpy(float))]
    by_feature = {int(f): e["dlogprob"].to_numpy(float) for f, e in ex.groupby("feature", sort=False)}
    # Each text's mean Δ over the feature's context examples in it: the unit of the sign test.
    per_text = ex.groupby(["feature", "text_id"], sort=False)["dlogprob"].mean()
    text_means = {int(f): m.to_numpy(float) for f, m in per_text.groupby(level="feature", sort=False)}
    cut = alpha / max(1, len(stats))
    rows = []
    for feat, winner in zip(stats["feature"], stats["winner"]):
        d = by_feature.get(int(feat), np.zeros(0))
        t = text_means.get(int(feat), np.zeros(0))
        words_won = int((d > 0).sum()) if winner == "a" else int((d < 0).sum()) if winner == "b" else 0
        n_pos, n_neg = int((t > 0).sum()), int((t < 0).sum())
        wins, losses = (n_pos, n_neg) if winner == "a" else (n_neg, n_pos) if winner == "b" else (0, 0)
        p = binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue if wins + losses else np.nan
        rows.append(
            {
                "feature": int(feat),
                "context_n": len(d),
                "context_median_dlogprob": float(np.median(d)) if len(d) else np.nan,
                "context_consistency": words_won / len(d) if len(d) and winner in ("a", "b") else np.nan,
                "context_p": float(p),
                # wins > losses: the context examples have the feature's winner (a small p implies it too).
                "holds_in_context": bool(winner in ("a", "b") and wins > losses and p < cut),
            }
        )
    return pd.DataFrame(rows, columns=CONTEXT_COLUMNS).astype({"context_n": "int64", "holds_in_context": bool})


def select_features(
    stats: pd.DataFrame,
    min_abs_median_logprob: float = 1.0,
    min_abs_median_p: float = 0.1,
    min_examples: int = 10,
    require_context: bool = True,
) -> pd.DataFrame:
    """Features where one model is clearly better, strongest first.

    Keeps |median Δlogprob| > min_abs_median_logprob (nats) or |median Δp| >
    min_abs_median_p, with at least min_examples examples and a winner (not
    a tie), and, with require_context, `holds_in_context` (see
    context_check; stats without that column, e.g. saved before it existed,
    are not filtered by it). Adds `effect` = |median Δlogprob| (nats) and
    ranks by it, then by |median Δp| and consistency; the index is reset so
    row 0 is the best.
    """
    big = (stats["median_dlogprob"].abs() > min_abs_median_logprob) | (
        stats["median_dp"].abs() > min_abs_median_p
    )
    keep = big & (stats["n_examples"] >= min_examples) & (stats["winner"] != "tie")
    if require_context and "holds_in_context" in stats.columns:
        keep &= stats["holds_in_context"].eq(True)  # a missing value (NaN) does not hold
    out = stats[keep].copy()
    # Computed on the filtered frame: assigning a full-length Series to an
    # empty frame would adopt that Series' index and resurrect every row.
    out["effect"] = out["median_dlogprob"].abs()
    out["_p"] = out["median_dp"].abs()
    out = out.sort_values(
        ["effect", "_p", "consistency", "feature"],
        ascending=[False, False, False, True],
        kind="stable",
    )
    return out.drop(columns="_p").reset_index(drop=True)


_TOKEN = re.compile(r"\w+|[^\w\s]")


def _common(items: list[str], n: int, min_count: int, total: int) -> list[str]:
    counts = Counter(x for x in items if x)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [f'"{visible(x)}" ({c}/{total})' for x, c in ranked[:n] if c >= min_count]


def describe_feature(
    example_words: Sequence[str], contexts: Sequence[Sequence[str]], n_common: int = 3
) -> str:
    """Automatic plain-text description of a feature from its examples.

    example_words: the words; contexts: per example (left, right) or
    (left, word, right) strings as from `differences.word_contexts`.
    Reports the word types most examples share (numbers, punctuation, …,
    when ≥ 50%), the most common words, and the most common 1- and 2-word
    n-grams right before and after them (shown when seen at least twice and
    in ≥ 20% of examples), e.g.
    'Mostly numbers (92%). Words: "5" (6/25), "10" (4/25). Before: "$" (23/25).'
    """
    words = [str(w) for w in example_words]
    total = len(words)
    if total == 0:
        return "No examples."
    min_count = max(2, int(np.ceil(0.2 * total)))
    parts = []
    table = pd.DataFrame({"word": words})
    shapes = []
    for name, grp in GROUPS.items():
        if grp.kind != "flag" or name == "all words":
            continue  # bins and the baseline depend on the corpus, not the word
        share = grp.assign(table).notna().mean()
        if share >= 0.5:
            shapes.append(f"{name} ({share:.0%})")
    if shapes:
        parts.append("Mostly " + ", ".join(shapes) + ".")
    common = _common(words, n_common, 2, total)
    if common:
        parts.append("Words: " + ", ".join(common) + ".")
    before, after = [], []
    for ctx in contexts:
        left, right = ctx[0], ctx[-1]
        lt, rt = _TOKEN.findall(left), _TOKEN.findall(right)
        before += [" ".join(lt[-k:]) for k in (1, 2) if len(lt) >= k]
        after += [" ".join(rt[:k]) for k in (1, 2) if len(rt) >= k]
    for label, grams in (("Before", before), ("After", after)):
        found = _common(grams, n_common, min_count, total)
        if found:
            parts.append(f"{label}: " + ", ".join(found) + ".")
    if not parts:
        return f"{total} varied words, no shared pattern."
    return " ".join(parts)
