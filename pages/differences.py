"""Differences: where, and in which contexts, one model beats the other.

Pick a run (the result on screen or any saved run). Views over its word
table, Δ = logprob_A − logprob_B per word (positive: A predicted it better):
where in the corpus the models differ most (texts and spans ranked), the fit
per domain when the texts carry metadata, leaderboards of the biggest wins each way, aggregates by word group with
bootstrap intervals, what B promotes (tokens raised and lowered, positions of highest KL) when the models share
a vocabulary, and BehaviorBox (a sparse autoencoder over contextual,
performance-aware word vectors) for finer contexts, with feature cards.

Layout only: each section is a ui/differences_*.py module; the numbers come from
analysis/ and backend/behaviorbox/. Torch is imported only when training starts.
"""

from __future__ import annotations

import streamlit as st

from ui import (calibration_view, differences_cards, differences_domains, differences_features, differences_groups,
                differences_leaderboards, differences_promotes, differences_where)
from ui.differences_behaviorbox import trained
from ui.differences_run import introduce, pick_run, run_key
from ui.router import use_router
from ui.state import units

use_router()  # before drawing anything: see ui/router.py

st.header("Differences", anchor=False)
st.caption("Where, and in which contexts, one model predicts the text better than the other. "
           "Δ = log p(word | A) − log p(word | B): positive means **A** predicted the word better, negative **B**. "
           "Words are shared by both models, so different tokenisers compare fairly.")

shown = pick_run()
if shown is None:
    st.stop()
unit = units()
key = run_key(shown)
if introduce(shown, unit) == 0:
    st.stop()

TABS = ["Where they differ", "Domains", "Leaderboards", "Groups", "BehaviorBox", "Calibration"]
PROMOTES = "What B promotes"  # only when both models share a vocabulary
# A link may name the tab (?tab=Domains). Not bound with bind="query-params": a bound parameter makes
# st.switch_page (an example opened in the Token view) fail, as it cannot clear the address.
linked_tab = st.query_params.get("tab")
names = TABS + [PROMOTES] if differences_promotes.available(shown) else TABS
tab_where, tab_domains, tab_leader, tab_groups, tab_bb, tab_calib, *tab_promotes = st.tabs(
    names, default=linked_tab if linked_tab in names else None, key="tab")

with tab_where:
    differences_where.show(shown, unit, key)

with tab_domains:
    differences_domains.show(shown, key)

with tab_leader:
    differences_leaderboards.show(shown, unit)

with tab_groups:
    grouped, group_key = differences_domains.with_domain(shown, key)  # words carry their text's domain
    differences_groups.show(grouped, unit, group_key)

with tab_bb:
    bb = trained(shown, key)
    selection = differences_features.select(bb, shown, unit, key) if bb is not None else None
    if selection is not None:
        differences_cards.show(bb, selection.features, shown, unit, selection.cut)

with tab_calib:
    calibration_view.show(shown, "diff")

for tab in tab_promotes:
    with tab:
        differences_promotes.show(shown, unit, key)
