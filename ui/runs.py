"""Saved runs as the pages show them: one loader from the run store to a ShownResult, no model needed."""

from __future__ import annotations

from backend.store.runs import RunStore
from ui.state import ShownResult


def load_shown(run_id: str) -> ShownResult:
    """The saved run run_id as a ShownResult; raises what RunStore.load raises (RunNotFound, a damaged file)."""
    store = RunStore()
    pair, meta = store.load(run_id)
    settings = meta.get("settings") or {}
    return ShownResult(pair=pair, model_a=meta.get("model_a", ""), model_b=meta.get("model_b", ""),
                       settings=settings, errors=dict(settings.get("failed") or {}),
                       same_vocab=store.load_same_vocab(run_id), run_id=run_id)
