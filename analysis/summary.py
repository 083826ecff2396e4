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
