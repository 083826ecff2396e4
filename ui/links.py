"""Links that reopen a view: the run, text, span, colouring, level and units in the address (st.query_params),
a "Copy link" box, and opening a run at a text and span in the token view from a click on another page.

A link names a saved run, so it reopens from the run store after a server restart with no model
loaded, for the run's owner (and everyone when the operator shares runs); a trashed run's link is stale. A link is applied once (the parameters the page last wrote are remembered), so later clicks
in the page are not undone by the address; a bad or stale link is said on the page and the default
view is shown. The Differences tab is read from ?tab= by pages/differences.py; units are taken by the
sidebar, which draws before any page.
"""

from __future__ import annotations

import streamlit as st

from analysis import heatmap
from backend.errors import user_message
from backend.store.catalog import NotOwner
from ui.markdown import literal
from ui.state import ShownResult, current_result, set_result

KEYS = ("run", "text", "span", "colour", "level", "units")  # the token view's own parameters


def open_at(shown: ShownResult, text_id: int, start: int, end: int) -> None:
    """Show this run in the token view at text_id, the span [start, end) marked and scrolled to (ui/focus.py)."""
    if current_result() is not shown:
        set_result(shown)
    st.session_state["tv_text"] = int(text_id)
    st.session_state["focus"] = {"run_id": shown.run_id, "text_id": int(text_id), "char_start": int(start),
                                 "char_end": int(end)}
    st.switch_page("pages/token_view.py")


def _params() -> dict[str, str]:
    return {k: st.query_params[k] for k in KEYS if k in st.query_params}


def _stale(message: str) -> None:
    st.warning(f"This link could not be opened: {message}. Showing the default view.", icon=":material/link_off:")
    for k in KEYS:
        if k != "units" and k in st.query_params:
            del st.query_params[k]
    st.session_state["_link_written"] = {}


def apply_link() -> None:
    """Call at the top of the token view: open what a new link in the address names (once per link)."""
    params = _params()
    if not params.get("run") or params == st.session_state.get("_link_written"):
        return
    from ui.runs import load_shown

    run_id = params["run"]
    shown = current_result()
    if shown is None or shown.run_id != run_id:
        try:
            shown = load_shown(run_id)
        except NotOwner:  # the store refused: a colleague's run on a server that does not share runs
            return _stale(f"run {literal(run_id)} belongs to another user")
        except Exception as error:  # noqa: BLE001 - RunNotFound (deleted or trashed run), a damaged folder
            return _stale(f"run {literal(run_id)} is not in the run store ({literal(user_message(error))})")
        set_result(shown)
    try:
        text_id = int(params.get("text", "1")) - 1
        if not 0 <= text_id < len(shown.pair.texts):
            raise ValueError(f"text {text_id + 1} is out of range (the run has {len(shown.pair.texts)})")
        focus = None
        if params.get("span"):
            start, _, end = params["span"].partition("-")
            focus = {"run_id": run_id, "text_id": text_id, "char_start": int(start), "char_end": int(end)}
    except ValueError as error:
        return _stale(literal(str(error)))
    st.session_state["tv_text"] = text_id
    if focus is not None:
        st.session_state["focus"] = focus
    both = shown.pair.tokens["model"].nunique() == 2
    if params.get("colour") in heatmap.offered_colourings(both, shown.same_vocab is not None):
        st.session_state["tv_colour"] = params["colour"]
    if params.get("level") in ("tokens", "words"):
        st.session_state["tv_level"] = params["level"]
    st.session_state["_link_written"] = params


def write_link(shown: ShownResult | None) -> None:
    """Call at the end of the token view: the address names what is on screen, with a box to copy it."""
    if shown is None or not shown.run_id:
        return
    params = {"run": shown.run_id, "text": str(int(st.session_state.get("tv_text") or 0) + 1)}
    focus = st.session_state.get("focus")
    if focus and focus.get("run_id") == shown.run_id and focus.get("text_id") == int(params["text"]) - 1:
        params["span"] = f"{int(focus['char_start'])}-{int(focus['char_end'])}"
    for key, name in (("tv_colour", "colour"), ("tv_level", "level"), ("units", "units")):
        if st.session_state.get(key):
            params[name] = str(st.session_state[key])
    # Written only where it changed: each write to st.query_params is a message to the browser that
    # rewrites its address (a history entry to replace), and most reruns change nothing in it.
    current = _params()
    if current != params:
        for k in KEYS:
            if k not in params and k in st.query_params:
                del st.query_params[k]
        st.query_params.update({k: v for k, v in params.items() if current.get(k) != v})
    st.session_state["_link_written"] = params
    # The units now in the address are ours, not a shared link's: the sidebar must not take them back
    # over the user's next click (it applies a link's units once, when they differ from the last seen).
    st.session_state["_link_units"] = params.get("units")
    copy_link_box()


def copy_link_box() -> None:
    """A "Copy link" popover: the page's address (st.context.url) with its parameters, in a box with a copy button."""
    from urllib.parse import urlencode

    base = (st.context.url or "").split("?")[0]
    query = urlencode({k: v for k, v in st.query_params.to_dict().items()})
    with st.popover("Copy link", icon=":material/link:"):
        st.caption(f"{_who_can_open()} can open this view (the run is read from the run store; no model is loaded).")
        st.code(f"{base}?{query}" if query else base, language=None, wrap_lines=True)


def _who_can_open() -> str:
    from ui.user import operator_settings

    settings = operator_settings()
    if settings.auth == "none":
        return "Anyone on this server"
    return "Anyone signed in to this server" if settings.share_runs else "Only you (runs are not shared on this server)"
