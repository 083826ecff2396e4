"""AppTest fixture: the real app.py with the tiny models picked, and a cache folder of its own per test."""

from __future__ import annotations

import pytest
from app_helpers import APP, TIMEOUT
from streamlit.testing.v1 import AppTest


@pytest.fixture
def app(tiny_a, tiny_b, isolated_cache, monkeypatch) -> AppTest:
    """The app with the tiny pair picked in the sidebar, not yet run."""
    # AppTest resets Streamlit's pages/ mode before every run (streamlit/testing/v1/app_test.py), so each
    # run after switch_page looks like a first visit to a page's address and ui/router.py would rerun it,
    # dropping the click being tested. The router guard is tested in a real server instead
    # (tests/e2e/test_first_address.py).
    monkeypatch.setattr("ui.router.use_router", lambda: None)
    monkeypatch.setenv("DUET_DEFAULT_MODEL_A", str(tiny_a))
    monkeypatch.setenv("DUET_DEFAULT_MODEL_B", str(tiny_b))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["model_a"] = str(tiny_a)
    at.session_state["model_b"] = str(tiny_b)
    return at
