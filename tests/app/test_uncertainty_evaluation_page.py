"""The uncertainty page's added estimators and its "which estimator predicts errors" section, in AppTest with the tiny models."""

from __future__ import annotations

import json

from app_helpers import finish_jobs
from test_uncertainty_page import open_page, per_prompt_table, plotly_array, press

from analysis.uncertainty_table import ESTIMATOR_COLUMNS

QUESTIONS = ["What is 1 + 2?", "Name a fruit.", "Say hello.", "Count to three.", "Pick a colour.", "Name a city."]


def references(at) -> dict:
    """(prompt_id, model) -> the reference answer the tiny model gave (stripped)."""
    samples = at.session_state["unc_result"].samples
    refs = samples[samples["is_reference"]]
    return {(int(p), str(m)): str(t).strip() for p, m, t in zip(refs["prompt_id"], refs["model"], refs["text"])}


def test_the_example_button_loads_questions_with_answers(app):
    at = open_page(app)
    assert "press **Sample and compare**" in at.info[0].value  # nothing sampled yet
    at.button(key="unc_examples_gold").click().run()
    lines = at.text_area(key="unc_text").value.splitlines()
    assert len(lines) >= 30 and all(line.count("\t") == 1 for line in lines)
    assert lines[0] == "What is the capital of France?\tParis"
    assert at.info[0].value == f"{len(lines)} prompts with gold answers ready: press **Sample and compare**."


def test_the_prompt_format_keeps_its_line_break(app):
    """A one-line input showed the default as "Question: {prompt}Answer:" and lost the break when edited."""
    at = open_page(app)
    box = at.text_area(key="unc_format")
    assert box.value == "Question: {prompt}\nAnswer:"
    box.input("Q: {prompt}\nA:").run()
    assert at.text_area(key="unc_format").value == "Q: {prompt}\nA:"


def test_estimators_accuracy_and_which_estimator_predicts_errors(app):
    at = press(open_page(app), "\n".join(QUESTIONS))
    assert not at.exception, at.exception
    table = per_prompt_table(at)
    assert "discrete_semantic_entropy_a" in table.columns
    assert any("Give the prompts gold answers" in i.value for i in at.info)  # no gold yet: the section says how

    # The new estimators are optional columns of the per-prompt table, picked from the registry.
    at.multiselect(key="unc_metrics").set_value(["eigv", "semantic_volume", "reference_nll"]).run()
    assert not at.exception, at.exception
    table = per_prompt_table(at)
    assert {"eigv_a", "eigv_b", "semantic_volume_diff", "reference_nll_a"} <= set(table.columns)
    assert (table["eigv_a"] >= 1 - 1e-9).all() and (table["semantic_volume_a"] < 0.01).all()
    summary = at.session_state["_unc_memo"]
    assert any(key[0] == "estimators" for key in summary)

    # The scatter plots any of them, negative values included (a log-determinant).
    at.selectbox(key="unc_scatter_metric").set_value("semantic_volume").run()
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    scatter = next(c for c in charts if "one point per prompt" in c["layout"]["title"]["text"])
    low, _ = scatter["layout"]["xaxis"]["range"]
    assert low <= plotly_array(scatter["data"][1]["x"]).min()

    # Gold answers: the tiny models' own reference answers for the first three prompts (right), nonsense after.
    refs = references(at)
    lines = [f"{q}\t{refs[(i, 'a')]} | {refs[(i, 'b')]}" if i < 3 else f"{q}\tzzqx"
             for i, q in enumerate(QUESTIONS)]
    at = press(at, "\n".join(lines))  # the same prompts and settings: the samples come from the store
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    result = at.session_state["unc_result"]
    assert result.prompts == QUESTIONS and result.answers[3] == "zzqx"  # the gold never reaches the models
    metrics = {m.label: m.value for m in at.metric}
    accuracies = [v for k, v in metrics.items() if k.endswith("accuracy")]
    assert accuracies == ["50%", "50%"], metrics
    grid = next(d.value for d in at.dataframe if "estimator" in d.value.columns)
    assert len(grid) >= len(ESTIMATOR_COLUMNS) + 5  # the old estimators and the added ones
    assert any(c.startswith("AUROC · A") for c in grid.columns) and any(c.startswith("PRR · B") for c in grid.columns)
    # Short headers, so all four columns fit the page; the caption says which model each letter is.
    assert list(grid.columns) == ["estimator", "AUROC · A", "PRR · A", "AUROC · B", "PRR · B"]
    from ui.uncertainty_evaluation import grid_height
    assert grid_height(len(grid)) >= 35 * (len(grid) + 1)  # every row in view, no inner scroll bar
    assert any(c.value.startswith("**A** = ") and "**B** = " in c.value for c in at.caption)
    assert sum("best is" in m.value for m in at.markdown) == 2
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    curves = next(c for c in charts if "Rejection curves" in c["layout"]["title"]["text"])
    assert len([t for t in curves["data"] if t["mode"] == "lines+markers"]) == 2  # one per model, side by side
    labels = [b.label for b in at.get("download_button")]
    assert "duet-estimator-evaluation.csv" in labels and "duet-answers-correctness.csv" in labels

    # The other rules redraw from the kept samples.
    assert at.radio(key="unc_rule").options[0].startswith("exact match or token F1 ≥ 0.5, after removing")
    for rule in ("squad-plain", "contains"):
        at.radio(key="unc_rule").set_value(rule).run()
        assert not at.exception, at.exception


def test_graph_estimators_use_nli_probabilities_when_clustering_by_nli(app, tmp_path):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("nli_tests", Path(__file__).parents[1] / "backend" / "test_nli.py")
    nli_tests = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nli_tests)
    folder = nli_tests.build_tiny_nli(tmp_path / "nli")

    at = press(open_page(app), "\n".join(f"{q}\tzzqx" for q in QUESTIONS[:2]))
    assert any("embedding cosine" in c.value for c in at.caption)
    at.radio(key="unc_method").set_value("NLI entailment").run()
    at.text_input(key="unc_nli").input(str(folder)).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("NLI entailment probabilities" in c.value for c in at.caption)
    memo = at.session_state["_unc_memo"]
    assert any(key[0] == "estimators" and "nli" in key[1] for key in memo)


def test_an_uploaded_answer_column_gives_gold_answers(app):
    at = open_page(app)
    at.radio(key="unc_mode").set_value("Upload").run()
    at.file_uploader(key="unc_upload").set_value([
        ("qa.csv", b"text,answer\nWhat is 1 + 2?,3\n,orphan answer\nName a fruit.,\n", "text/csv"),
    ]).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="unc_column").options == ["text"]  # the answer column is not offered as prompts
    at.number_input(key="unc_n").set_value(2)
    at.number_input(key="unc_max_new").set_value(4)
    at.button(key="unc_run").click()
    at = finish_jobs(at.run())  # the sampling runs as a job (ui/jobs.py)
    assert not at.exception, at.exception
    result = at.session_state["unc_result"]
    assert result.prompts == ["What is 1 + 2?", "Name a fruit."] and result.answers == ["3", ""]


def test_a_model_that_answers_in_sentences_gets_a_hint():
    """SQuAD's F1 calls "The capital of France is Paris." wrong against "Paris": the page says so."""
    import pandas as pd

    from ui.uncertainty_evaluation import sentence_hints

    def table(a, b):
        return pd.DataFrame({"prompt_id": [0, 1, 2, 3] * 2, "model": ["a"] * 4 + ["b"] * 4,
                             "correct": [*a, *b]})

    squad = table([0, 0, 0, 1], [1, 1, 0, 0])
    contains = table([1, 1, 1, 1], [1, 1, 0, 1])
    lines = sentence_hints(squad, contains, ("small", "base"))
    assert len(lines) == 1 and lines[0].startswith("A · small: 4 of 4 reference answers contain the gold answer, "
                                                   "but only 1 pass")
    assert sentence_hints(squad, squad, ("small", "base")) == []
