"""The first session of a fresh server that opens a page's own address still gets app.py's router.

Without ui/router.py, Streamlit's legacy pages/ mode runs the page file alone:
no model pickers in the sidebar, file names ("app", "uncertainty") as navigation.
"""

from __future__ import annotations

import pytest

from browser_helpers import shot

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("address, heading", [("uncertainty", "Duet · uncertainty"), ("runs", "Runs")])
def test_opening_a_page_address_first_shows_the_router(fresh_server, page, address, heading):
    page.goto(f"{fresh_server}/{address}")
    page.get_by_role("heading", name=heading).wait_for()
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text("Token view").wait_for()
    assert nav.get_by_text("app", exact=True).count() == 0
    page.get_by_text("Model A", exact=True).first.wait_for()  # the shared sidebar drew
    shot(page, f"e2e_first_address_{address}")
