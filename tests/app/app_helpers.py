"""AppTest helpers: find the heatmaps and the legend, type and score, read a map's visible text."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
TIMEOUT = 120  # the first run of a session imports torch and loads the tiny models


def maps(at: AppTest) -> dict[str, str]:
    """The heatmaps on the page, by element id ("duet-map-a-0"...) -> their HTML."""
    found = {}
    for element in at.get("html"):
        body = element.value
        for marker in ("duet-map-a-", "duet-map-b-", "duet-map-delta-"):
            if f'id="{marker}' in body:
                start = body.index(f'id="{marker}') + 4
                found[body[start:body.index('"', start)]] = body
    return found


def legend(at: AppTest) -> str:
    return next(e.value for e in at.get("html") if "duet-legend" in e.value)


def score(at: AppTest, text: str) -> AppTest:
    """Type text (the app must have run once) and press Score."""
    at.text_area(key="input_text").input(text)
    at.button(key="score").click()
    return at.run()


def visible_text(body: str) -> str:
    """The text a reader sees in a heatmap: tags dropped, entities decoded, glyphs and style left out."""
    from html_text import visible_text as read

    return read(body)
