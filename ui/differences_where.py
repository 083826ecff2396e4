"""The "Where they differ" tab: texts and spans of a run ranked by how much the models differ, a histogram to
pick from, and one click to open a text in the token view at its span.

The ranking tables are built once per run (backend/store/runs.py persists them); this tab reads them,
filters and sorts. Nothing here recomputes a score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from analysis import corpus_ranking as C
from analysis.corpus_plots import display_values, histogram_bins, measure_histogram
from backend.errors import user_message
from ui.links import open_at
from ui.markdown import literal
from ui.state import ShownResult
from ui.user import run_store

LEVELS = {"texts": "Texts", "spans": "Spans (5–20 words)"}
DIRECTIONS = {"either": "either model", "a": "A better", "b": "B better"}
SHOWN_ROWS = 200  # rows in the table: the top of the ranking, the rest is a download away


def corpus_tables(shown: ShownResult, key: str) -> dict:
    """{"texts", "spans", "meta"} of this run, read once per session and run (built in memory for a run that
    was not saved, or for the prefix word probability, which the saved tables do not follow)."""
    cache = st.session_state.setdefault("_where", {})
    if cache.get("key") != key:
        tables, meta = None, None
        if shown.run_id:
            try:
                store = run_store()
                meta = store.optional(shown.run_id).get("text_meta")
                if not key.endswith("|prefix"):
                    tables = store.ranking(shown.run_id)
            except Exception as error:  # noqa: BLE001 - built here instead; the view still works
                st.warning(f"Saved ranking unavailable, building it now: {literal(user_message(error))}")
        if tables is None:
            pair = shown.pair
            with st.spinner("Ranking texts and spans…"):
                tables = C.build(pair.texts, pair.words, pair.tokens, shown.same_vocab)
        cache.clear()
        cache.update(key=key, tables={**tables, "meta": meta})
    return cache["tables"]


def _domain_filter(rows: pd.DataFrame, meta: pd.DataFrame | None) -> tuple[pd.DataFrame, str | None]:
    """Rows limited to the chosen values of a metadata column; the column's name (None without metadata)."""
    if meta is None or meta.empty:
        return rows, None
    c1, c2 = st.columns([1, 3])
    columns = list(meta.columns)
    column = c1.selectbox("Metadata", columns, index=columns.index("domain") if "domain" in columns else 0,
                          key="where_meta_col", help="A column kept with the texts (e.g. domain)")
    values = sorted(meta[column].dropna().unique().tolist())
    chosen = c2.multiselect(f"Only these values of {column}", values, key=f"where_meta_{column}",
                            placeholder="all")
    labels = rows["text_id"].map(meta[column])
    rows = rows.assign(**{column: labels.to_numpy()})
    return (rows[labels.isin(chosen).to_numpy()] if chosen else rows), column


def _focus_span(row: pd.Series, level: str, measure: str) -> tuple[int, int] | None:
    """Where in the text the chosen row's disagreement is: the span, the position of largest KL, or the
    text's largest span."""
    if level == "spans":
        return int(row["char_start"]), int(row["char_end"])
    if C.MEASURES[measure].same_vocab and pd.notna(row.get("kl_start", np.nan)):
        return int(row["kl_start"]), int(row["kl_end"])
    if pd.notna(row.get("span_start")):
        return int(row["span_start"]), int(row["span_end"])
    return None


def _snippet(texts: list[str], t: int, start, end, width: int = 90) -> str:
    text = texts[int(t)]
    if pd.isna(start):
        return " ".join(text.split())[:width]
    s, e = int(start), int(end)
    left = " ".join(text[max(0, s - 30):s].split())
    return ("…" + left + " ⟦" + " ".join(text[s:e].split()) + "⟧ " + " ".join(text[e:e + 30].split()) + "…")[:width * 2]


def show(shown: ShownResult, unit: str, key: str) -> None:
    tables = corpus_tables(shown, key)
    texts = shown.pair.texts
    c1, c2, c3, c4 = st.columns([2, 3, 2, 2], vertical_alignment="bottom")
    level = c1.radio("Rank", list(LEVELS), format_func=LEVELS.get, key="where_level", horizontal=True)
    table = tables[level]
    if level == "spans":
        size = c4.select_slider("Span (words)", C.SPAN_SIZES, value=C.DEFAULT_SPAN, key="where_size")
        table = table[table["size"] == size]
    measures = C.offered(table, level)
    if not measures:
        st.info("No text here has words scored by both models: nothing to rank.")
        return
    measure = c2.selectbox("By", measures, format_func=lambda m: C.MEASURES[m].label, key=f"where_measure_{level}",
                           help="\n".join(f"- **{C.MEASURES[m].label}**: {C.MEASURES[m].help}" for m in measures))
    m = C.MEASURES[measure]
    direction = "either"
    if m.order == "abs":
        direction = c3.radio("Where", list(DIRECTIONS), format_func=DIRECTIONS.get, key="where_direction",
                             horizontal=True, help="either: largest difference whichever way; A better / B better: "
                                                   "that model's biggest advantage first")
    rows, meta_column = _domain_filter(table, tables.get("meta"))
    shown_unit = {"nats": unit, "bits/byte": "bits/byte", "share": "%"}[m.unit]
    values = display_values(rows[measure].to_numpy(float), m.unit, unit)
    counts, edges = histogram_bins(values)
    what = "texts" if level == "texts" else f"{size}-word spans"
    fig = measure_histogram(counts, edges, f"{m.label} over {len(rows):,} {what}", f"{m.label} ({shown_unit})",
                            signed=m.order == "abs" and measure != "share_won_a")
    event = st.plotly_chart(fig, key=f"where_hist_{level}_{measure}", on_select="rerun",
                            selection_mode=("points", "box"), config={"displaylogo": False})
    bins = sorted({int(p["point_index"]) for p in (event.selection.points if event else []) if "point_index" in p})
    if bins:
        keep = np.zeros(len(rows), bool)
        for b in bins:
            keep |= (values >= edges[b]) & (values < edges[b + 1])
        rows = rows[keep]
        st.caption(f"{len(rows):,} {what} in the selected bar{'s' if len(bins) > 1 else ''} "
                   "(click the chart's empty space or double-click to clear).")
    ranked = C.rank(rows, measure, direction=direction)
    top = ranked.head(SHOWN_ROWS)
    start_col, end_col = ("char_start", "char_end") if level == "spans" else (
        ("kl_start", "kl_end") if m.same_vocab and "kl_start" in top else ("span_start", "span_end"))
    view = pd.DataFrame({
        "rank": np.arange(1, len(top) + 1), "text": top["text_id"].to_numpy() + 1,
        **({meta_column: top[meta_column].to_numpy()} if meta_column else {}),
        m.label: display_values(top[measure].to_numpy(float), m.unit, unit),
        "words": top["n_words"].to_numpy(),
        "where": [_snippet(texts, t, s, e) for t, s, e in zip(top["text_id"], top[start_col], top[end_col])],
    })
    nonce = st.session_state.get("where_nonce", 0)
    picked = st.dataframe(view, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                          key=f"where_table_{nonce}", column_config={
                              m.label: st.column_config.NumberColumn(f"{m.label} ({shown_unit})", format="%+.3f"
                                                                     if m.order == "abs" else "%.3f"),
                              "where": st.column_config.TextColumn("where (⟦the span⟧)", width="large"),
                          })
    st.caption(f"The {min(len(ranked), SHOWN_ROWS):,} {what} where the models differ most by {m.label[0].lower() + m.label[1:]}, "
               f"of {len(ranked):,}. Click a row to open the text in the token view at the span.")
    if picked and picked.selection.rows:
        row = top.iloc[picked.selection.rows[0]]
        span = _focus_span(row, level, measure)
        st.session_state["where_nonce"] = nonce + 1  # a fresh table next time: the click does not fire again
        open_at(shown, int(row["text_id"]), *(span or (0, 0)))
