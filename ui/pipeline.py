"""The scoring path behind the Score button, without Streamlit (so tests can drive it from threads).

Models are loaded by the caller (backend.models.resident.get_model in the app) and may be
shared by several browser sessions: every model call inside backend.scoring.score
runs under LoadedModel.lock, so concurrent sessions queue on a model instead
of interleaving on it, and each gets its own tables.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import pandas as pd

from analysis.schema import empty_token_table
from backend.errors import user_message
from backend.models.loading import LoadedModel
from backend.scoring.pair import PairResult, combine
from backend.store.score_cache import cached_score_texts
from backend.scoring.score import ScoreSettings

try:  # written in parallel (issue 3); the view appears when it lands
    from backend.scoring.same_vocab import compare_same_vocab, same_vocabulary
except ImportError:  # pragma: no cover - depends on the checkout
    compare_same_vocab = same_vocabulary = None

# (model "a" | "b", tokens done, tokens in all)
Progress = Callable[[str, int, int], None]


@dataclasses.dataclass
class PairOutcome:
    pair: PairResult | None  # None: neither model produced results
    errors: dict  # "a" | "b" -> one-line reason
    same_vocab: pd.DataFrame | None = None


def settings_dict(settings: ScoreSettings) -> dict:
    return {"top_k": settings.top_k, "window": settings.window, "stride": settings.stride}


def score_models(
    models: dict,
    texts: list[str],
    settings: ScoreSettings = ScoreSettings(),
    progress: Progress | None = None,
    errors: dict | None = None,
) -> PairOutcome:
    """Score texts with whichever of models["a"], models["b"] loaded.

    A model that is missing (failed to load: its reason in errors) or fails
    while scoring leaves its side empty; the other side's results still come
    back. Results come from the on-disk score cache when present.
    """
    errors = dict(errors or {})
    tables: dict[str, pd.DataFrame] = {}
    for side in ("a", "b"):
        loaded: LoadedModel | None = models.get(side)
        if loaded is None:
            continue
        report = None if progress is None else (lambda done, total, side=side: progress(side, done, total))
        try:
            tables[side] = cached_score_texts(loaded, texts, settings, report)
        except Exception as error:  # noqa: BLE001 - shown to the user, the other model still runs
            errors[side] = f"{loaded.spec.label}: {user_message(error)}"
    if not tables:
        return PairOutcome(None, errors)
    empty = empty_token_table()
    pair = combine(texts, tables.get("a", empty), tables.get("b", empty))
    same = None
    if len(tables) == 2 and compare_same_vocab is not None:
        try:
            if same_vocabulary(models["a"], models["b"]):
                same = compare_same_vocab(models["a"], models["b"], texts, settings)
        except Exception as error:  # noqa: BLE001 - an extra view; the main results stand
            errors["same_vocab"] = user_message(error)
    return PairOutcome(pair, errors, same)
