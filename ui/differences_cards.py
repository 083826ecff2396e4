"""BehaviorBox feature cards: a feature's numbers, its context check, descriptions, top examples and Δ histogram."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from analysis import heatmap
from analysis.difference_plots import COLOURS, feature_histogram
from analysis.schema import to_display_units
from backend.behaviorbox import run as R
from backend.errors import user_message
from ui import downloads
from ui.differences_behaviorbox import may_save
from ui.differences_examples import example_rows, fmt
from ui.differences_run import model_names
from ui.markdown import literal
from ui.state import ShownResult

CARD_EXAMPLES = 8  # examples drawn per card; the rest are in the feature table export
CONTEXT_WORDS = 10  # words each side of an example


def context_line(f: pd.Series, cut: float, unit: str) -> str:
    """The card's verdict of analysis.behaviorbox.context_check, in words (numbers only: nothing to escape)."""
    if "holds_in_context" not in f.index:
        return "**Holds when words are picked by context alone:** unknown (saved before this check)"
    verdict = "yes" if f["holds_in_context"] else "no"
    if int(f["context_n"]) == 0:
        return f"**Holds when words are picked by context alone:** {verdict}, the feature never fires on context alone"
    p = f["context_p"]
    d = float(to_display_units(f["context_median_dlogprob"], unit))
    return (f"**Holds when words are picked by context alone:** {verdict}, "
            f"p = {'–' if not np.isfinite(p) else f'{p:.2g}'} (needs < {cut:.2g}) · "
            f"{int(f['context_n'])} words picked by context, median Δ {fmt(d)} {unit}, "
            f"{f['winner'].upper()} wins {f['context_consistency']:.0%}")


def _describe(bb: R.BehaviorBoxResult, feat: int, examples: pd.DataFrame, spec_string: str) -> None:
    """Ask a model to describe the feature from its examples; saved with the result, then redrawn."""
    try:
        from backend.models.resident import get_model
        from backend.models.specs import ModelSpec

        spec = ModelSpec.parse(spec_string)
        with st.spinner(f"{spec.label} is reading 20 examples…", show_time=True):
            text = R.describe_with_model(get_model(spec), examples)
        bb.model_descriptions[feat] = {"text": text, "model": spec.label}
        if may_save(bb):  # a colleague's shared run keeps it in this session only
            R.save_model_descriptions(bb)
        st.session_state.pop("_diff_sel", None)
        st.rerun()
    except Exception as error:  # noqa: BLE001
        st.error(f"No model-written description: {literal(user_message(error))}")


def _card(bb: R.BehaviorBoxResult, f: pd.Series, ex: pd.DataFrame, shown: ShownResult, unit: str, cut: float,
          describer: str) -> None:
    """One feature; ex: its examples in context (R.examples_in_context), best first."""
    feat = int(f["feature"])
    winner = f["winner"]
    names = model_names(shown)
    st.markdown(heatmap.feature_heading(feat, names[winner], COLOURS[winner]), unsafe_allow_html=True)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(f"median Δ ({unit})", fmt(float(to_display_units(f["median_dlogprob"], unit))))
    m2.metric("median Δp", fmt(f["median_dp"], 3))
    m3.metric("consistency", f"{f['consistency']:.0%}", help="share of its examples the winner wins")
    m4.metric("examples", int(f["n_examples"]))
    st.markdown(context_line(f, cut, unit))
    st.markdown(f"**Automatic description:** {literal(f['description'])}")
    written = bb.model_descriptions.get(feat)
    if written:
        st.info(f"**Model-written** by {literal(written.get('model', '?'))} (a guess, not a measurement): "
                f"{literal(written.get('text', ''))}", icon=":material/smart_toy:")
    if st.button(f"Ask {names[describer]} to describe it", key=f"bb_describe_{feat}", icon=":material/smart_toy:"):
        _describe(bb, feat, ex, shown.model_a if describer == "a" else shown.model_b)
    left, right = st.columns([3, 2])
    with left:
        st.markdown(f"**Top examples** ({min(CARD_EXAMPLES, len(ex))} of {len(ex)})")
        example_rows(ex.head(CARD_EXAMPLES), f"bb_ex_{feat}", shown, unit)
    with right:
        hist = feature_histogram(ex["dlogprob"].to_numpy(float), feat, winner, unit)
        st.plotly_chart(hist, key=f"bb_hist_{feat}", config={"displaylogo": False})
        downloads.figure_buttons(hist, f"duet-feature-{feat}-delta", f"bb_hist_dl_{feat}")


def show(bb: R.BehaviorBoxResult, features: pd.DataFrame, shown: ShownResult, unit: str, cut: float) -> None:
    """How many cards and who describes them, then one card per feature."""
    c1, c2 = st.columns([1, 2])
    n_cards = c1.number_input("Cards shown", 1, max(1, len(features)), min(10, len(features)), key="bb_cards")
    describers = model_names(shown)
    describer = c2.radio("Model-written descriptions by", list(describers), format_func=describers.get,
                         horizontal=True, key="bb_describer",
                         help="An instruct model (e.g. SmolLM2-135M-Instruct) reads 20 examples in context and "
                              "guesses what they share. A small model's guess: check it against the examples.")
    cards = features.head(int(n_cards))
    ex_all = R.examples_in_context(bb, shown.pair.words, shown.pair.texts, cards["feature"].tolist(),
                                   context_words=CONTEXT_WORDS)
    for _, f in cards.iterrows():
        with st.container(border=True):
            _card(bb, f, ex_all[ex_all["feature"] == int(f["feature"])], shown, unit, cut, describer)
