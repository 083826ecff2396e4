"""The Runs page's trash: "Move to trash" with an Undo for the session, and the Trash section with Restore.

A trashed run's folder moves into the store's trash in one rename (backend/store/catalog.py); the
store deletes it for good trash_days after (the operator's setting, purged when the app starts
and hourly after). Only a run's owner can trash or restore it: the store refuses anyone else.
"""

from __future__ import annotations

import streamlit as st

from backend.errors import user_message
from ui.markdown import literal
from ui.tables import readable_time, run_title
from ui.user import operator_settings, run_store

MESSAGE = "_runs_message"  # (kind, text) the Runs page shows once, above its listing
UNDO = "_runs_undo"  # (run_id, title) of the run this session last moved to the trash


def move_to_trash(run_id: str, title: str) -> None:
    """Button callback: trash the run (the store checks the owner); the page offers Undo afterwards."""
    shown_title = f"“{literal(title)}”"
    try:
        run_store().trash(run_id)
    except Exception as error:  # noqa: BLE001 - NotOwner, RunNotFound, a disk error: one line
        st.session_state[MESSAGE] = ("error", f"Could not move run {shown_title} to the trash: "
                                              f"{literal(user_message(error))}")
        return
    if st.session_state.get("_runs_shown") == run_id:
        st.session_state.pop("_runs_shown")
    st.session_state[UNDO] = (run_id, title)
    st.session_state[MESSAGE] = ("success", f"Moved run {shown_title} to the trash.")


def restore(run_id: str, title: str) -> None:
    """Button callback: put the run back from the trash, listed as before."""
    shown_title = f"“{literal(title)}”"
    try:
        run_store().restore(run_id)
    except Exception as error:  # noqa: BLE001 - purged meanwhile, NotOwner: one line
        st.session_state[MESSAGE] = ("error", f"Could not restore run {shown_title}: {literal(user_message(error))}")
        return
    if (st.session_state.get(UNDO) or (None,))[0] == run_id:
        st.session_state.pop(UNDO)
    st.session_state[MESSAGE] = ("success", f"Restored run {shown_title}.")


def undo_button() -> None:
    """Under the page's message: Undo the last move to the trash of this session (until it is restored)."""
    last = st.session_state.get(UNDO)
    if last:
        st.button(f"Undo: restore “{literal(last[1])}”", key="run_undo", on_click=restore, args=last,
                  icon=":material/undo:")


def trash_section() -> None:
    """The user's runs in the trash, with Restore; says when they are deleted for good."""
    try:
        trashed = run_store().trashed()
    except Exception as error:  # noqa: BLE001 - the trash is housekeeping: the listing above stays usable
        st.warning(f"The trash is unreadable: {literal(user_message(error))}")
        return
    days = operator_settings().trash_days
    with st.expander(f"Trash ({len(trashed)})", icon=":material/delete:"):
        st.caption(f"Runs moved to the trash are deleted for good {days} day{'s' if days != 1 else ''} later. "
                   "Until then they appear nowhere else (not in pickers, not through links).")
        if trashed.empty:
            st.info("The trash is empty.")
            return
        titles = {i: run_title(n, c) for i, n, c in zip(trashed["id"], trashed["name"], trashed["created"])}
        st.dataframe(trashed.assign(created=trashed["created"].map(readable_time),
                                    trashed=trashed["trashed"].map(readable_time)),
                     hide_index=True, width="stretch")
        choice = st.selectbox("Run in the trash", list(titles), format_func=titles.get, key="trash_choice")
        st.button("Restore", key="trash_restore", on_click=restore, args=(choice, titles[choice]),
                  icon=":material/restore_from_trash:")
