"""Download buttons. Files are made only when clicked (deferred data), so drawing the page stays fast."""

from __future__ import annotations

import re

import streamlit as st

from ui import exports


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "duet"


def figure_buttons(fig, name: str, key: str) -> None:
    """PNG, SVG and standalone HTML for one figure."""
    available = exports.static_export_available()
    hint = None if available else exports.ENABLE_HINT
    c1, c2, c3 = st.columns(3)
    c1.download_button("PNG", data=lambda: exports.figure_png(fig), file_name=f"{slug(name)}.png", mime="image/png",
                       key=f"{key}_png", on_click="ignore", disabled=not available, help=hint,
                       icon=":material/image:", width="stretch")
    c2.download_button("SVG", data=lambda: exports.figure_svg(fig), file_name=f"{slug(name)}.svg", mime="image/svg+xml",
                       key=f"{key}_svg", on_click="ignore", disabled=not available, help=hint,
                       icon=":material/draw:", width="stretch")
    c3.download_button("HTML", data=lambda: exports.figure_html(fig), file_name=f"{slug(name)}.html", mime="text/html",
                       key=f"{key}_html", on_click="ignore", help="Interactive, opens offline in any browser",
                       icon=":material/html:", width="stretch")
    if not available:
        st.caption(exports.ENABLE_HINT)


def table_buttons(table, name: str, key: str, labels: dict | None = None) -> None:
    """CSV and parquet of a table; labels ({"a": ..., "b": ...}): the models' names, written into the files."""
    c1, c2 = st.columns(2)
    # Built when drawn (the Download data tab is built only while open): a deferred, on-click file did
    # not arrive in the browser test once the address was rewritten on each run (ui/links.py).
    c1.download_button(f"{name}.csv", data=exports.table_csv(table, labels), file_name=f"{slug(name)}.csv",
                       mime="text/csv", key=f"{key}_csv", on_click="ignore", icon=":material/table:", width="stretch")
    c2.download_button(f"{name}.parquet", data=exports.table_parquet(table, labels), file_name=f"{slug(name)}.parquet",
                       mime="application/vnd.apache.parquet", key=f"{key}_parquet", on_click="ignore",
                       icon=":material/database:", width="stretch")
