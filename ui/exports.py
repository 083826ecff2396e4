"""Downloads: figures as PNG / SVG (kaleido + a local Chromium) or standalone HTML, tables as CSV / parquet.

kaleido 1.x renders through a Chrome it finds on the machine (choreographer
reads BROWSER_PATH); its own Chrome download needs the internet, which this
project does not assume. Debian's `chromium` works, so we point at it when it
exists. Without any Chromium, PNG and SVG are unavailable with a message that
says how to enable them; HTML, CSV and parquet never need it.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import warnings

import numpy as np
import pandas as pd

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
ENABLE_HINT = (
    "PNG and SVG export need a local Chromium. Install it (Debian/Ubuntu: `sudo apt-get install chromium`) "
    "or set BROWSER_PATH to a Chrome/Chromium binary, then restart the app. HTML export works without it."
)


class ExportUnavailable(RuntimeError):
    """PNG/SVG asked for, but no Chromium to render with. The message says how to enable it."""


def chromium_path() -> str | None:
    """The Chromium kaleido will use: BROWSER_PATH if it points at a file, else a known install."""
    configured = os.environ.get("BROWSER_PATH")
    if configured and os.path.isfile(configured):
        return configured
    for candidate in CANDIDATES:
        if os.path.isfile(candidate):
            return candidate
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found


def static_export_available() -> bool:
    return chromium_path() is not None


# One kaleido server per process (it keeps one Chromium open: the first image
# takes seconds, the next ones a fraction of that); one figure at a time through it.
_lock = threading.Lock()
_server_started = False


def _render(fig, fmt: str, scale: float) -> bytes:
    global _server_started
    path = chromium_path()
    if path is None:
        raise ExportUnavailable(ENABLE_HINT)
    os.environ["BROWSER_PATH"] = path
    import kaleido
    import plotly.io as pio

    with _lock:
        if not _server_started:
            kaleido.start_sync_server(silence_warnings=True)
            _server_started = True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "kopts ignored when using a server": expected
            return pio.to_image(fig, format=fmt, scale=scale)


def figure_png(fig, scale: float = 2.0) -> bytes:
    """PNG bytes (scale 2: sharp on high-density screens and in slides)."""
    return _render(fig, "png", scale)


def figure_svg(fig) -> bytes:
    return _render(fig, "svg", 1.0)


def figure_html(fig) -> bytes:
    """A standalone page with plotly.js inlined: opens offline, keeps zoom and hover."""
    return fig.to_html(include_plotlyjs=True, full_html=True).encode("utf-8")


def _flat(table: pd.DataFrame) -> pd.DataFrame:
    """List columns (top-k) as JSON strings, so a CSV cell holds one readable value."""
    out = table.copy()
    for column in out.columns:
        first = out[column].iloc[0] if out[column].dtype == object and len(out) else None
        if isinstance(first, (list, tuple)) or hasattr(first, "tolist"):
            # A column may mix lists (fresh scores) and numpy arrays of numpy scalars (read from the cache or
            # a run): np.asarray(...).tolist() gives plain values either way.
            out[column] = [json.dumps(np.asarray(v).tolist() if v is not None else [], ensure_ascii=False)
                           for v in out[column]]
    return out


# A spreadsheet runs a cell that begins with one of these as a formula (=cmd|' /C calc'!A0);
# OWASP's advice: prefix such a cell with a quote, which makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse_formula(value):
    """A text cell that a spreadsheet would read as a formula, made text ('=1+1 -> '\'=1+1'); anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _defused(table: pd.DataFrame) -> pd.DataFrame:
    """Text columns with formula-like cells defused; numbers (a negative logprob) stay numbers."""
    out = table.copy()
    for column in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[column]) or pd.api.types.is_bool_dtype(out[column])):
            out[column] = out[column].map(defuse_formula)
    out.columns = [defuse_formula(str(c)) for c in out.columns]
    return out


def with_model_labels(table: pd.DataFrame, labels: dict | None) -> pd.DataFrame:
    """labels ({"a": label of model A, "b": ...}) in the table itself, so an exported file says which
    model is which: a model_label column beside a model column, else model_a/model_b label columns."""
    if not labels:
        return table
    out = table.copy()
    if "model" in out.columns and "model_label" not in out.columns:
        out.insert(out.columns.get_loc("model") + 1, "model_label", out["model"].map(labels))
    elif "model" not in out.columns:
        for side in ("a", "b"):
            if side in labels and f"model_{side}_label" not in out.columns:
                out[f"model_{side}_label"] = labels[side]
    return out


def table_csv(table: pd.DataFrame, labels: dict | None = None) -> bytes:
    """CSV safe to open in a spreadsheet: formula-like text cells defused (the parquet keeps the raw text)."""
    return _defused(_flat(with_model_labels(table, labels))).to_csv(index=False).encode("utf-8")


def table_parquet(table: pd.DataFrame, labels: dict | None = None) -> bytes:
    from backend.store.atomic import parquet_bytes

    return parquet_bytes(with_model_labels(table, labels))
