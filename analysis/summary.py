"""Per text and model summary: mean surprisal, perplexity, bits per byte, entropy, top-1 share, words won."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.words import token_bytes


def summarize(texts: list[str], tokens: pd.DataFrame, words: pd.DataFrame) -> pd.DataFrame:
    """One row per (text_id, model). Tokens without a score (no context) are left out.

    words_won: words where this model's logprob is strictly higher than the
    other's (ties go to neither), so the two counts compare the models on the
    same units whatever their tokenisers.

    Linear in the number of texts: each model's rows are sorted by text once (stable, so a text's
    tokens keep their order) and every text reads its own slice. The sums are numpy's over each
    text's values in table order, the same additions pandas makes on that text's rows alone, so the
    numbers are bit for bit those of a per-text pandas computation.
    """
    n_texts = len(texts)
    word_text = words["text_id"].to_numpy()
    word_delta = words["delta"].to_numpy(dtype=float)
    in_range = (word_text >= 0) & (word_text < n_texts)
    columns: dict[str, list] = {name: [] for name in (
        "text_id", "model", "n_tokens", "mean_surprisal", "perplexity", "bits_per_byte", "mean_entropy",
        "top1_share", "words_won", "n_words")}
    for model, table in tokens.groupby("model", sort=True):
        text_id = table["text_id"].to_numpy()
        n_tokens = np.bincount(text_id[(text_id >= 0) & (text_id < n_texts)], minlength=n_texts)
        scored = table[table["logprob"].notna()]
        scored_text = scored["text_id"].to_numpy()
        order = np.argsort(scored_text, kind="stable")
        scored_text = scored_text[order]
        surprisal = -scored["logprob"].to_numpy(dtype=float)[order]
        entropy = scored["entropy"].to_numpy(dtype=float)[order]
        has_entropy = ~np.isnan(entropy)
        entropy = np.where(has_entropy, entropy, 0.0)  # pandas' mean skips NaN by adding 0 in its place
        entropy_count = np.concatenate([[0], np.cumsum(has_entropy)])
        top1_count = np.concatenate([[0], np.cumsum(scored["rank"].to_numpy(dtype=float)[order] == 1)])
        byte_count = np.concatenate([[0], np.cumsum(token_bytes(
            texts, scored_text, scored["char_start"].to_numpy()[order], scored["char_end"].to_numpy()[order]))])
        bounds = np.searchsorted(scored_text, np.arange(n_texts + 1))
        delta = word_delta if model == "a" else -word_delta
        won = np.bincount(word_text[in_range & (delta > 0)], minlength=n_texts)
        compared = np.bincount(word_text[in_range & ~np.isnan(delta)], minlength=n_texts)
        for t in range(n_texts):
            start, end = bounds[t], bounds[t + 1]
            n = end - start
            total = surprisal[start:end].sum() if n else np.nan
            mean = total / n if n else np.nan
            n_bytes = byte_count[end] - byte_count[start]
            n_entropy = entropy_count[end] - entropy_count[start]
            columns["text_id"].append(t)
            columns["model"].append(model)
            columns["n_tokens"].append(int(n_tokens[t]))
            columns["mean_surprisal"].append(mean)
            columns["perplexity"].append(float(np.exp(mean)) if n else np.nan)
            columns["bits_per_byte"].append(total / np.log(2) / n_bytes if n and n_bytes else np.nan)
            columns["mean_entropy"].append(entropy[start:end].sum() / n_entropy if n and n_entropy else np.nan)
            columns["top1_share"].append((top1_count[end] - top1_count[start]) / n if n else np.nan)
            columns["words_won"].append(int(won[t]))
            columns["n_words"].append(int(compared[t]))
    if not columns["text_id"]:
        return pd.DataFrame([])
    frame = pd.DataFrame(columns)
    return frame.astype({"text_id": "int64", "n_tokens": "int64", "words_won": "int64", "n_words": "int64"})


def corpus_totals(texts: list[str], tokens: pd.DataFrame, words: pd.DataFrame) -> pd.DataFrame:
    """One row per model over all texts together, with summarize's columns (text_id -1: every text).

    Pooled, not averaged per text: surprisal, entropy and top-1 share are means over every scored
    token (token-weighted), bits per byte is all bits over all bytes (byte-weighted), words won
    counts every word (word-weighted). A mean of per-text means would weigh a one-line text like a
    book.
    """
    rows = []
    for model, table in tokens.groupby("model", sort=True):
        scored = table[table["logprob"].notna()]
        surprisal = -scored["logprob"]
        n_bytes = int(token_bytes(texts, scored["text_id"].to_numpy(), scored["char_start"].to_numpy(),
                                  scored["char_end"].to_numpy()).sum())
        delta = words["delta"] if model == "a" else -words["delta"]
        any_scored = len(scored) > 0
        rows.append({
            "text_id": -1,
            "model": model,
            "n_tokens": int(len(table)),
            "mean_surprisal": surprisal.mean() if any_scored else np.nan,
            "perplexity": float(np.exp(surprisal.mean())) if any_scored else np.nan,
            "bits_per_byte": surprisal.sum() / np.log(2) / n_bytes if n_bytes else np.nan,
            "mean_entropy": scored["entropy"].mean() if any_scored else np.nan,
            "top1_share": (scored["rank"] == 1).mean() if any_scored else np.nan,
            "words_won": int((delta > 0).sum()),
            "n_words": int(delta.notna().sum()),
        })
    return pd.DataFrame(rows)
