"""The word an example was about (a leaderboard row, a BehaviorBox card): marked in the token view and scrolled to.

Differences writes session_state["focus"] = {run_id, text_id, char_start, char_end} when an
example is opened; the token view marks that span in every map (analysis/heatmap.py's focus)
and scrolls the first marked cell into view once.
"""

from __future__ import annotations

import streamlit as st

from ui.state import ShownResult

# A fixed script: no user text goes in (the heatmap gives the marked cell its id). Tried a few
# times because the maps above may mount a moment after this element.
SCROLL = """<script>
(function tries(left) {
  const cell = document.querySelector('.duet-heatmap .duet-focus[id$="-focus"]');
  if (cell) { cell.scrollIntoView({block: "center", inline: "nearest"}); return; }
  if (left > 0) setTimeout(() => tries(left - 1), 150);
})(20);
</script>"""


def focus_span(shown: ShownResult, text_id: int) -> tuple[int, int] | None:
    """The (char_start, char_end) to mark in text_id of this result, or None when the focus is elsewhere."""
    focus = st.session_state.get("focus")
    if not focus or focus.get("run_id") != shown.run_id or focus.get("text_id") != text_id:
        return None
    return int(focus["char_start"]), int(focus["char_end"])


def scroll_to_focus() -> None:
    """Scroll the marked word into view (call after the maps are drawn)."""
    st.html(SCROLL, unsafe_allow_javascript=True)
