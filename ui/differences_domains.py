"""The Domains tab (Paloma-style fit per domain) and the domain labels the Groups tab groups words by."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import streamlit as st

from analysis import differences as D
from analysis.corpus_domains import domain_fit
from analysis.corpus_plots import domain_chart
from ui import downloads
from ui.differences_where import corpus_tables
from ui.state import ShownResult


def _column(meta: pd.DataFrame) -> str:
    """The metadata column the page groups by: the one picked on the Where tab, else "domain", else the first."""
    picked = st.session_state.get("where_meta_col")
    if picked in meta.columns:
        return picked
    return "domain" if "domain" in meta.columns else meta.columns[0]


def with_domain(shown: ShownResult, key: str) -> tuple[ShownResult, str]:
    """The run with each word's domain label (D.DOMAIN_COLUMN) for the Groups tab, and the key its groups are
    cached under; the run as it is when it has no metadata."""
    meta = corpus_tables(shown, key).get("meta")
    if meta is None or meta.empty:
        return shown, key
    column = _column(meta)
    words = shown.pair.words
    labelled = words.assign(**{D.DOMAIN_COLUMN: words["text_id"].map(meta[column]).astype(object).to_numpy()})
    return dataclasses.replace(shown, pair=dataclasses.replace(shown.pair, words=labelled)), f"{key}|{column}"


def show(shown: ShownResult, key: str) -> None:
    tables = corpus_tables(shown, key)
    meta = tables.get("meta")
    if meta is None or meta.empty:
        st.info("This run has no metadata columns. Score a .csv or .jsonl corpus with `--meta-columns domain` "
                "(CLI) or keep its columns on upload, and the fit per domain shows here.")
        return
    column = _column(meta)
    cache = st.session_state.setdefault("_domains", {})
    if cache.get("key") != (key, column):
        with st.spinner("Resampling texts within each domain…"):
            fit = domain_fit(tables["texts"], meta[column])
        cache.clear()
        cache.update(key=(key, column), fit=fit)
    fit = cache["fit"]
    label_a, label_b = shown.labels
    st.markdown(f"Per value of **{column}** (pick another column on the *Where they differ* tab): each model's "
                "bits per byte over the domain's texts pooled, and A − B.")
    ci = lambda lo, hi: [f"{a:.3f} to {b:.3f}" if np.isfinite(a) else "– (one text)" for a, b in zip(lo, hi)]  # noqa: E731
    view = pd.DataFrame({
        "domain": fit["domain"], "texts": fit["n_texts"],
        f"bits/byte A · {label_a}": fit["bpb_a"], "A 95% CI": ci(fit["bpb_a_low"], fit["bpb_a_high"]),
        f"bits/byte B · {label_b}": fit["bpb_b"], "B 95% CI": ci(fit["bpb_b_low"], fit["bpb_b_high"]),
        "A − B": fit["bpb_diff"], "A − B 95% CI": ci(fit["diff_low"], fit["diff_high"]),
        "better": np.where(fit["diff_high"] < 0, "A", np.where(fit["diff_low"] > 0, "B", "–")),
    })
    st.dataframe(view, hide_index=True, width="stretch", key="domains_table", column_config={
        c: st.column_config.NumberColumn(format="%.3f") for c in view.columns if c.startswith("bits/byte")} | {
        "A − B": st.column_config.NumberColumn("A − B (bits/byte)", format="%+.3f",
                                               help="negative: A fits the domain better")})
    st.caption("Bits per byte compare models with different tokenisers fairly. Intervals resample the texts within "
               "each domain (1,000 resamples; A and B drawn together, so A − B is paired); 'better' only where "
               "the interval of A − B excludes 0.")
    fig = domain_chart(fit, label_a, label_b)
    st.plotly_chart(fig, key="domains_chart", config={"displaylogo": False})
    downloads.figure_buttons(fig, "duet-domain-fit", "domains_fig")
    downloads.table_buttons(fit, "duet-domain-fit", "domains_dl")
