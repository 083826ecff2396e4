"""The token view names the models of what it shows, marks an opened example's word, and reopens the last run."""

from __future__ import annotations

from app_helpers import APP, TIMEOUT, maps, score
from streamlit.testing.v1 import AppTest

from backend.models.specs import ModelSpec
from ui.markdown import literal
from ui.token_view_header import INTRO


def _caption(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith(INTRO))


def test_the_caption_names_the_models_of_the_result_shown_not_the_sidebars(app, tiny_a, tiny_b):
    at = app.run()
    label_a, label_b = (literal(ModelSpec.parse(str(p)).label) for p in (tiny_a, tiny_b))
    assert f"**B** = {label_b}" in _caption(at)  # nothing shown yet: the sidebar's pair
    at = score(at, "The caption follows the result.")
    assert f"Shown: **A** = {label_a}, **B** = {label_b}." in _caption(at) and "another pair" not in _caption(at)
    at.sidebar.text_input(key="_path_b").set_value(str(tiny_a)).run()  # the sidebar moves on; the maps do not
    caption = _caption(at)
    assert f"**B** = {label_b}" in caption and "another pair" in caption
    assert f"**B** = {label_a}" not in caption


def test_an_opened_example_marks_its_word_and_scrolls_to_it(app):
    text = "First words here. Then the word we opened sits near the end."
    at = score(app.run(), text)
    shown = at.session_state["result"]
    assert shown.run_id
    start = text.index("opened")
    at.session_state["focus"] = {"run_id": shown.run_id, "text_id": 0, "char_start": start,
                                 "char_end": start + len("opened")}
    at.run()
    assert not at.exception
    bodies = maps(at)
    assert set(bodies) == {"duet-map-a-0", "duet-map-b-0"}
    for key, body in bodies.items():
        assert f'id="{key}-focus"' in body and "duet-cell duet-focus" in body
    assert any("scrollIntoView" in h.value for h in at.get("html"))
    # Another colouring keeps the mark; a new result drops it.
    at = score(at, "A new text, nothing marked.")
    assert all("duet-cell duet-focus" not in body for body in maps(at).values())
    assert not any("scrollIntoView" in h.value for h in at.get("html"))


def test_after_a_refresh_the_last_run_is_offered_back(app, tiny_a, tiny_b):
    at = score(app.run(), "A run to find again after a refresh.")
    scored = maps(at)
    # A refresh is a new session on the same server: nothing on screen, the run store unchanged.
    fresh = AppTest.from_file(APP, default_timeout=TIMEOUT)
    fresh.session_state["model_a"], fresh.session_state["model_b"] = str(tiny_a), str(tiny_b)
    fresh.run()
    assert not maps(fresh)
    button = fresh.button(key="tv_reopen")
    assert "Reopen your last run" in button.label and "A run to find again" in button.label
    button.click().run()
    assert not fresh.exception and maps(fresh) == scored
