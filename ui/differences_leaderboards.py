"""The Leaderboards tab: the words where each model beats the other most, each in its context."""

from __future__ import annotations

import streamlit as st

from analysis import differences as D
from ui import downloads
from ui.differences_examples import example_rows
from ui.differences_run import model_names
from ui.markdown import literal
from ui.state import ShownResult


def show(shown: ShownResult, unit: str) -> None:
    pair = shown.pair
    names = model_names(shown)
    c1, c2 = st.columns(2)
    n_top = c1.slider("Words per list", 5, 100, 20, key="diff_top_n")
    context = c2.slider("Context (words each side)", 2, 30, 10, key="diff_context")
    boards = {side: D.leaderboard(pair.words, pair.texts, n_top, side, context) for side in ("a", "b")}
    for column, side in zip(st.columns(2), ("a", "b")):
        with column:
            other = "b" if side == "a" else "a"
            st.markdown(f"**Where {literal(names[side])} beats {other.upper()} most**")
            board = boards[side]
            wins = board[(board["delta"] > 0) if side == "a" else (board["delta"] < 0)]
            if wins.empty:
                st.info(f"{side.upper()} predicted no word better than {other.upper()}.")
            else:
                example_rows(wins, f"diff_lb_{side}", shown, unit)
            downloads.table_buttons(board, f"duet-leaderboard-{side}-wins", f"diff_lb_dl_{side}")
