"""What the token view says above its input: the models of the result it shows, and the way back after a refresh.

The caption names the models of what is on screen (a reloaded run keeps its own pair,
whatever the sidebar now holds); with nothing on screen, the sidebar's. A browser refresh
starts a new session with nothing on screen: the newest saved run is offered back.
"""

from __future__ import annotations

import streamlit as st

from backend.errors import user_message
from ui.markdown import literal
from ui.runs import load_shown
from ui.state import ShownResult, current_specs, set_result
from ui.tables import run_title
from ui.user import run_store

INTRO = "Two language models read the same text; each piece is coloured by how surprised the model was."


def models_caption(shown: ShownResult | None) -> str:
    """Which models the page is about: those of the result shown, else the sidebar's."""
    try:
        sidebar = current_specs()
    except Exception:  # noqa: BLE001 - the sidebar shows what is wrong with the spec
        sidebar = None
    if shown is None:
        if sidebar is None:
            return f"{INTRO} Pick them in the sidebar."
        return (f"{INTRO} **A** = {literal(sidebar[0].label)}, **B** = {literal(sidebar[1].label)} "
                "(change them in the sidebar).")
    a, b = shown.labels
    line = f"{INTRO} Shown: **A** = {literal(a)}, **B** = {literal(b)}."
    if (shown.model_a, shown.model_b) != (st.session_state.get("model_a"), st.session_state.get("model_b")):
        line += " The sidebar now holds another pair: **Score** scores the text with it."
    return line


def _reopen(run_id: str) -> None:
    try:
        set_result(load_shown(run_id))
    except Exception as error:  # noqa: BLE001 - RunNotFound, a damaged file
        st.session_state["_tv_reopen_error"] = user_message(error)


def offer_last_run() -> None:
    """With nothing on screen, a button that reopens the newest saved run (named, so it is recognised)."""
    error = st.session_state.pop("_tv_reopen_error", None)
    if error:
        st.error(f"Could not reopen the run: {literal(error)}")
    try:
        store = run_store()
        runs = store.list()
    except Exception:  # noqa: BLE001 - the run store is optional here; the Runs page says what is wrong
        return
    if not runs.empty:
        runs = runs[runs["owner"] == store.user]  # "your last run": not a colleague's shared one
    if runs.empty:
        return
    last = runs.iloc[0]  # the store lists the newest first
    title = literal(run_title(last["name"], last["created"]))  # a run's name is user text
    st.button(f"Reopen your last run: “{title}”", key="tv_reopen", on_click=_reopen, args=(str(last["id"]),),
              icon=":material/history:",
              help="After a refresh nothing is on screen; runs are saved, so the last one reopens without scoring.")
