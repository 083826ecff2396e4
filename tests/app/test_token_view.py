"""The token view in AppTest, with the tiny models: widgets, scoring, views, no recompute, errors."""

from __future__ import annotations

import pytest
from app_helpers import legend, maps, score, visible_text

from analysis import metrics
from ui.samples import SAMPLES
from ui.sidebar import control_key

HOSTILE = "Hi <script>alert(1)</script> and <img src=x onerror=alert(1)> end."


def test_widgets_present(app):
    at = app.run()
    assert not at.exception
    labels = [w.label for w in at.sidebar.selectbox]
    assert labels.count("Variant") == 2 and "Model A" in labels and "Model B" in labels
    # The tiny models are folders, so both pickers are on "Other" with the path in the free field.
    assert [t.value for t in at.sidebar.text_input][:1] == [at.session_state["model_a"]]
    assert at.session_state["units"] == "nats"
    assert at.text_area(key="input_text") is not None
    assert {b.label for b in at.button} >= set(SAMPLES) | {"Score"}
    assert "Pick two models" in at.info[0].value


def test_sample_loads_in_one_click(app):
    at = app.run()
    at.button(key="sample_Code").click()
    at.run()
    assert at.text_area(key="input_text").value == SAMPLES["Code"]


def test_score_shows_both_heatmaps_summary_and_exports(app):
    at = score(app.run(), "The quick brown fox jumps over the lazy dog.")
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    found = maps(at)
    assert {"duet-map-a-0", "duet-map-b-0"} <= set(found)
    summary = at.dataframe[0].value
    assert len(summary) == 2 and summary["model"].str.startswith(("A ·", "B ·")).all()
    assert at.status[0].label.startswith("Scored in") and at.status[0].state == "complete"
    labels = [b.label for b in at.get("download_button")]
    for needed in ("Heatmap A (HTML)", "Heatmap B (HTML)", "PNG", "SVG", "HTML", "duet-tokens.csv", "duet-tokens.parquet"):
        assert needed in labels
    assert at.session_state["result"].run_id  # each scoring saves a run
    assert at.sidebar.caption[0].value.startswith("Runs on")  # device and dtype once loaded


def test_hostile_text_is_escaped(app):
    at = score(app.run(), HOSTILE)
    found = maps(at)
    assert len(found) == 2
    for body in found.values():
        assert "<script" not in body and "<img" not in body
        assert visible_text(body) == HOSTILE  # shown literally, every character
    at.radio(key="tv_colour").set_value("delta").run()
    body = maps(at)["duet-map-delta-0"]
    assert "<script" not in body and "<img" not in body and visible_text(body) == HOSTILE


def test_recolouring_and_units_never_recompute(app, monkeypatch):
    at = score(app.run(), "One two three four five six seven.")
    assert len(maps(at)) == 2

    def boom(*args, **kwargs):
        raise AssertionError("a view change called the scorer")

    monkeypatch.setattr("backend.scoring.pair.score_models", boom)
    monkeypatch.setattr("backend.store.score_cache.score_texts", boom)
    for colouring in ("entropy", "rank", "delta", "surprisal"):
        at.radio(key="tv_colour").set_value(colouring).run()
        assert not at.exception, at.exception
    assert list(maps(at)) == ["duet-map-a-0", "duet-map-b-0"]
    at.radio(key="tv_colour").set_value("delta").run()
    assert list(maps(at)) == ["duet-map-delta-0"]
    assert "A predicted better" in legend(at)
    at.segmented_control(key=control_key("units")).set_value("bits").run()
    assert "(bits)" in legend(at)
    at.slider(key="tv_window").set_value(5).run()
    at.radio(key="tv_colour").set_value("surprisal").run()
    token_maps = maps(at)
    at.radio(key="tv_level").set_value("words").run()
    assert not at.exception
    word_maps = maps(at)
    assert set(word_maps) == {"duet-map-a-0", "duet-map-b-0"} and word_maps != token_maps


def test_empty_text_is_an_error_and_keeps_results(app):
    at = score(app.run(), "Some text to keep.")
    before = maps(at)
    at = score(at, "   ")
    assert any("Nothing to score" in e.value for e in at.error)
    assert maps(at) == before


def test_model_that_fails_to_load_shows_why_and_the_other_still_shows(app, tmp_path):
    at = app
    at.session_state["model_a"] = str(tmp_path / "no-such-model")
    at = score(at.run(), "Only model B can read this.")
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "Model A" in errors and "no model folder" in errors
    assert set(maps(at)) == {"duet-map-b-0"}
    assert len(at.dataframe[0].value) == 1


def test_one_failed_model_shows_only_the_other_and_no_misleading_zeros(app, tmp_path):
    """No "0 of 0" words won, no empty legend entry or A − B panel for the model that failed: it is said instead."""
    import json

    at = score(app.run(), "First both models read this.")
    at.radio(key="tv_colour").set_value("delta").run()  # a view that needs both models, picked before
    at.sidebar.text_input(key="_path_a").set_value(str(tmp_path / "no-such-model"))
    at = score(at.run(), "Only model B can read this.")
    assert not at.exception, at.exception
    summary = at.dataframe[0].value
    assert "words won" not in summary.columns and "0 of 0" not in summary.to_string()
    assert any("Only model B scored: model A failed" in i.value for i in at.info)
    assert "delta" not in at.radio(key="tv_colour").options  # A − B is not offered with one model
    label_a, label_b = at.session_state["result"].labels
    traces = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    traces = [t for t in traces if "along the text" in t["layout"]["title"]["text"]]
    assert len(traces) == len(metrics.traces())  # one per traced metric (surprisal, entropy, ...)
    for trace in traces:
        assert [d["name"] for d in trace["data"]] == [label_b]  # B's line only: no empty entry for A, no A − B
        assert "B only (A failed)" in trace["layout"]["title"]["text"] and "yaxis2" not in trace["layout"]


def test_both_models_failing_keeps_earlier_results(app, tmp_path):
    at = score(app.run(), "First a good run.")
    before = maps(at)
    for key in ("_path_a", "_path_b"):
        at.sidebar.text_input(key=key).set_value(str(tmp_path / f"missing-{key}"))
    at = score(at.run(), "Now neither model loads.")
    assert any("could not be loaded" in e.value for e in at.error)
    assert maps(at) == before


def test_bad_spec_in_sidebar_is_a_message(app):
    at = app.run()
    at.sidebar.selectbox(key="_variant_a").set_value("prune").run()
    at.sidebar.slider(key="_sparsity_a").set_value(0.95).run()
    assert not at.exception
    assert "variant=prune" in at.session_state["model_a"]


def test_same_vocabulary_view(app, tiny_a):
    """A model against its own pruned copy: same vocabulary, so KL / JS / top-k overlap appear."""
    at = app
    at.session_state["model_b"] = f"{tiny_a}?sparsity=0.5&variant=prune"
    at = score(at.run(), "Same words, same vocabulary, two versions of one model.")
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = at.session_state["result"]
    assert shown.same_vocab is not None and len(shown.same_vocab)
    colour = at.radio(key="tv_colour")
    assert {"KL(A‖B)", "KL(B‖A)", "Jensen–Shannon", "Top-k overlap"} <= set(colour.options)
    colour.set_value("js").run()
    assert not at.exception
    assert "Jensen–Shannon" in legend(at) and set(maps(at)) == {"duet-map-a-0", "duet-map-b-0"}
    assert at.slider(key="tv_sv_window") is not None
    at.radio(key="tv_colour").set_value("rank_diff").run()  # a shared vocabulary: per token too
    assert not at.exception and not at.radio(key="tv_level").disabled
    assert set(maps(at)) == {"duet-map-a-0", "duet-map-b-0"} and "Rank in A" in maps(at)["duet-map-a-0"]
    assert "duet-same-vocabulary.csv" in [b.label for b in at.get("download_button")]


def test_stale_note_goes_once_the_new_pair_is_scored(app, tiny_a):
    """The sidebar is drawn before Score runs: its "scored with other models" note must not outlive the scoring."""
    at = score(app.run(), "First with the tiny pair.")
    at.sidebar.text_input(key="_path_b").set_value(str(tiny_a)).run()
    assert any("scored with other models" in i.value for i in at.sidebar.info)
    at = score(at, "Now with model A twice.")
    assert not at.exception and at.session_state["result"].model_b == at.session_state["model_b"]
    assert not any("scored with other models" in i.value for i in at.sidebar.info)


def test_model_names_from_typed_paths_are_shown_literally(app, tmp_path):
    """A folder name is typed by the user: markdown must not read *...* or $...$ out of it."""
    at = app
    at.session_state["model_a"] = str(tmp_path / "my*odd*$model$")
    at = score(at.run(), "Only model B can read this.")
    assert not at.exception
    assert any(m.value == r"**A · my\*odd\*\$model\$**" for m in at.markdown)
    assert all("*odd*" not in e.value for e in at.error)
    assert any(r"my\*odd\*\$model\$" in e.value for e in at.error)


def test_rank_difference_colouring_per_word_across_tokenizers(app):
    """Offered by the registry with its legend; two tokenizers: one map per word, the level fixed."""
    at = score(app.run(), "One two three four five six seven.")
    colour = at.radio(key="tv_colour")
    assert "Rank difference" in colour.options
    assert "Rank difference: log₂(rank in B + 1)" in colour.help
    colour.set_value("rank_diff").run()
    assert not at.exception, at.exception
    assert list(maps(at)) == ["duet-map-rank_diff-0"]
    assert "rank difference log₂(rank B + 1) − log₂(rank A + 1)" in legend(at) and "A ranked it higher" in legend(at)
    assert "rank of the first token: A" in maps(at)["duet-map-rank_diff-0"]
    assert at.radio(key="tv_level").disabled


def test_units_and_word_probability_are_drawn_with_the_view(app):
    """On the token view they sit in the result view's fragment (a pick redraws the views, not the page), and
    the choice outlives the pickers (tests/e2e/test_jobs_browser.py checks that no whole-page run follows)."""
    at = score(app.run(), "One two three four five six seven.")
    units, words = control_key("units"), control_key("word_probability")
    assert {units, words} <= {w.key for w in at.main.segmented_control}
    assert not at.sidebar.segmented_control
    at.radio(key="tv_colour").set_value("delta").run()
    at.segmented_control(key=words).set_value("prefix").run()
    at.segmented_control(key=units).set_value("bits").run()
    assert not at.exception, at.exception
    assert (at.session_state["units"], at.session_state["word_probability"]) == ("bits", "prefix")
    assert "(bits)" in legend(at)
    # A run that draws no such picker (another page) keeps the choice: the widgets copy it into plain keys.
    at.switch_page("pages/differences.py").run()
    assert not at.exception, at.exception
    assert (at.session_state["units"], at.session_state["word_probability"]) == ("bits", "prefix")
    at.switch_page("pages/token_view.py").run()
    assert {w.key: w.value for w in at.main.segmented_control if w.key in (units, words)} == {
        units: "bits", words: "prefix"}
