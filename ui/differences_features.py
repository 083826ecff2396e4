"""BehaviorBox features that pass the selection: the thresholds, the counts, the downloads and the overview chart."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from analysis import behaviorbox as B
from analysis.difference_plots import feature_overview
from backend.behaviorbox import run as R
from ui import downloads
from ui.markdown import literal
from ui.state import ShownResult


@dataclass(frozen=True)
class Selection:
    """The features to show as cards and the context check's Bonferroni cut (p below it: holds in context)."""

    features: pd.DataFrame  # selected features, filtered by winner
    cut: float


def _caption(bb: R.BehaviorBoxResult) -> None:
    s = bb.settings
    total_s = sum(bb.timings.values()) if bb.timings else float("nan")
    loss = bb.history.get("loss") or [float("nan")]
    st.caption(
        f"Trained on {bb.n_words:,} words · dictionary {s.dict_size:,}, k {s.k}, {s.steps:,} steps, w {s.w} · "
        f"final loss {loss[-1]:.4f} · {total_s:.0f} s"
        + (f" (embedding {bb.timings.get('embedding', 0):.0f} s, SAE {bb.timings.get('training', 0):.0f} s)"
           if bb.timings else "")
        + (" · saved with the run" if bb.folder else " · not saved (this result is not a saved run)")
    )


def _selected(bb: R.BehaviorBoxResult, shown: ShownResult, run_key: str, min_lp: float, min_p: float, min_ex: int,
              require_context: bool) -> pd.DataFrame:
    """R.selected_features, kept in the session for the same result and thresholds."""
    sel_key = (run_key, id(bb), min_lp, min_p, int(min_ex), require_context)
    cached = st.session_state.get("_diff_sel")
    if cached is None or cached[0] != sel_key:
        cached = (sel_key, R.selected_features(bb, shown.pair.words, shown.pair.texts, min_lp, min_p, int(min_ex),
                                                require_context=require_context))
        st.session_state["_diff_sel"] = cached
    return cached[1]


def select(bb: R.BehaviorBoxResult, shown: ShownResult, unit: str, run_key: str) -> Selection | None:
    """The selection widgets and what they keep; None (with the reason shown) when no feature passes."""
    label_a, label_b = shown.labels
    s = bb.settings
    _caption(bb)
    c1, c2, c3, c4 = st.columns(4)
    min_lp = c1.number_input("min |median Δlogprob| (nats)", 0.0, 50.0, float(s.min_abs_median_logprob), 0.25,
                             key="bb_min_lp", help="A feature is kept when this OR the Δp threshold is passed.")
    min_p = c2.number_input("min |median Δp|", 0.0, 1.0, float(s.min_abs_median_p), 0.05, key="bb_min_p")
    min_ex = c3.number_input("min examples", 1, 500, int(s.min_examples), key="bb_min_ex")
    winner_filter = c4.radio("Winner", ["both", "a", "b"], horizontal=True, key="bb_winner",
                             format_func={"both": "Both", "a": "A wins", "b": "B wins"}.get)
    checked = R.has_context_check(bb)
    n_tested = max(1, len(bb.stats))
    cut = B.CONTEXT_ALPHA / n_tested
    require_context = st.checkbox(
        "Only features that hold when words are picked by context alone", value=bool(s.require_context),
        key="bb_require_context", disabled=not checked,
        help="The autoencoder sees both models' probabilities, so a feature can collect words where chance "
             "favoured one model. This check ranks words by the feature using context only (the probabilities "
             "set to their corpus average) and keeps the feature when its winner still wins on those words: "
             f"one-sided sign test, p < 0.05 / {n_tested:,} features tested = {cut:.2g} (Bonferroni).",
    )
    if not checked:
        st.caption("This result was saved before the context check existed: its features are shown unfiltered "
                   "and the check is unknown. Train again to check them.")
    selected = _selected(bb, shown, run_key, min_lp, min_p, min_ex, require_context)
    shown_sel = selected if winner_filter == "both" else selected[selected["winner"] == winner_filter]
    counts = selected["winner"].value_counts()
    st.markdown(f"**{len(selected)}** of {len(bb.stats):,} features that fired pass the selection: "
                f"**{counts.get('a', 0)}** where A ({literal(label_a)}) wins, "
                f"**{counts.get('b', 0)}** where B ({literal(label_b)}) wins.")
    export = shown_sel.assign(winner_model=shown_sel["winner"].map({"a": label_a, "b": label_b}))
    with st.expander("Download the feature tables"):
        st.caption("Selected features (with descriptions and the winning model), then every feature that fired. "
                   "Δ in nats, Δp in probability.")
        downloads.table_buttons(export, "behaviorbox-selected", "bb_dl_sel")
        downloads.table_buttons(bb.stats, "behaviorbox-all", "bb_dl_all")

    if shown_sel.empty:
        st.info("No feature passed the selection"
                + ("" if winner_filter == "both" else f" with {winner_filter.upper()} winning")
                + ". Lower the thresholds above"
                + (", turn off the context check (only to look: without it, chance passes for a difference)"
                   if require_context and checked else "")
                + ", or train with more words or steps.")
        return None

    fig = feature_overview(bb.stats, selected["feature"], checked, unit, label_a, label_b, s.top)
    with st.expander("All features at a glance", expanded=False):
        st.plotly_chart(fig, key="bb_overview", config={"displaylogo": False})
        downloads.figure_buttons(fig, "duet-behaviorbox-features", "bb_overview_fig")
    return Selection(shown_sel, cut)
