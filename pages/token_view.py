"""Token view: type, upload or pick a text, score it with both models, and read the two heatmaps side by side."""

import streamlit as st

from ui.inputs import input_texts
from ui import jobs
from ui.links import apply_link, write_link
from ui.scoring import KIND, run_scoring, scoring_area
from ui.state import current_result
from ui.token_view_header import models_caption, offer_last_run
from ui.views import render_result
from ui.router import use_router

use_router()  # before drawing anything: see ui/router.py

st.header("Duet · token view", anchor=False)
apply_link()  # a shared link in the address: its run, text and span
# A slot filled at the end: Score (below) may replace the result whose models it names.
caption = st.empty()

texts, input_errors = input_texts()
with st.container(horizontal=True, vertical_alignment="center"):
    # One scoring at a time per session: the progress area below has its Cancel.
    score = st.button("Score", type="primary", key="score", icon=":material/play_arrow:", disabled=jobs.running(KIND))
    with st.popover("Scoring settings", icon=":material/tune:"):
        top_k = st.number_input("Alternatives kept per token (top-k)", 1, 20, 5, key="top_k",
                                help="How many of the model's best guesses the tooltips list.")
        window = st.number_input("Context window in tokens (0: the model's own, up to 2048)", 0, 32768, 0,
                                 step=256, key="window",
                                 help="Longer texts are scored in overlapping windows of this size.")
# Always present: the ask before long work, the running job's progress (polled alone, not the page) and
# how the last scoring ended; the views below keep their places in the page between runs.
with st.container():
    if score:
        if input_errors:
            st.error("Fix the upload problems above first; the results below are unchanged.")
        else:
            run_scoring(texts, top_k=int(top_k), window=int(window) or None,
                        text_meta=st.session_state.get("input_meta"))
    scoring_area()

shown = current_result()
caption.caption(models_caption(shown))
if shown is None:
    st.info("Pick two models in the sidebar, type a text or load a sample, and press **Score**.")
    offer_last_run()
else:
    st.divider()
    render_result(shown, "tv", link=write_link)  # the address names this view; "Copy link" above the maps
