"""Saved runs as the pages show them: one loader from the run store to a ShownResult (no model needed), and the listing."""

from __future__ import annotations

import pandas as pd

from backend.store.runs import RunStore
from ui.state import ShownResult
from ui.tables import runs_display
from ui.user import run_store


def load_shown(run_id: str) -> ShownResult:
    """The saved run run_id as a ShownResult; raises what RunStore.load raises (RunNotFound, a damaged file,
    NotOwner for another user's run when the operator does not share runs)."""
    store = run_store()
    pair, meta = store.load(run_id)
    settings = meta.get("settings") or {}
    return ShownResult(pair=pair, model_a=meta.get("model_a", ""), model_b=meta.get("model_b", ""),
                       settings=settings, errors=dict(settings.get("failed") or {}),
                       same_vocab=store.load_same_vocab(run_id), run_id=run_id)


def listing_display(runs: pd.DataFrame, store: RunStore) -> pd.DataFrame:
    """The Runs page's table (ui.tables.runs_display), with an owner column when the operator shares runs."""
    shown = runs_display(runs)
    if store.share and "owner" in runs.columns:
        shown.insert(1, "owner", runs["owner"].map(lambda o: "you" if o == store.user else o))
    return shown


def can_change(runs: pd.DataFrame, run_id: str, store: RunStore) -> bool:
    """Whether this user owns the run (the store refuses the others' anyway: this only greys the button)."""
    owners = runs.loc[runs["id"] == run_id, "owner"] if "owner" in runs.columns else []
    return len(owners) == 1 and owners.iloc[0] == store.user
