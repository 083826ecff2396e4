"""The "What B promotes" tab (same vocabulary only): tokens B raises or lowers most often, positions of highest KL.

Numbers from analysis/promotions.py over the run's token table (the top-k lists) and its same-vocabulary table;
built once per run and session, then only filtered and drawn.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import metrics
from analysis import promotions as P
from analysis.heatmap import visible_piece
from analysis.schema import to_display_units
from ui import downloads
from ui.links import open_at
from ui.state import ShownResult

BOUND_HELP = ("A token in only one model's top-k has no logprob in the other's list: it gets that model's k-th "
              "logprob instead, an upper bound of the real one. So for a token only B kept, the change shown is the "
              "least the real change can be (its 'raised' is sure); for a token only A kept, the most (its "
              "'lowered' is sure).")

ORDER_LABELS = {"count": "how often", "net": "net (raised − lowered)", "mean": "mean change"}


def available(shown: ShownResult) -> bool:
    """Only when the two models share a vocabulary (the run has a same-vocabulary table)."""
    return shown.same_vocab is not None and len(shown.same_vocab) > 0


def _changes(shown: ShownResult, key: str) -> pd.DataFrame:
    cache = st.session_state.setdefault("_promotes", {})
    if cache.get("key") != key:
        with st.spinner("Comparing the two models' top-k lists at every position…"):
            changes = P.token_changes(shown.pair.tokens)
        cache.clear()
        cache.update(key=key, changes=changes)
    return cache["changes"]


def _token_table(rows: pd.DataFrame, unit: str) -> pd.DataFrame:
    return pd.DataFrame({
        "token": [f"“{visible_piece(t)}”" for t in rows["token"]],
        "raised by B": rows["n_raised"].to_numpy(), "lowered by B": rows["n_lowered"].to_numpy(),
        "in a top-k": rows["n_positions"].to_numpy(),
        "mean change": to_display_units(rows["mean_change"].to_numpy(float), unit),
        "with a bound": rows["n_bounded"].to_numpy(), "token id": rows["token_id"].to_numpy(),
    })


def show(shown: ShownResult, unit: str, key: str) -> None:
    label_a, label_b = shown.labels
    changes = _changes(shown, key)
    st.markdown(f"A = **{label_a}**, B = **{label_b}** share one vocabulary, so their top-k lists compare token by "
                "token. At every position scored by both, each token in either model's top-k counts once: "
                "**B raised it** when log p_B − log p_A > 0 there, **lowered it** when < 0.")
    c1, c2 = st.columns([2, 3])
    n = c1.slider("Tokens shown", 5, 100, 20, key="promotes_n")
    order = c2.radio("Order by", P.ORDERS, format_func=ORDER_LABELS.get, horizontal=True, key="promotes_order",
                     help="How often: positions where B moved the token that way. Net: that less the positions it "
                          "moved it the other way (frequent tokens nudged both ways by noise drop out). Mean change: "
                          "how far, on average over the positions counted.")
    column_config = {
        "mean change": st.column_config.NumberColumn(f"mean change ({unit})", format="%+.3f",
                                                     help="Mean of log p_B − log p_A over the positions counted. "
                                                          + BOUND_HELP),
        "raised by B": st.column_config.NumberColumn(help="Positions where B gave the token more probability than A"),
        "lowered by B": st.column_config.NumberColumn(help="Positions where B gave the token less probability than A"),
        "in a top-k": st.column_config.NumberColumn(help="Positions where the token is in either model's top-k"),
        "with a bound": st.column_config.NumberColumn(help=BOUND_HELP),
    }
    left, right = st.columns(2)
    for column, way, title in ((left, "raised", "B raises most often"), (right, "lowered", "B lowers most often")):
        with column:
            st.markdown(f"**{title}**")
            st.dataframe(_token_table(P.most_changed(changes, way, n, order), unit), hide_index=True, width="stretch",
                         key=f"promotes_{way}", column_config=column_config)
    st.caption(f"{len(changes):,} distinct tokens appear in a top-k. " + BOUND_HELP)
    downloads.table_buttons(changes, "duet-token-changes", "promotes_dl")
    _highest_kl(shown, unit)


def _highest_kl(shown: ShownResult, unit: str) -> None:
    st.markdown("**Where the two distributions are furthest apart**")
    by = st.radio("By", P.KL_COLUMNS, format_func=lambda c: metrics.get(c).label, horizontal=True,
                  key="promotes_by", help=" ".join(f"{metrics.get(c).label}: {metrics.get(c).help}"
                                                   for c in P.KL_COLUMNS))
    top = P.highest_kl(shown.same_vocab, shown.pair.tokens, shown.pair.texts, by=by, n=30)
    view = pd.DataFrame({
        "text": top["text_id"].to_numpy() + 1,
        "context": [f"…{b} ⟦{t.strip()}⟧ {a}…" for b, t, a in zip(top["before"], top["token"], top["after"])],
        **{metrics.get(c).label: to_display_units(top[c].to_numpy(float), unit) for c in P.KL_COLUMNS},
        "A's top guess": [f"“{visible_piece(t)}”" for t in top["top_a"]],
        "B's top guess": [f"“{visible_piece(t)}”" for t in top["top_b"]],
    })
    nonce = st.session_state.get("promotes_nonce", 0)
    picked = st.dataframe(view, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                          key=f"promotes_kl_{nonce}", column_config={
                              "context": st.column_config.TextColumn("context (⟦the token⟧)", width="large"),
                              **{metrics.get(c).label: st.column_config.NumberColumn(
                                  f"{metrics.get(c).label} ({unit})", format="%.3f") for c in P.KL_COLUMNS}})
    st.caption(f"The {len(top)} positions of highest {metrics.get(by).label}, with a few words either side. "
               "Click a row to open the text in the token view at that token.")
    if picked and picked.selection.rows:
        row = top.iloc[picked.selection.rows[0]]
        st.session_state["promotes_nonce"] = nonce + 1  # a fresh table next time: the click does not fire again
        open_at(shown, int(row["text_id"]), int(row["char_start"]), int(row["char_end"]))
