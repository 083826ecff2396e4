"""Two models' token tables of the same texts -> one PairResult: both tables, the word alignment and the summary."""

from __future__ import annotations

import dataclasses

import pandas as pd

from analysis.schema import MODEL_COLUMN
from analysis.summary import summarize
from analysis.words import align_words


@dataclasses.dataclass
class PairResult:
    texts: list[str]
    tokens: pd.DataFrame  # both models' token tables, column "model" = "a" | "b"
    words: pd.DataFrame  # schema.WORD_COLUMNS
    summary: pd.DataFrame  # schema.SUMMARY_COLUMNS


def combine(texts: list[str], tokens_a: pd.DataFrame, tokens_b: pd.DataFrame) -> PairResult:
    """tokens_a, tokens_b: schema.TOKEN_COLUMNS tables of the same texts (an empty table for a model that failed)."""
    tokens = pd.concat(
        [tokens_a.assign(**{MODEL_COLUMN: "a"}), tokens_b.assign(**{MODEL_COLUMN: "b"})], ignore_index=True
    )
    words = align_words(texts, tokens_a, tokens_b)
    return PairResult(texts=list(texts), tokens=tokens, words=words, summary=summarize(texts, tokens, words))
