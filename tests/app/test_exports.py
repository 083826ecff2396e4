"""Exports behind the download buttons: PNG/SVG through kaleido + Chromium, standalone HTML, CSV, parquet."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from analysis import heatmap, plots
from ui import exports

HAS_CHROMIUM = exports.chromium_path() is not None
needs_chromium = pytest.mark.skipif(not HAS_CHROMIUM, reason="no Chromium here (apt-get install chromium)")


def words_table() -> pd.DataFrame:
    n = 12
    rng = np.random.default_rng(0)
    a, b = -rng.uniform(0, 8, n), -rng.uniform(0, 8, n)
    return pd.DataFrame({
        "text_id": 0, "word_index": np.arange(n), "word": [f"w{i}" for i in range(n - 1)] + ["<b>x</b>"],
        "char_start": np.arange(n) * 3, "char_end": np.arange(n) * 3 + 2,
        "logprob_a": a, "logprob_b": b, "entropy_a": rng.uniform(0, 5, n), "entropy_b": rng.uniform(0, 5, n),
        "n_tokens_a": 1, "n_tokens_b": 1, "delta": a - b,
    })


@pytest.fixture(scope="module")
def figure():
    return plots.word_trace(words_table(), "surprisal", "bits", 3, ("model-a", "model-b"))


@needs_chromium
def test_png_and_svg(figure):
    png = exports.figure_png(figure)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    svg = exports.figure_svg(figure)
    assert svg.lstrip().startswith(b"<svg") and b"</svg>" in svg
    assert b"surprisal (bits)" in svg  # the axis names its units


def test_html_is_standalone(figure):
    page = exports.figure_html(figure).decode()
    assert page.startswith("<html>") or page.lower().startswith("<!doctype")
    assert "cdn.plot.ly" not in page.split("<body>")[0]  # plotly.js is inlined: opens offline
    assert "Plotly.newPlot" in page


def test_no_chromium_says_how_to_enable(figure, monkeypatch):
    monkeypatch.setattr(exports, "CANDIDATES", ())
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    monkeypatch.setenv("PATH", "/nonexistent")
    assert exports.chromium_path() is None and not exports.static_export_available()
    with pytest.raises(exports.ExportUnavailable, match="apt-get install chromium"):
        exports.figure_png(figure)
    assert exports.figure_html(figure)  # HTML still works


def test_tables_csv_and_parquet():
    table = pd.DataFrame({"token": ["a", "<b>"], "topk_tokens": [["x", "y"], ["z"]], "logprob": [-1.0, np.nan]})
    csv = exports.table_csv(table)
    back = pd.read_csv(io.BytesIO(csv))
    assert list(back.columns) == ["token", "topk_tokens", "logprob"]
    assert back["topk_tokens"][0] == '["x", "y"]' and back["token"][1] == "<b>"
    parquet = exports.table_parquet(table)
    assert parquet[:4] == b"PAR1" and parquet[-4:] == b"PAR1"
    assert pd.read_parquet(io.BytesIO(parquet))["topk_tokens"][1].tolist() == ["z"]


def test_heatmap_standalone_file():
    text = "ab <script>"
    cells = [heatmap.Cell(0, 2, 1.0, 'tip <i>"one"</i>'), heatmap.Cell(3, 11, 5.0, "tip two")]
    scale = heatmap.scale_for("surprisal", "bits", np.array([1.0, 5.0]))
    page = heatmap.standalone_html("Duet <title>", [("A", heatmap.render(text, cells, scale))])
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "content:attr(data-tip)" in page
    assert 'data-tip="tip &lt;i&gt;&quot;one&quot;&lt;/i&gt;"' in page  # tooltips escaped, quotes too
    assert "<script" not in page and "&lt;script&gt;" in page and "Duet &lt;title&gt;" in page
