"""Duet: compare two causal language models token by token.

The entrypoint only routes: the pages, registered explicitly, and the one
shared sidebar (model pickers, units). Pages draw; backend/ runs models;
analysis/ does the numbers.
"""

from pathlib import Path

import streamlit as st

from backend.policy import SettingsError, load_settings
from backend.store.paths import sweep_cache
from ui import preload
from backend.store.runs import purge_trash
from ui.markdown import literal
from ui.router import routing
from ui.sidebar import render_sidebar
from ui.user import require_login

ROOT = Path(__file__).resolve().parent

st.set_page_config(page_title="Duet · compare two language models", page_icon="🎼", layout="wide")

try:
    settings = load_settings()  # make run checks it before the server starts; this catches a later edit
except SettingsError as error:
    st.error(f"Duet cannot start: invalid operator settings. {literal(error)}")
    st.stop()

preload.start()  # the default pair, on a thread, once per server process (DUET_PRELOAD=0: off)
require_login()  # auth = "oidc" and nobody signed in: the sign-in page, and nothing else is routed

# (path, title, icon, url path); optional pages appear once their file exists in the checkout.
# Explicit url paths: without them, a pages/ folder makes Streamlit's testing harness
# rerun a page file on its own, skipping this router and its sidebar.
PAGES = [
    ("pages/token_view.py", "Token view", ":material/compare_arrows:", "token-view"),
    ("pages/differences.py", "Differences", ":material/difference:", "differences"),
    ("pages/uncertainty.py", "Uncertainty", ":material/psychology_alt:", "uncertainty"),
    ("pages/runs.py", "Runs", ":material/history:", "runs"),
]

pages = [
    st.Page(ROOT / path, title=title, icon=icon, url_path=url, default=(path == PAGES[0][0]))
    for path, title, icon, url in PAGES
    if (ROOT / path).is_file()
]
navigation = st.navigation(pages)
sweep_cache()  # crashed writers' leftovers in the cache; once per server process
with st.sidebar:
    preload.status_area()  # above the pickers, where it is seen without scrolling
purge_trash(settings.trash_days)  # runs trashed over trash_days ago; at most hourly per server process
render_sidebar()
with routing():  # pages check they were reached through here (ui/router.py)
    navigation.run()
