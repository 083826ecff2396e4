"""The Calibration tab of the Token view: both models' ECE, as analysis/calibration computes it, and the diagram."""

from __future__ import annotations

import pytest
from app_helpers import score

from analysis.calibration import calibration_by_model


def test_calibration_tab_shows_both_models_ece_and_the_reliability_diagram(app):
    at = score(app.run(), "The quick brown fox jumps over the lazy dog. " * 3)
    assert not at.exception
    at.session_state["tv_tabs"] = "Calibration"  # open the tab: only the open tab is built (ui/views.py)
    at = at.run()
    table = next(d.value for d in at.dataframe if "ece" in d.value.columns)
    assert table["model"].str.startswith(("A · ", "B · ")).all() and len(table) == 2
    expect, _ = calibration_by_model(at.session_state["result"].pair.tokens)
    assert table["ece"].tolist() == pytest.approx(expect["ece"].tolist())
    reliability = [c for c in at.get("plotly_chart") if "perfectly calibrated" in c.proto.spec]
    assert reliability, "no reliability diagram on the page"
