"""Calibration of both models' next-token predictions: ECE per model and the reliability diagram."""

from __future__ import annotations

import streamlit as st

from analysis.calibration import calibration_by_model
from analysis.calibration_plots import reliability_figure
from ui import downloads
from ui.state import ShownResult


def _calibration(shown: ShownResult):
    # One result's bins kept in the session: a corpus has millions of positions, and toggles rerun.
    memo = st.session_state.setdefault("_calibration", {})
    if memo.get("of") is not shown.pair:
        memo.clear()
        memo.update(of=shown.pair, value=calibration_by_model(shown.pair.tokens))
    return memo["value"]


def show(shown: ShownResult, prefix: str) -> None:
    summary, bins = _calibration(shown)
    if summary.empty:
        st.info("No scored position to calibrate.")
        return
    labels = dict(zip(("a", "b"), (f"A · {shown.labels[0]}", f"B · {shown.labels[1]}")))
    st.caption("Is a model's top-1 probability honest? Over all texts of this result, each point is one bin of "
               "equal size: the mean top-1 probability against how often the top-1 token came next. On the "
               "diagonal the model is calibrated; below it, over-confident. ECE: the bins' mean distance from it.")
    st.dataframe(
        summary.assign(model=summary["model"].map(labels)), hide_index=True, key=f"{prefix}_calib_table",
        column_config={
            "model": st.column_config.TextColumn("model", pinned=True),
            "n": st.column_config.NumberColumn("positions"),
            "mean_confidence": st.column_config.NumberColumn("mean top-1 probability", format="%.3f"),
            "accuracy": st.column_config.NumberColumn("top-1 came next", format="%.3f"),
            "ece": st.column_config.NumberColumn("ECE", format="%.4f", help="expected calibration error, 15 equal-mass bins"),
        },
    )
    fig = reliability_figure(bins, summary, labels)
    st.plotly_chart(fig, key=f"{prefix}_calib_fig", config={"displaylogo": False})
    downloads.figure_buttons(fig, "duet-reliability", f"{prefix}_dl_calib")
