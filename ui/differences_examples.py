"""One word in its context, as the leaderboards and the feature cards list them, with a link to the token view."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from analysis import differences as D, heatmap
from analysis.difference_plots import COLOURS
from analysis.schema import to_display_units
from ui.links import open_at
from ui.state import ShownResult

TIE = "#adb5bd"  # a tie: neither model's colour


def fmt(value: float, digits: int = 2) -> str:
    """A signed number, or – when missing."""
    return "–" if value is None or not np.isfinite(value) else f"{value:+.{digits}f}"


def prob(logprob: float) -> str:
    """A probability for the examples: three decimals, or two significant digits when smaller than 0.001
    (a Δ of 15 nats next to "p 0.000" looked like a division by zero)."""
    if logprob is None or not np.isfinite(logprob):
        return "–"
    p = float(np.exp(logprob))
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def example_html(logprob_a: float, logprob_b: float, text_id: int, left: str, word: str, right: str,
                 unit: str) -> str:
    """Δ, both probabilities, the text's number and the context of one word (logprobs in nats; numbers only
    here, the context is escaped by analysis/heatmap.py)."""
    delta = logprob_a - logprob_b
    side = "a" if delta > 0 else "b" if delta < 0 else None
    d = float(to_display_units(delta, unit))
    context = heatmap.example_in_context(left, D.visible(word) if word.isspace() else word, right,
                                         COLOURS.get(side or "", TIE))
    return (f"<div style='font-size:0.9em;line-height:1.5'>"
            f"<b style='color:{COLOURS.get(side or '', '#555')}'>Δ {fmt(d)}</b> "
            f"<span style='color:#777'>p<sub>A</sub> {prob(logprob_a)} · "
            f"p<sub>B</sub> {prob(logprob_b)} · text {text_id + 1}</span><br>{context}</div>")


def example_rows(rows: pd.DataFrame, key: str, shown: ShownResult, unit: str) -> None:
    """Examples with their context, both probabilities and Δ, each with a button to open it in the token view.

    rows: a table with text_id, char_start, char_end, logprob_a, logprob_b, left, word_text, right.
    """
    for i, r in enumerate(rows.itertuples(index=False)):
        c1, c2 = st.columns([14, 1], vertical_alignment="center")
        c1.html(example_html(r.logprob_a, r.logprob_b, r.text_id, r.left, r.word_text, r.right, unit))
        if c2.button("", key=f"{key}_{i}", icon=":material/open_in_new:", help="Open this text in the token view"):
            open_at(shown, r.text_id, r.char_start, r.char_end)
