"""Score the same texts with model A and model B, and align them on words."""

from __future__ import annotations

import dataclasses
from typing import Callable

import pandas as pd

from analysis.schema import MODEL_COLUMN
from analysis.summary import summarize
from analysis.words import align_words
from backend.models.loading import LoadedModel
from backend.store.score_cache import cached_score_texts
from backend.scoring.score import ScoreSettings

# (model "a" or "b", tokens done, tokens in all)
PairProgress = Callable[[str, int, int], None]


@dataclasses.dataclass
class PairResult:
    texts: list[str]
    tokens: pd.DataFrame  # both models' token tables, column "model" = "a" | "b"
    words: pd.DataFrame  # schema.WORD_COLUMNS
    summary: pd.DataFrame  # schema.SUMMARY_COLUMNS


def score_pair(
    model_a: LoadedModel,
    model_b: LoadedModel,
    texts: list[str],
    settings: ScoreSettings = ScoreSettings(),
    progress: PairProgress | None = None,
) -> PairResult:
    tables = {}
    for name, loaded in (("a", model_a), ("b", model_b)):
        report = None if progress is None else (lambda done, total, name=name: progress(name, done, total))
        tables[name] = cached_score_texts(loaded, texts, settings, report)
    return combine(texts, tables["a"], tables["b"])


def combine(texts: list[str], tokens_a: pd.DataFrame, tokens_b: pd.DataFrame) -> PairResult:
    tokens = pd.concat(
        [tokens_a.assign(**{MODEL_COLUMN: "a"}), tokens_b.assign(**{MODEL_COLUMN: "b"})], ignore_index=True
    )
    words = align_words(texts, tokens_a, tokens_b)
    return PairResult(texts=list(texts), tokens=tokens, words=words, summary=summarize(texts, tokens, words))
