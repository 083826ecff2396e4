"""Which run the Differences page compares: the result on screen or a saved run, and its one-line summary."""

from __future__ import annotations

import numpy as np
import streamlit as st

from backend.errors import user_message
from ui.markdown import literal
from ui.runs import load_shown
from ui.state import ShownResult, as_chosen, current_result, word_probability
from ui.tables import readable_time
from ui.user import run_store

CURRENT = "__current__"


def _choices() -> dict[str, str]:
    """Run ids (CURRENT for the result on screen) -> how the picker names them."""
    choices = {}
    shown = current_result()
    if shown is not None and shown.pair is not None:
        n = len(shown.pair.texts)
        choices[CURRENT] = f"On screen now: {n} text{'s' if n != 1 else ''} ({shown.labels[0]} vs {shown.labels[1]})"
    try:
        runs = run_store().list()  # this user's runs (everyone's when the operator shares them)
    except Exception as error:  # noqa: BLE001 - the run store is optional here
        st.warning(f"Saved runs unavailable: {literal(user_message(error))}")
        return choices
    for run_id, created, name in zip(runs["id"], runs["created"], runs["name"]):
        if shown is not None and shown.run_id == run_id:
            continue  # already listed as the current result
        choices[run_id] = f"{readable_time(created)} · {name}"
    return choices


def _kept(run_id: str) -> ShownResult | None:
    """A saved run, kept in the session so reruns do not reread it; None with the error shown."""
    loaded = st.session_state.setdefault("_diff_runs", {})
    if run_id not in loaded:
        try:
            shown = load_shown(run_id)
        except Exception as error:  # noqa: BLE001 - RunNotFound, a damaged file
            st.error(f"Could not load run {literal(run_id)}: {literal(user_message(error))}")
            return None
        loaded.clear()  # one saved run in memory at a time: corpora can be large
        loaded[run_id] = shown
    return loaded[run_id]


def pick_run() -> ShownResult | None:
    """The run picker; None when there is nothing to pick or the pick could not be loaded (said on the page)."""
    choices = _choices()
    if not choices:
        st.info("No results yet. Score texts on the **Token view** (or with `python -m backend score`), "
                "then come back here.")
        return None
    choice = st.selectbox("Run", list(choices), format_func=choices.get, key="diff_run",
                          help="The result on screen, or any saved run (the Runs page lists them).")
    return current_result() if choice == CURRENT else as_chosen(_kept(choice))


def run_key(shown: ShownResult) -> str:
    """What the page's session caches are keyed by: the run id, or the object for an unsaved result,
    and the word probability shown (groups and features differ between the two)."""
    base = shown.run_id or f"memory-{id(shown.pair)}"
    return base if word_probability() == "corrected" else f"{base}|prefix"


def model_names(shown: ShownResult) -> dict[str, str]:
    """"a" | "b" -> "A · label", as the page names the models."""
    label_a, label_b = shown.labels
    return {"a": f"A · {label_a}", "b": f"B · {label_b}"}


def introduce(shown: ShownResult, unit: str) -> int:
    """Name both models and the run's size, say which model failed; returns the number of words compared."""
    label_a, label_b = shown.labels
    words = shown.pair.words
    for side in ("a", "b"):
        if side in shown.errors:
            st.error(f"Model {side.upper()} has no results in this run: {literal(shown.errors[side])}")
    n_compared = int(np.isfinite(words["delta"].to_numpy(float)).sum()) if len(words) else 0
    n_texts = len(shown.pair.texts)
    st.markdown(f"**A** = {literal(label_a)} · **B** = {literal(label_b)} · "
                f"{n_texts:,} text{'s' if n_texts != 1 else ''} · {n_compared:,} words compared · Δ in {unit}")
    if n_compared == 0:
        st.info("No word was scored by both models in this run, so there is nothing to compare.")
    return n_compared
