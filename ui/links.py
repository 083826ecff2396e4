"""Opening a run at a text and a span in the token view, from a click on another page."""

from __future__ import annotations

import streamlit as st

from ui.state import ShownResult, current_result, set_result


def open_at(shown: ShownResult, text_id: int, start: int, end: int) -> None:
    """Show this run in the token view at text_id, the span [start, end) marked and scrolled to (ui/focus.py)."""
    if current_result() is not shown:
        set_result(shown)
    st.session_state["tv_text"] = int(text_id)
    st.session_state["focus"] = {"run_id": shown.run_id, "text_id": int(text_id), "char_start": int(start),
                                 "char_end": int(end)}
    st.switch_page("pages/token_view.py")
