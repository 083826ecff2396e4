"""Score the same texts with model A and model B: the one path the app, the CLI and the Ray engine take.

Per side: the on-disk score cache (optional), progress, and an error of its own, so one model
may fail and the other still scores. When both models share a vocabulary the same-vocabulary
divergences (backend/scoring/same_vocab.py) come too. Models may be shared by several browser
sessions: every model call runs under LoadedModel.lock (backend/scoring/score.py), so
concurrent callers queue on a model instead of interleaving on it, and each gets its own tables.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Callable

import pandas as pd

from analysis.pair import PairResult, combine
from analysis.schema import empty_token_table
from backend.errors import DuetError, user_message
from backend.models.loading import LoadedModel, load_model
from backend.models.specs import ModelSpec
from backend.scoring.same_vocab import compare_same_vocab, same_vocabulary
from backend.scoring.score import ScoreSettings, score_texts
from backend.store import atomic
from backend.store.paths import cache_dir
from backend.store.score_cache import assemble, cached_score_texts, lookup

__all__ = ["PairOutcome", "PairProgress", "PairResult", "combine", "score_models", "score_pair"]

# (model "a" or "b", tokens done, tokens in all)
PairProgress = Callable[[str, int, int], None]

SIDES = ("a", "b")


@dataclasses.dataclass
class PairOutcome:
    pair: PairResult | None  # None: neither model produced results
    errors: dict  # "a" | "b" | "same_vocab" -> one line for the user
    same_vocab: pd.DataFrame | None = None  # schema.SAME_VOCAB_COLUMNS, when both models share a vocabulary
    failures: dict = dataclasses.field(default_factory=dict)  # "a" | "b" -> the exception a side raised
    # Lines for the user about a later step that failed (a cache or the run store could not be written,
    # a damaged cache entry recomputed): the results stand, shown or written all the same.
    warnings: list = dataclasses.field(default_factory=list)

    def result(self) -> PairResult:
        """Both models' results, or a failed side's own exception raised again (for callers that need both)."""
        for side in SIDES:
            if side in self.failures:
                raise self.failures[side]
        missing = [side for side in SIDES if side in self.errors]
        if missing or self.pair is None:
            raise DuetError(self.errors.get(missing[0], "no results") if missing else "no results")
        return self.pair

    def save_run(self, model_a: str, model_b: str, settings: dict, name: str = "",
                 source_rows: list[int] | None = None, text_meta=None, store=None) -> str | None:
        """Save the pair, and its same-vocabulary table, in the run store; returns the run id.
        A store that cannot save (a full disk, a damaged catalog) adds a warning and returns None:
        the results already computed come first."""
        from backend.store.runs import RunStore

        try:
            store = store or RunStore()
            run_id = store.save(self.pair, model_a, model_b, settings, name,
                                same_vocab=self.same_vocab, text_meta=text_meta, source_rows=source_rows)
        except Exception as error:  # noqa: BLE001 - the results stand; only the run history misses them
            self.warnings.append(f"results not saved to the run history: {user_message(error)}")
            return None
        finally:
            self.warnings.extend(getattr(store, "notes", ()))  # a catalog rebuilt on the way
        return run_id


def score_models(
    models: dict,
    texts: list[str],
    settings: ScoreSettings = ScoreSettings(),
    progress: PairProgress | None = None,
    errors: dict | None = None,
    cache: bool = True,
    same_vocab: bool = True,
    load: Callable[[ModelSpec], LoadedModel] | None = None,
    need_both: bool = False,
) -> PairOutcome:
    """Score texts with whichever of models["a"], models["b"] is there.

    A side is a LoadedModel, or a ModelSpec loaded with load (default
    backend.models.loading.load_model; the app passes its resource cache) only when some text
    is missing from the score cache: a call whose texts are all cached loads no model. A model
    that is missing (failed to load: its reason already in errors), fails to load, or fails while
    scoring leaves its side empty; the other side's results still come back. cache: read and
    fill the on-disk score cache (backend/store/score_cache.py); a corpus run keeps its own
    outputs instead. same_vocab: add the divergences when both models share a vocabulary (which
    needs both models; whether they share one is remembered per pair of specs, so a cached call
    of two models that do not loads neither). need_both: stop at the first failed side (a caller
    that needs both gives up at once instead of scoring the other model for nothing).
    """
    errors = dict(errors or {})
    failures: dict[str, Exception] = {}
    warnings: list[str] = []
    tables: dict[str, pd.DataFrame] = {}
    loaded: dict[str, LoadedModel] = {}

    def model_of(side: str) -> LoadedModel:
        if side not in loaded:
            source = models[side]
            loaded[side] = source if isinstance(source, LoadedModel) else (load or load_model)(source)
        return loaded[side]

    for side in SIDES:
        source = models.get(side)
        if source is None or (need_both and failures):
            continue
        spec = source.spec if isinstance(source, LoadedModel) else source
        report = None if progress is None else (lambda done, total, side=side: progress(side, done, total))
        try:
            if cache:
                known = lookup(spec_key(source), settings, texts, warnings)
                if known[1]:
                    tables[side] = cached_score_texts(model_of(side), texts, settings, report, warnings, known)
                else:
                    if report is not None:
                        report(1, 1)
                    tables[side] = assemble(known[0], len(texts), empty_token_table)
            else:
                tables[side] = score_texts(model_of(side), texts, settings, report)
        except Exception as error:  # noqa: BLE001 - reported per side, the other model still runs
            failures[side] = error
            errors[side] = f"{spec.label}: {user_message(error)}"
    if not tables:
        return PairOutcome(None, errors, failures=failures, warnings=warnings)
    empty = empty_token_table()
    pair = combine(texts, tables.get("a", empty), tables.get("b", empty))
    same = None
    if same_vocab and len(tables) == 2:
        try:
            verdict = _shared_vocabulary(models, model_of) if cache else same_vocabulary(model_of("a"), model_of("b"))
            if verdict:
                same = compare_same_vocab(model_of("a"), model_of("b"), texts, settings)
        except Exception as error:  # noqa: BLE001 - an extra view; the main results stand
            errors["same_vocab"] = user_message(error)
    return PairOutcome(pair, errors, same, failures, warnings)


def spec_key(source) -> str:
    """The score cache's key of a side: its resolved spec (concrete device and dtype), as load_model resolves it."""
    if isinstance(source, LoadedModel):
        return str(source.spec)
    import torch

    return str(source.resolved(torch.cuda.is_available()))


def _shared_vocabulary(models: dict, model_of) -> bool:
    """same_vocabulary of the two sides, remembered per pair of specs (a small json in the cache), so a
    cached call need not load two models only to learn that they do not share a vocabulary."""
    key = hashlib.sha256(f"{spec_key(models['a'])}|{spec_key(models['b'])}".encode()).hexdigest()[:20]
    path = cache_dir() / "scores" / "same_vocab" / f"{key}.json"
    try:
        return bool(json.loads(path.read_text())["same"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    verdict = same_vocabulary(model_of("a"), model_of("b"))
    try:
        atomic.write_json(path, {"same": verdict})
    except OSError:  # a cache that cannot be written (a full disk): the verdict still stands for this call
        pass
    return verdict


def score_pair(
    model_a: LoadedModel,
    model_b: LoadedModel,
    texts: list[str],
    settings: ScoreSettings = ScoreSettings(),
    progress: PairProgress | None = None,
) -> PairResult:
    """Both models' results through the score cache, or the first failure raised (score_models, both sides needed)."""
    return score_models({"a": model_a, "b": model_b}, texts, settings, progress, same_vocab=False).result()
