"""In a real Chromium: tooltips stay on screen, an opened example's word is marked and scrolled to, the last run
reopens after a refresh, hidden and right-to-left characters read as they are, legends clear their titles."""

from __future__ import annotations

import pytest
from browser_helpers import shot
from test_browser import hover, open_app, type_and_score, wait_tooltip

pytestmark = pytest.mark.e2e

LONG_TEXT = " ".join(
    f"Paragraph {i}: the keeper climbed the tower at dusk, trimmed the wick and logged the weather." for i in range(40)
)
TRICKY = "Open admin\u202egnp.exe now. Zero\u200bwidth and \ufeffBOM. العربية تقرأ من اليمين إلى اليسار والكلمة الأخيرة."

# The tooltip (a ::after box, which has no getBoundingClientRect) in viewport coordinates: a fixed box's
# left/top are the viewport's already; an absolute one's are its cell's (the CSS without anchor positioning).
ARABIC_ORDER = """sel => { const cells = [...document.querySelectorAll(sel + ' .duet-cell')]
    .filter(c => /[\u0600-\u06ff]/.test(c.textContent)).map(c => c.getClientRects()[0]);
  const pairs = [];
  for (let i = 0; i + 1 < cells.length; i++)
    if (Math.abs(cells[i].top - cells[i + 1].top) < 2) pairs.push([cells[i].left, cells[i + 1].left]);
  return pairs; }"""
BOX = """e => { const s = getComputedStyle(e, '::after'), cell = e.getBoundingClientRect();
  const fixed = s.position === 'fixed';
  return {display: s.display, position: s.position,
          left: parseFloat(s.left) + (fixed ? 0 : cell.left), top: parseFloat(s.top) + (fixed ? 0 : cell.top),
          width: parseFloat(s.width), height: parseFloat(s.height), vw: innerWidth, vh: innerHeight}; }"""


def rightmost_cell(page, selector: str):
    """The one-line cell of a map that starts furthest right (the end of a line): where a tooltip hung
    from the cell's left edge would run furthest off the screen."""
    index = page.evaluate(
        """sel => { const cells = [...document.querySelectorAll(sel + ' .duet-cell')];
             let best = 0, left = -1;
             cells.slice(0, 80).forEach((c, i) => { const r = c.getClientRects();
               if (r.length === 1 && r[0].left > left) { left = r[0].left; best = i; } });
             return best; }""", selector)
    return page.locator(f"{selector} .duet-cell").nth(index)


def test_tooltips_stay_inside_the_viewport_at_the_right_edge_of_map_b(server, page):
    open_app(page, server)
    type_and_score(page, LONG_TEXT[:900])
    cell = rightmost_cell(page, "#duet-map-b-0")
    hover(cell)
    wait_tooltip(cell)
    box = cell.evaluate(BOX)
    print("tooltip box", box, "cell", cell.bounding_box())
    assert box["display"] == "block"
    assert box["left"] >= 0 and box["left"] + box["width"] <= box["vw"], box
    assert box["top"] >= 0 and box["top"] + box["height"] <= box["vh"], box
    shot(page, "consist_01_tooltip_right_edge")


def _on_screen(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and 0 <= box["y"] and box["y"] + box["height"] <= size["height"]


def test_an_example_opens_with_its_word_marked_and_in_view_and_a_refresh_offers_the_run_back(server, page):
    open_app(page, server)
    type_and_score(page, LONG_TEXT[:2500])
    page.get_by_role("link", name="Differences").click()
    page.get_by_role("tab", name="Leaderboards").click()  # the page opens on "Where they differ"
    opener = page.get_by_role("button").filter(has_text="open_in_new").last  # the last example listed
    opener.wait_for(state="visible", timeout=60_000)
    opener.click()
    marked = page.locator(".duet-heatmap .duet-focus").first
    marked.wait_for(state="visible", timeout=60_000)
    page.wait_for_timeout(1500)  # the scroll runs once the maps are in
    assert _on_screen(page, marked), marked.bounding_box()
    assert page.locator("[id$='-focus']").count() >= 1
    shot(page, "consist_02_example_marked")

    page.reload()
    # The address names the run (ui/links.py), so a refresh reopens it from the run store; without a link
    # the page offers "Reopen your last run" (tests/app/test_consistency.py covers that offer).
    shot(page, "consist_03_after_refresh")
    page.locator("#duet-map-a-0").wait_for(state="visible", timeout=60_000)
    page.locator("#duet-map-b-0").wait_for(state="visible")
    assert "Paragraph 0" in page.locator("#duet-map-a-0").inner_text()


def test_hidden_and_right_to_left_characters_read_as_they_are(server, page):
    open_app(page, server)
    type_and_score(page, TRICKY)
    shown = page.locator("#duet-map-a-0").inner_text()
    assert "U+202E" in shown and "U+200B" in shown and "U+FEFF" in shown and "\u202e" not in shown
    assert shown.index("admin") < shown.index("gnp.exe")  # not "adminexe.png"
    # Arabic reads right to left across cells: of two Arabic cells on one line, the first in the text is the
    # one further right (an isolate per cell would lay them left to right).
    for side in ("a", "b"):
        pairs = page.evaluate(ARABIC_ORDER, f"#duet-map-{side}-0")
        # (">=": a piece of no width, such as a lone combining mark, sits where its neighbour is)
        assert pairs and all(first >= second for first, second in pairs), (side, [p for p in pairs if p[0] < p[1]])
        assert sum(first > second for first, second in pairs) >= len(pairs) - 2, (side, pairs)
    cell = page.locator("#duet-map-a-0 .duet-cell").filter(has_text="U+202E").first
    hover(cell)
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in wait_tooltip(cell)
    shot(page, "consist_04_hidden_and_rtl")
    page.get_by_role("tab", name="Traces").click()
    page.get_by_text("↑ above 0: A predicted the word better").first.wait_for()
    page.get_by_text("↑ above 0: A predicted the word better").first.scroll_into_view_if_needed()
    shot(page, "consist_05_trace_signs")


LONG_LABELS = ("HuggingFaceTB/SmolLM2-135M-Instruct?variant=int8-dynamic&dtype=float32",
               "google/gemma-3-270m-it?variant=prune&sparsity=0.5&bos=<|endoftext|>")


def test_exported_figures_keep_legends_clear_of_titles(page, tmp_path):
    """The SVG export (kaleido, the same layout as the PNG) laid out in Chromium: no legend box meets a title."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
    from test_plots import _figures_with_legends

    from ui import exports

    if not exports.static_export_available():
        pytest.skip("static export needs chromium")
    overlaps = {}
    for name, fig in _figures_with_legends(LONG_LABELS).items():
        svg = exports.figure_svg(fig).decode()
        (tmp_path / f"{name}.svg").write_text(svg)
        page.set_content(f"<body style='margin:0'>{svg}</body>")
        boxes = page.evaluate("""() => { const r = s => [...document.querySelectorAll(s)].map(e => e.getBoundingClientRect())
              .filter(b => b.width > 1 && b.height > 1).map(b => [b.left, b.top, b.right, b.bottom]);
            return {legend: r('.legend .bg'), titles: r('.g-gtitle text, .g-xtitle text, .g-x2title text, .g-ytitle text, .annotation-text-g text')}; }""")
        assert boxes["legend"], name
        lx0, ly0, lx1, ly1 = boxes["legend"][0]
        overlaps[name] = [t for t in boxes["titles"] if t[0] < lx1 and lx0 < t[2] and t[1] < ly1 and ly0 < t[3]]
        if name == "trace":
            page.screenshot(path=str(Path(__file__).resolve().parents[2] / "screenshots" / "consist_06_export_trace.png"))
    assert not any(overlaps.values()), overlaps
