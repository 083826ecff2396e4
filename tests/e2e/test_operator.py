"""In a real browser: a model spec that would run a repository's code on the server is refused in the page."""

from __future__ import annotations

import pytest
from browser_helpers import shot

pytestmark = pytest.mark.e2e


def test_trust_remote_code_typed_in_the_browser_is_refused(server, page):
    page.goto(server)
    sidebar = page.get_by_test_id("stSidebar")
    # The test server's defaults are the tiny models' folders, so both sides show the path field: B's is second.
    box = sidebar.get_by_role("textbox", name="Hub id, local folder or .gguf path").nth(1)
    box.wait_for()
    box.fill("org/x?trust_remote_code=1")
    box.press("Enter")
    alert = sidebar.get_by_text("only the operator can allow it")
    alert.wait_for(timeout=30_000)
    text = alert.inner_text()
    assert "allow_remote_code" in text and "org/x" in text
    alert.scroll_into_view_if_needed()
    shot(page, "operator-refused-remote-code")
