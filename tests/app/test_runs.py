"""The runs page in AppTest: every scoring is listed; reload draws the views without a model; move to the trash."""

from __future__ import annotations

from app_helpers import maps, score

from ui.markdown import literal


def test_no_runs_yet(app):
    at = app.run()
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    assert "No runs yet" in at.info[0].value


def test_reload_without_a_model_and_delete(app, monkeypatch):
    at = score(app.run(), "A text worth keeping.")
    scored = maps(at)
    at = score(at, "A second text.")
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    listing = at.dataframe[0].value
    assert len(listing) == 2
    assert {"model A", "model B", "texts", "tokens", "size (KB)", "created", "settings"} <= set(listing.columns)

    def no_models(*args, **kwargs):
        raise AssertionError("reload touched a model")

    monkeypatch.setattr("backend.models.resident.get_model", no_models)
    monkeypatch.setattr("backend.store.score_cache.score_texts", no_models)
    # Two runs in the same second have no reliable order: find the first text's run by its name.
    oldest = listing.loc[listing["name"].str.contains("A text worth keeping"), "id"].item()
    at.selectbox(key="run_choice").set_value(oldest).run()
    at.button(key="run_reload").click().run()
    assert not at.exception
    # The message names the run as the listing does (its name, shown literally), not by its id.
    name = literal(listing.loc[listing["id"] == oldest, "name"].item())
    assert any(s.value == f"Reloaded run “{name}”." for s in at.success), [s.value for s in at.success]
    assert at.session_state["result"].run_id == oldest
    assert any(h.value == f"Run “{name}”" for h in at.subheader)
    assert maps(at) == scored  # the same views as when it was scored
    assert len(at.dataframe[1].value) == 2  # its summary: one row per model
    at.button(key="run_delete").click().run()
    assert any(s.value == f"Moved run “{name}” to the trash." for s in at.success)
    assert list(at.dataframe[0].value["id"]) == [i for i in listing["id"] if i != oldest]
    assert len(maps(at)) == 0  # the deleted run is no longer drawn here


def test_opening_a_folder_that_is_not_a_corpus_output_says_why(app, tmp_path):
    at = app.run()
    at.switch_page("pages/runs.py").run()
    at.text_input(key="corpus_folder").set_value(str(tmp_path / "nothing here")).run()
    at.button(key="corpus_open").click().run()
    assert not at.exception
    assert any("Could not open" in e.value for e in at.error)
    assert "No runs yet" in at.info[0].value  # nothing half-imported


def test_listing_shows_specs_and_settings_as_people_write_them(app):
    """The catalog keeps specs URL-encoded and settings as JSON; the table shows neither raw."""
    at = app
    at.session_state["model_a"] = at.session_state["model_a"] + "?bos=<|x|>"  # stored as bos=%3C%7Cx%7C%3E
    at = score(at.run(), "Listed as typed.")
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    row = at.dataframe[0].value.iloc[0]
    assert row["model A"].endswith("?bos=<|x|>") and "%3C" not in row["model A"]
    assert row["settings"].startswith("top-k 5 · window") and "{" not in row["settings"]
    assert row["created"].endswith(" UTC") and "T" not in row["created"].removesuffix(" UTC")
    assert at.selectbox(key="run_choice").format_func(row["id"]).startswith(row["created"] + " · ")


def test_a_failed_model_is_seen_near_the_left_of_the_listing(app, tmp_path):
    """A run where one model failed says so in a short column beside its name, not at the end of 'settings'."""
    at = app
    at.session_state["model_a"] = str(tmp_path / "no-such-model")
    at = score(at.run(), "Only model B can read this.")
    at.switch_page("pages/runs.py").run()
    assert not at.exception, at.exception
    listing = at.dataframe[0].value
    assert list(listing.columns).index("scored by") == 1  # right after the name
    assert listing["scored by"].tolist() == ["B only: A failed"]
    assert "failed" not in listing["settings"].iloc[0]  # said once, where it is seen
