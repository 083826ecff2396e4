"""Duet: compare two causal language models token by token.

The entrypoint only routes: the pages, registered explicitly, and the one
shared sidebar (model pickers, units). Pages draw; backend/ runs models;
analysis/ does the numbers.
"""

from pathlib import Path

import streamlit as st

from ui.sidebar import render_sidebar

ROOT = Path(__file__).resolve().parent

st.set_page_config(page_title="Duet · compare two language models", page_icon="🎼", layout="wide")

# (path, title, icon); optional pages appear once their file exists in the checkout.
PAGES = [
    ("pages/token_view.py", "Token view", ":material/compare_arrows:"),
    ("pages/differences.py", "Differences", ":material/difference:"),
    ("pages/uncertainty.py", "Uncertainty", ":material/psychology_alt:"),
    ("pages/runs.py", "Runs", ":material/history:"),
]

pages = [
    st.Page(ROOT / path, title=title, icon=icon, default=(path == PAGES[0][0]))
    for path, title, icon in PAGES
    if (ROOT / path).is_file()
]
navigation = st.navigation(pages)
render_sidebar()
navigation.run()
