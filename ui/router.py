"""Every page runs through app.py's router, even when a page's address is the first one opened.

Streamlit keeps a legacy mode for apps with a pages/ folder (fixed by the
product's layout): until the main script has called st.navigation once in this
server process, a session that opens a page's address directly (a bookmark, a
reload after a restart) runs that page file on its own, with no shared sidebar
(no model pickers) and the file names as navigation. st.navigation switches the
mode off on its first call; `use_router` does the same from a page that was not
reached through app.py, and reruns, so app.py draws the sidebar and routes to
this page by its address.
"""

from __future__ import annotations

import contextlib
import threading

import streamlit as st

# Each session's script runs in its own thread, so "inside app.py's router" is per thread.
_state = threading.local()


@contextlib.contextmanager
def routing():
    """app.py runs the chosen page inside this block."""
    _state.routed = True
    try:
        yield
    finally:
        _state.routed = False


def use_router() -> None:
    """Call first in every page file; a no-op when app.py's router runs the page."""
    if getattr(_state, "routed", False):
        return
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False  # what st.navigation's first call sets
    st.rerun()
