"""The default pair's start token, and the sidebar resetting it when another model is picked."""

from __future__ import annotations

from app_helpers import APP, TIMEOUT
from streamlit.testing.v1 import AppTest


def test_default_pair_and_bos_follow_the_model(isolated_cache, monkeypatch):
    monkeypatch.delenv("DUET_DEFAULT_MODEL_A", raising=False)
    monkeypatch.delenv("DUET_DEFAULT_MODEL_B", raising=False)
    monkeypatch.setattr("ui.router.use_router", lambda: None)  # see tests/app/conftest.py
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    bos = at.text_input(key="_bos_a")
    assert bos.value == "<|endoftext|>" and at.text_input(key="_bos_b").value == "auto"
    at.selectbox(key="_source_a").set_value("gemma3-270m").run()
    assert at.text_input(key="_bos_a").value == "auto"  # <|endoftext|> is not a Gemma token
    at.selectbox(key="_source_a").set_value("smollm2-135m").run()
    assert at.text_input(key="_bos_a").value == "<|endoftext|>"
    assert not at.exception and not at.error


def test_sidebar_says_what_each_text_starts_after(isolated_cache, monkeypatch):
    monkeypatch.delenv("DUET_DEFAULT_MODEL_A", raising=False)
    monkeypatch.delenv("DUET_DEFAULT_MODEL_B", raising=False)
    monkeypatch.setattr("ui.router.use_router", lambda: None)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    captions = [c.value for c in at.sidebar.caption]
    assert sum(r"texts start after \<\|endoftext\|\>" in c for c in captions) == 1  # A only; B is auto


def test_picking_another_model_resets_the_variant(isolated_cache, monkeypatch):
    """gemma, then int8, then smollm2 and gemma again: gemma comes back as is, not silently int8."""
    monkeypatch.delenv("DUET_DEFAULT_MODEL_A", raising=False)
    monkeypatch.delenv("DUET_DEFAULT_MODEL_B", raising=False)
    monkeypatch.setattr("ui.router.use_router", lambda: None)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.selectbox(key="_variant_b").set_value("int8").run()
    assert "variant=int8" in at.session_state["model_b"]
    at.selectbox(key="_source_b").set_value("smollm2-135m").run()
    assert at.selectbox(key="_variant_b").value == "none"
    at.selectbox(key="_source_b").set_value("gemma3-270m").run()
    assert at.selectbox(key="_variant_b").value == "none" and "variant" not in at.session_state["model_b"]
    assert not at.exception and not at.error
