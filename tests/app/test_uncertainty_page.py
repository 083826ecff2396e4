"""The uncertainty page in AppTest with the tiny models: one button, the table, the scatter, the clusters, errors."""

from __future__ import annotations

import json

from app_helpers import finish_jobs

PROMPTS = "What is 1 + 2?\nName a <b>fruit</b>."


def open_page(app):
    at = app.run()
    at.switch_page("pages/uncertainty.py").run()
    assert not at.exception, at.exception
    return at


def press(at, prompts: str = PROMPTS):
    at.text_area(key="unc_text").input(prompts)
    at.number_input(key="unc_n").set_value(4)
    at.number_input(key="unc_max_new").set_value(6)
    at.button(key="unc_run").click()
    return finish_jobs(at.run())  # the sampling runs as a job (ui/jobs.py)


def plotly_array(value):
    """An array from a figure's JSON: plotly writes numeric arrays as base64 ({"dtype", "bdata", "shape"})."""
    import base64

    import numpy as np

    if not isinstance(value, dict):
        return np.asarray(value)
    shape = [int(n) for n in str(value.get("shape", "-1")).split(",")]
    return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).reshape(shape)


def per_prompt_table(at):
    return next(d.value for d in at.dataframe if "prompt" in d.value.columns)


def test_one_button_gives_table_scatter_and_clusters(app):
    at = open_page(app)
    assert "Sample and compare" in [b.label for b in at.button]
    assert "press **Sample and compare**" in at.info[0].value
    at = press(at)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    table = per_prompt_table(at)
    assert len(table) == 2
    for metric in ("discrete_semantic_entropy", "n_clusters", "vendi_embedding"):
        assert {f"{metric}_a", f"{metric}_b", f"{metric}_diff"} <= set(table.columns)
    assert (table["n_clusters_a"] >= 1).all() and (table["n_clusters_b"] <= 4).all()
    # Prompts counted from 1 wherever the page names them: the table's "#", the picker, the scatter's hover.
    assert table["prompt_id"].tolist() == [1, 2]
    assert at.selectbox(key="unc_detail").format_func(0).startswith("1: What is 1 + 2?")
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    scatter = next(c for c in charts if "one point per prompt" in c["layout"]["title"]["text"])
    points = scatter["data"][1]
    assert len(points["x"]) == 2 and plotly_array(points["customdata"]).ravel().tolist() == [1, 2]
    assert any("&lt;b&gt;fruit&lt;/b&gt;" in text for text in points["text"])  # hover shows the prompt, escaped
    heatmaps = [h.value for h in at.get("html") if "unc-map-" in h.value]
    assert heatmaps and all("<b>fruit" not in h for h in heatmaps)
    assert sum(h.count('id="unc-map-') for h in heatmaps) == 2 * 4  # the first prompt's samples, both models
    assert any(m.value.startswith("**Cluster 1**") for m in at.markdown)
    assert any("sweep" in json.dumps(c["layout"]["title"]) or "threshold" in json.dumps(c["layout"]["title"]) for c in charts)
    labels = [b.label for b in at.get("download_button")]
    assert "duet-uncertainty-per-prompt.csv" in labels and "duet-samples.parquet" in labels and "HTML" in labels

    # The threshold redraws from the kept tables: no sampling, and 0 keeps only identical answers apart.
    at.slider(key="unc_threshold").set_value(0.0).run()
    assert not at.exception
    strict = per_prompt_table(at)
    assert (strict["n_clusters_a"] >= table["n_clusters_a"]).all()

    # Answer-aware embeddings are the default; whole-answer embeddings stay one click away.
    assert any("clusters by answer-aware embeddings, threshold 0.0" in c.value for c in at.caption)
    at.radio(key="unc_method").set_value("Embeddings of whole answers").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("clusters by whole-answer embeddings, threshold 0.25" in c.value for c in at.caption)
    assert len(per_prompt_table(at)) == 2


def test_errors_keep_earlier_results(app, tmp_path):
    at = press(open_page(app))
    before = per_prompt_table(at)
    at.text_area(key="unc_text").input("   ")
    finish_jobs(at.button(key="unc_run").click().run())
    assert any("Nothing to sample" in e.value for e in at.error)
    assert per_prompt_table(at).equals(before)  # the earlier results are still drawn

    at.session_state["model_b"] = str(tmp_path / "no-such-model")
    at.text_area(key="unc_text").input("A brand new prompt")
    finish_jobs(at.button(key="unc_run").click().run())
    assert not at.exception, at.exception
    assert any("Model B" in e.value and "no model folder" in e.value for e in at.error)
    table = per_prompt_table(at)
    assert len(table) == 1 and table["n_clusters_b"].isna().all()  # A still sampled; B missing, not zero


def test_nli_clusters_and_a_failing_nli_model(app, tmp_path):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("nli_tests", Path(__file__).parents[1] / "backend" / "test_nli.py")
    nli_tests = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nli_tests)
    folder = nli_tests.build_tiny_nli(tmp_path / "nli")

    at = press(open_page(app))
    embedding_table = per_prompt_table(at)
    at.radio(key="unc_method").set_value("NLI entailment").run()
    at.text_input(key="unc_nli").input(str(folder)).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    nli_table = per_prompt_table(at)
    assert len(nli_table) == 2 and (nli_table["n_clusters_a"] >= 1).all()
    assert any("NLI:" in c.value for c in at.caption)

    at.text_input(key="unc_nli").input(str(tmp_path / "not-a-model")).run()
    assert any("NLI clustering" in e.value and "failed" in e.value for e in at.error)
    assert per_prompt_table(at).equals(embedding_table)  # falls back to the embedding clusters, still drawn
