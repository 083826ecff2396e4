"""The Groups tab: mean Δ per word group with intervals that resample texts, as a table and a chart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from analysis import differences as D
from analysis.difference_plots import group_chart
from analysis.schema import to_display_units
from ui import downloads
from ui.markdown import literal
from ui.state import ShownResult


def _ci_text(low: float, high: float, note: str) -> str:
    """The group's interval in display units, or why it has none (too few words, one text)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"– ({note or 'no interval'})"
    return f"{low:+.3f} to {high:+.3f}"


def groups_table(view: pd.DataFrame, unit: str) -> pd.DataFrame:
    """The group aggregates as the Groups tab shows them: display units, the interval as one readable cell."""
    low = to_display_units(view["ci_low"].to_numpy(float), unit)
    high = to_display_units(view["ci_high"].to_numpy(float), unit)
    return view.assign(
        mean_delta=to_display_units(view["mean_delta"], unit),
        median_delta=to_display_units(view["median_delta"], unit),
        ci=[_ci_text(lo, hi, note) for lo, hi, note in zip(low, high, view["ci_note"])],
        winner=np.where(~view["significant"], "–", np.where(view["mean_delta"] > 0, "A", "B")),
        a_win_share=view["a_win_share"] * 100,  # percent with a fixed format (see the column config)
    )[["family", "group", "winner", "mean_delta", "ci", "q_value", "significant", "n", "n_texts",
       "median_delta", "a_win_share"]]


def _aggregates(shown: ShownResult, run_key: str) -> pd.DataFrame:
    """The resampling takes seconds: one run's aggregates kept in the session."""
    cache = st.session_state.setdefault("_diff_groups", {})
    if run_key not in cache:
        with st.spinner("Resampling texts for the group intervals…"):
            cache.clear()
            cache[run_key] = D.group_aggregates(shown.pair.words)
    return cache[run_key]


def _filtered(agg: pd.DataFrame) -> pd.DataFrame:
    """The filter widgets, applied."""
    c1, c2, c3 = st.columns([3, 2, 1], vertical_alignment="bottom")
    families = c1.multiselect("Families", list(D.GROUPS), default=list(D.GROUPS), key="diff_families",
                              help="\n".join(f"- **{g.name}**: {g.description}" for g in D.GROUPS.values()))
    query = c2.text_input("Filter groups", key="diff_group_filter", placeholder="e.g. the, numbers, p1")
    only_sig = c3.checkbox("Significant only", key="diff_sig", help="Flagged after controlling the false discovery rate across all groups (q < 0.05)")
    view = agg[agg["family"].isin(families)]
    if query:
        view = view[view["group"].str.contains(query, case=False, regex=False)
                    | view["family"].str.contains(query, case=False, regex=False)]
    if only_sig:
        view = view[view["significant"]]
    return view


def show(shown: ShownResult, unit: str, run_key: str) -> None:
    agg = _aggregates(shown, run_key)
    view = _filtered(agg)
    # A group with no word scored by both models (e.g. first words, when a model has no start token) has no
    # mean to show: left out of the table and chart (the export keeps it), and named below.
    unscored = view[view["n"] == 0]
    view = view[view["n"] > 0]
    st.dataframe(
        groups_table(view, unit), hide_index=True, width="stretch", key="diff_groups_table",
        column_config={
            "n": st.column_config.NumberColumn("words", help="words with a Δ"),
            "n_texts": st.column_config.NumberColumn("texts", help="texts holding those words: the unit resampled"),
            "q_value": st.column_config.NumberColumn("q (BH)", format="%.3g",
                                                     help="p-value adjusted by Benjamini–Hochberg over every group "
                                                          "with an interval; flagged when q < 0.05"),
            "mean_delta": st.column_config.NumberColumn(f"mean Δ ({unit})", format="%+.3f"),
            "median_delta": st.column_config.NumberColumn(f"median Δ ({unit})", format="%+.3f"),
            # Not format="percent": it drops trailing zeros, printing 40% above 57.14% in one column.
            "a_win_share": st.column_config.NumberColumn("A wins (%)", format="%.1f", help="share of words with Δ > 0"),
            # Text, not two number columns: Streamlit prints a missing number as "None", and a group too
            # small for an interval should read as "no interval", not as a value that went missing.
            "ci": st.column_config.TextColumn(f"95% CI ({unit})", help="interval of the mean that resamples texts "
                                              f"(cluster bootstrap); needs {D.MIN_CI_WORDS} words in 2 texts or more"),
            "significant": st.column_config.CheckboxColumn("significant", help="q < 0.05: kept after controlling "
                                                           "the false discovery rate across groups"),
            "winner": st.column_config.TextColumn("better", help="the model with the higher mean, when significant"),
        },
    )
    n_small = int((view["ci_note"] != "").sum())
    st.caption("Click a column header to sort. Words of one text share its topic and style, so the intervals "
               "resample whole texts (1,000 resamples, seeded per group), not words. Many groups are tested at "
               "once, so a group is flagged only when it survives Benjamini–Hochberg: among the flagged groups, "
               "at most about 1 in 20 is expected to be a false discovery. "
               f"An interval needs at least {D.MIN_CI_WORDS} words from 2 texts or more; other groups show their "
               "mean and median but no interval, and are never flagged"
               + (f" ({n_small} of the {len(view)} groups listed here)." if n_small else ".")
               + (" Left out, no word in them scored by both models: "
                  # group names hold words of the texts ('#1 "*"'): shown literally, not as markdown
                  + literal(", ".join(f"{f} · {g}" for f, g in zip(unscored["family"], unscored["group"].astype(str))))
                  + "."
                  if len(unscored) else ""))
    if view.empty:
        st.info("No group matches the filters.")
    else:
        fig = group_chart(view, unit, *shown.labels)
        st.plotly_chart(fig, key="diff_groups_chart", config={"displaylogo": False})
        downloads.figure_buttons(fig, "duet-group-differences", "diff_groups_fig")
    downloads.table_buttons(agg, "duet-group-aggregates", "diff_groups_dl")
