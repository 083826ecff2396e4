"""Runs: every scoring is saved. List, reload (no model needed) or move them to the trash (and back)."""

import streamlit as st

from backend.errors import user_message
from ui.runs import can_change, listing_display, load_shown
from ui.runs_trash import move_to_trash, trash_section, undo_button
from ui.jobs_list import server_jobs
from ui.state import current_result, set_result
from ui.markdown import literal
from ui.tables import readable_time, run_title
from ui.user import run_store
from ui.views import render_result
from ui.router import use_router

use_router()  # before drawing anything: see ui/router.py

st.title("Runs")
st.caption("Every press of **Score** saves a run: the texts, both models, the settings and all result tables. "
           "Reloading draws the same views from the saved tables, without loading a model.")
server_jobs()  # every session's running and queued jobs, with Cancel


def _reload(run_id: str, title: str) -> None:
    """Show a saved run; title (its name or time, ui.tables.run_title) names it in the messages."""
    shown_title = f"“{literal(title)}”"  # a name is user text: shown as typed, never as markdown
    try:
        shown = load_shown(run_id)
    except Exception as error:  # noqa: BLE001 - RunNotFound, a damaged file
        st.session_state["_runs_message"] = ("error", f"Could not reload run {shown_title}: {literal(user_message(error))}")
        return
    set_result(shown)
    st.session_state["_runs_shown"] = run_id
    st.session_state["_runs_message"] = ("success", f"Reloaded run {shown_title}.")


def _import_corpus(folder: str) -> None:
    from backend.store.corpus_output import import_corpus_run

    if not folder.strip():
        st.session_state["_runs_message"] = ("error", "Give the path of a corpus output folder.")
        return
    try:
        run_id = import_corpus_run(folder.strip(), store=run_store())
    except Exception as error:  # noqa: BLE001 - not a folder, incomplete, damaged
        st.session_state["_runs_message"] = ("error", f"Could not open {literal(folder)}: {literal(user_message(error))}")
        return
    runs = run_store().list()
    row = runs[runs["id"] == run_id]
    title = run_title(row["name"].iloc[0], row["created"].iloc[0]) if len(row) else run_id
    _reload(run_id, title)
    st.session_state["_runs_message"] = ("success", f"Opened {literal(folder.strip())} as run “{literal(title)}”.")


with st.expander("Open a corpus scored with `python -m backend score --engine ray`", icon=":material/folder_open:"):
    folder = st.text_input("Output folder", key="corpus_folder", placeholder="/path/to/OUT")
    st.button("Open as a run", key="corpus_open", on_click=_import_corpus, args=(folder,))

message = st.session_state.pop("_runs_message", None)
if message:
    getattr(st, message[0])(message[1])
undo_button()

try:
    store = run_store()  # an unreadable catalog is moved aside and rebuilt here (store.notes says so)
    runs = store.list()
except Exception as error:  # noqa: BLE001 - a catalog that could not even be rebuilt: say so, no traceback
    st.error(f"The run catalog is unreadable: {literal(user_message(error))}")
    st.stop()
for note in store.notes:
    st.warning(literal(note), icon=":material/build:")
# An empty catalog comes back without columns: only a listing with rows has titles.
titles = {} if runs.empty else {i: run_title(n, c) for i, c, n in zip(runs["id"], runs["created"], runs["name"])}
if runs.empty:
    st.info("No runs yet. Score a text on the Token view and it appears here.")
else:
    st.dataframe(listing_display(runs, store), hide_index=True, width="stretch",
                 column_config={"name": st.column_config.TextColumn(width="medium", pinned=True),
                                "scored by": st.column_config.TextColumn(help="models that gave results in the run",
                                                                        pinned=True)})
    names = {i: f"{readable_time(c)} · {n}" for i, c, n in zip(runs["id"], runs["created"], runs["name"])}
    run_id = st.selectbox("Run", list(names), format_func=names.get, key="run_choice")
    c1, c2, _ = st.columns([1, 1, 4])
    c1.button("Reload", key="run_reload", on_click=_reload, args=(run_id, titles[run_id]), type="primary",
              icon=":material/restore:", width="stretch")
    c2.button("Move to trash", key="run_delete", on_click=move_to_trash, args=(run_id, titles[run_id]),
              icon=":material/delete:", width="stretch", disabled=not can_change(runs, run_id, store),
              help="Only its owner can move a run to the trash.")
trash_section()

shown = current_result()
if shown is not None and shown.run_id is not None and shown.run_id == st.session_state.get("_runs_shown"):
    st.divider()
    title = titles.get(shown.run_id, shown.run_id)
    st.subheader(f"Run “{literal(title)}”")
    st.page_link("pages/token_view.py", label="Open it in the token view", icon=":material/compare_arrows:")
    render_result(shown, "runs")
