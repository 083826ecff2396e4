"""A multi-domain corpus in a real browser: the ranking, one click to the span in the token view, the Domains
tab, and the view's link opened in a new browser session after a server restart (no model loaded)."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from browser_helpers import shot
from conftest import running_app

pytestmark = pytest.mark.e2e

TEXTS = {
    "news": ["Prices rose by 5 percent in March, the statistics office said on Tuesday.",
             "The council voted to close the old bridge for repairs until the spring."],
    "code": ["def add(a, b):\n    return a + b\n\nprint(add(2, 3))",
             "for i in range(10):\n    if i % 2 == 0:\n        print(i)"],
    "chat": ["Alice: are you coming tonight?\nBob: maybe, if the rain stops!",
             "Sam: lol no way\nKim: way. I saw it myself, honestly."],
}


def save_corpus(tiny_a, tiny_b, cache):
    from backend.models.loading import load_model
    from backend.models.specs import ModelSpec
    from backend.scoring.pair import score_pair
    from backend.store.runs import RunStore

    texts = [t for group in TEXTS.values() for t in group]
    meta = pd.DataFrame({"domain": [d for d, group in TEXTS.items() for _ in group]})
    a, b = (load_model(ModelSpec.parse(str(p))) for p in (tiny_a, tiny_b))
    result = score_pair(a, b, texts)
    return RunStore(cache / "runs").save(result, str(tiny_a), str(tiny_b), {"top_k": 5}, name="three domains",
                                         text_meta=meta)


def test_rank_click_land_at_the_span_and_share_the_link(browser, tiny_a, tiny_b, tmp_path, monkeypatch):
    monkeypatch.setenv("DUET_CACHE_DIR", str(tmp_path / "cache"))
    run_id = save_corpus(tiny_a, tiny_b, tmp_path / "cache")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    with running_app(tiny_a, tiny_b, tmp_path) as url:
        page.goto(f"{url}/differences")
        grid = page.locator("[data-testid='stDataFrame']").first
        grid.wait_for(state="visible", timeout=60_000)
        page.get_by_text("Mean Δ per word over 6 texts").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)
        shot(page, "corpus_01_where_they_differ", full=True)
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)  # the first row's selection cell, under the header
        marked = page.locator(".duet-heatmap .duet-focus").first
        marked.wait_for(state="visible", timeout=60_000)
        page.wait_for_timeout(1500)
        link = page.url
        assert f"run={run_id}" in link and "span=" in link and "text=" in link, link
        shot(page, "corpus_02_token_view_at_span")
        page.goto(f"{url}/differences?tab=Domains")
        page.get_by_text("bits per byte over the domain").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1000)
        shot(page, "corpus_03_domains", full=True)
        page.get_by_role("tab", name="Groups").click()
        page.wait_for_timeout(1500)
        shot(page, "corpus_04_groups_domain")
    context.close()
    # A server restart: the link reopens the same view from the run store in a fresh browser session.
    with running_app(tiny_a, tiny_b, tmp_path) as url2:
        fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
        again = fresh.new_page()
        again.goto(url2 + link[link.index("/", len("http://")):])
        again.locator(".duet-heatmap .duet-focus").first.wait_for(state="visible", timeout=60_000)
        span = dict(p.split("=") for p in link.split("?")[1].split("&"))["span"]
        assert f"span={span}" in again.url
        assert again.get_by_text("Copy link").count() >= 1
        shot(again, "corpus_05_link_reopened")
        again.goto(f"{url2}/?run=20990101-000000-gone00")
        again.get_by_text("This link could not be opened").first.wait_for(timeout=60_000)
        shot(again, "corpus_06_stale_link")
        fresh.close()
