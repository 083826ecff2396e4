"""The dashboard in a real headless Chromium: score, hover, download, hostile texts, bad uploads, runs."""

from __future__ import annotations

import csv
import io
import time

import pytest
from browser_helpers import shot

pytestmark = pytest.mark.e2e

HOSTILE = (
    "Hello <script>alert(1)</script> and <img src=x onerror=alert(1)> and "
    "<img src=x onerror=\"window.__duet_pwned=1\"> then the quick brown fox jumps over the lazy dog."
)


def visible_text(document: str) -> str:
    """The text of a heatmap file as a reader sees it (tooltips, glyphs, styles and the page title left out)."""
    from html_text import visible_text as read

    return read(document, hidden_tags=("style", "title", "h1", "h2"))


def open_app(page, url: str):
    page.goto(url)
    page.get_by_role("textbox", name="Text to score").wait_for()
    return page


def type_and_score(page, text: str) -> float:
    box = page.get_by_role("textbox", name="Text to score")
    box.fill(text)
    box.press("Control+Enter")  # commit the text to the app before pressing Score
    page.wait_for_timeout(500)
    started = time.perf_counter()
    page.get_by_role("button", name="Score", exact=True).click()
    page.locator("#duet-map-a-0").wait_for(state="visible", timeout=120_000)
    page.locator("#duet-map-b-0").wait_for(state="visible", timeout=120_000)
    return time.perf_counter() - started


def hover(locator) -> None:
    """Hover with the element mid-screen, so its tooltip shows whole in the screenshot."""
    locator.evaluate("e => e.scrollIntoView({block: 'center'})")
    locator.hover()


def tooltip(cell) -> str | None:
    """The cell's tooltip as drawn now: its text when the ::after box shows, else None."""
    return cell.evaluate(
        "e => getComputedStyle(e, '::after').display === 'block' && getComputedStyle(e, '::after').content !== 'none'"
        " ? e.dataset.tip : null"
    )


def wait_tooltip(cell) -> str:
    cell.page.wait_for_function(
        "e => getComputedStyle(e, '::after').display === 'block'", arg=cell.element_handle(), timeout=10_000
    )
    return tooltip(cell)


def download(page, button) -> bytes:
    with page.expect_download(timeout=90_000) as info:
        button.click()
    path = info.value.path()
    with open(path, "rb") as handle:
        return handle.read()


def test_score_hover_download_and_hostile_text(server, page):
    open_app(page, server)
    shot(page, "e2e_01_start")
    seconds = type_and_score(page, HOSTILE)
    print(f"button press to both heatmaps (tiny models): {seconds:.2f} s")
    page.wait_for_timeout(500)
    shot(page, "e2e_02_scored", full=True)

    # The hostile text shows literally in both maps and runs nothing.
    for side in ("a", "b"):
        shown = page.locator(f"#duet-map-{side}-0").inner_text()
        assert "<script>alert(1)</script>" in shown and "<img src=x onerror=alert(1)>" in shown
        assert page.locator(f"#duet-map-{side}-0 img, #duet-map-{side}-0 script").count() == 0
    assert page.evaluate("() => window.__duet_pwned") is None
    assert not page.evaluate("() => [...document.scripts].some(s => s.text.includes('alert(1)'))")

    # Hover a token: its tooltip names the piece, probability, logprob, entropy, rank and the top-k.
    cell = page.locator("#duet-map-a-0 .duet-cell").nth(2)
    assert tooltip(cell) is None
    hover(cell)
    text = wait_tooltip(cell)
    for needed in ("token 3", "probability", "logprob", "nats", "entropy", "rank", "top-5 predictions"):
        assert needed in text, (needed, text)
    shot(page, "e2e_03_tooltip")

    # Difference mode: one word-level map, the tooltip gives both models' values.
    page.get_by_text("Difference A − B (words)").click()
    delta = page.locator("#duet-map-delta-0")
    delta.wait_for(state="visible")
    assert "<script>alert(1)</script>" in delta.inner_text()
    word = delta.locator(".duet-cell").nth(4)
    hover(word)
    word_tip = wait_tooltip(word)
    assert word_tip.count("probability") == 2 and "A − B" in word_tip
    shot(page, "e2e_04_difference_tooltip")

    # Units: bits everywhere at once, without rescoring.
    page.get_by_role("radio", name="bits", exact=True).click()
    page.get_by_text("log-probability A − B (bits)").wait_for()
    page.wait_for_timeout(1500)  # let the run that rewrites the address (ui/links.py) settle before clicking

    # The heatmap as a standalone HTML file: opens from disk, hover works, still escaped.
    standalone = download(page, page.get_by_role("button", name="Heatmap A − B (HTML)")).decode()
    assert standalone.startswith("<!DOCTYPE html>") and "<script" not in standalone and "<img" not in standalone
    assert "<script>alert(1)</script>" in visible_text(standalone)

    # Data: CSV of the token table.
    page.get_by_role("tab", name="Download data").click()
    data = download(page, page.get_by_role("button", name="duet-tokens.csv")).decode()
    rows = list(csv.DictReader(io.StringIO(data)))
    assert {"text_id", "position", "token", "char_start", "char_end", "logprob", "entropy", "rank", "model"} <= set(rows[0])
    assert {r["model"] for r in rows} == {"a", "b"}
    assert "".join(r["token"] for r in rows if r["model"] == "a").find("script") >= 0
    parquet = download(page, page.get_by_role("button", name="duet-words.parquet"))
    assert parquet[:4] == b"PAR1"

    # A plot as PNG (kaleido drives the same Debian chromium).
    page.get_by_role("tab", name="Traces").click()
    png = download(page, page.get_by_role("button", name="PNG").first)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    shot(page, "e2e_05_traces", full=True)

    # Narrow screens stack the two maps.
    page.get_by_text("Surprisal", exact=True).click()
    page.locator("#duet-map-a-0").wait_for(state="visible")
    page.set_viewport_size({"width": 420, "height": 900})
    page.wait_for_timeout(800)
    a_box = page.locator("#duet-map-a-0").bounding_box()
    b_box = page.locator("#duet-map-b-0").bounding_box()
    assert b_box["y"] >= a_box["y"] + a_box["height"] - 1
    page.locator("#duet-map-a-0").scroll_into_view_if_needed()
    shot(page, "e2e_06_narrow")
    assert page.dialogs == []


def test_standalone_heatmap_file_hovers_offline(server, page, tmp_path):
    open_app(page, server)
    type_and_score(page, "Offline <b>tooltip</b> check.")
    html = download(page, page.get_by_role("button", name="Heatmap A (HTML)")).decode()
    path = tmp_path / "map.html"
    path.write_text(html)
    page.goto(path.as_uri())
    cell = page.locator(".duet-cell").nth(1)
    cell.hover()
    assert "probability" in wait_tooltip(cell)
    shot(page, "e2e_07_standalone_file")
    assert "Offline <b>tooltip</b> check." in page.locator(".duet-heatmap").inner_text()
    assert page.dialogs == []


def test_bad_upload_keeps_results(server, page):
    open_app(page, server)
    type_and_score(page, "Results that must survive a bad upload.")
    page.get_by_text("Upload files").click()
    page.locator("input[type=file]").set_input_files([
        {"name": "photo.txt", "mimeType": "text/plain", "buffer": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"},
        {"name": "table.csv", "mimeType": "text/csv", "buffer": b"id,score\n1,2\n"},
    ])
    page.get_by_text("photo.txt looks like a binary file, not text").wait_for()
    page.get_by_text("table.csv has no column 'text'").wait_for()
    page.get_by_role("button", name="Score", exact=True).click()
    page.get_by_text("Fix the upload problems above first").wait_for()
    assert page.locator("#duet-map-a-0").is_visible() and page.locator("#duet-map-b-0").is_visible()
    shot(page, "e2e_08_bad_upload")


def test_runs_page_reloads_without_scoring(server, page):
    open_app(page, server)
    type_and_score(page, "A run to reload later.")
    page.get_by_role("link", name="Runs").click()
    page.get_by_role("button", name="Reload").click()
    page.get_by_text("Reloaded run").wait_for()
    page.locator("#duet-map-a-0").wait_for(state="visible")
    page.locator("#duet-map-b-0").wait_for(state="visible")
    shot(page, "e2e_09_runs", full=True)
