"""Per text and model summary: mean surprisal, perplexity, bits per byte, entropy, top-1 share, words won."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.words import bits_per_byte


def summarize(texts: list[str], tokens: pd.DataFrame, words: pd.DataFrame) -> pd.DataFrame:
    """One row per (text_id, model). Tokens without a score (no context) are left out.

    words_won: words where this model's logprob is strictly higher than the
    other's (ties go to neither), so the two counts compare the models on the
    same units whatever their tokenisers.
    """
    rows = []
    for model, table in tokens.groupby("model", sort=True):
        bpb = bits_per_byte(texts, table)
        scored = table[table["logprob"].notna()]
        for text_id in range(len(texts)):
            part = scored[scored["text_id"] == text_id]
            surprisal = -part["logprob"]
            text_words = words[words["text_id"] == text_id]
            delta = text_words["delta"] if model == "a" else -text_words["delta"]
            rows.append(
                {
                    "text_id": text_id,
                    "model": model,
                    "n_tokens": int((table["text_id"] == text_id).sum()),
                    "mean_surprisal": surprisal.mean() if len(part) else np.nan,
                    "perplexity": float(np.exp(surprisal.mean())) if len(part) else np.nan,
                    "bits_per_byte": bpb.get(text_id, np.nan),
                    "mean_entropy": part["entropy"].mean() if len(part) else np.nan,
                    "top1_share": (part["rank"] == 1).mean() if len(part) else np.nan,
                    "words_won": int((delta > 0).sum()),
                    "n_words": int(delta.notna().sum()),
                }
            )
    return pd.DataFrame(rows)


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
        n_bytes = sum(len(texts[int(t)][s:e].encode("utf-8"))
                      for t, s, e in zip(scored["text_id"], scored["char_start"], scored["char_end"]))
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
