"""ui.markdown.literal: user text in st.markdown shows exactly as typed (rendered by Streamlit itself)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

HOSTILE = 'After: "`" (7/25), $5 and $6, :red[alert] *bold* [link](http://x) <b>x</b> a_b_c # h \\ end'


def _page(text: str) -> None:
    import streamlit as st

    from ui.markdown import literal

    st.markdown(f"**Description:** {literal(text)}")


def test_literal_round_trips_through_markdown():
    at = AppTest.from_function(_page, args=(HOSTILE,)).run()
    assert not at.exception
    source = at.markdown[0].value
    # Every character of the text is there, each punctuation mark behind one backslash.
    unescaped = source.removeprefix("**Description:** ").replace("\\\\", "\0").replace("\\", "").replace("\0", "\\")
    assert unescaped == HOSTILE


def test_literal_keeps_letters_and_flattens_lines():
    from ui.markdown import literal

    assert literal("plain words 123") == "plain words 123"
    assert literal("two\nlines") == "two lines"
    assert literal("$x$") == r"\$x\$"
