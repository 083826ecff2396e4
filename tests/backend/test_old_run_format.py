"""Runs saved by earlier code still open: tests/data/old_run/ was written before the shared
catalog base (backend/store/catalog.py) and the atomic-write helper, and must stay readable."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from analysis.schema import WORD_COLUMNS
from backend.behaviorbox import run as R
from backend.behaviorbox.run import load_behaviorbox, run_folder_of, save_behaviorbox, selected_features
from backend.store.runs import RunStore
from backend.store.samples import SampleStore
from tests_paths import REPO

OLD = REPO / "tests" / "data" / "old_run"
RUN_ID = "20261201-020103-a7a02c"
SAMPLE_ID = "20261201-020103-cf682d"


@pytest.fixture
def old(tmp_path):
    shutil.copytree(OLD, tmp_path / "old")  # opening a store may touch its catalog: never the committed copy
    return tmp_path / "old"


def test_an_old_run_opens_and_the_store_keeps_working(old):
    store = RunStore(old / "runs")
    listed = store.list()
    assert listed["id"].tolist() == [RUN_ID]
    row = listed.iloc[0]
    assert (row["name"], row["model_a"], row["model_b"], row["n_texts"]) == ("old run", "tiny-a", "tiny-b", 2)
    result, meta = store.load(RUN_ID)
    assert result.texts == ["The quick brown fox.", "1 + 2 = 3"]
    assert meta == {"id": RUN_ID, "name": "old run", "model_a": "tiny-a", "model_b": "tiny-b", "settings": {"top_k": 5}}
    assert set(result.tokens["model"]) == {"a", "b"} and row["n_tokens"] == len(result.tokens)
    # Scored before the end-of-word correction: its word logprobs are the prefix sums, with no prefix columns
    # (analysis/words.with_word_probability reads such a table as prefix sums either way).
    new_columns = {"logprob_prefix_a", "logprob_prefix_b"}
    assert set(WORD_COLUMNS) - new_columns <= set(result.words.columns) and set(result.words["text_id"]) == {0, 1}
    assert not new_columns & set(result.words.columns)
    assert len(result.summary) == 4
    # A new run beside the old one, then the old one deleted: the catalog carries on.
    new_id = store.save(result, "tiny-a", "tiny-b", {"top_k": 5}, name="new run")
    assert store.list()["id"].tolist() == [new_id, RUN_ID]
    again, _ = store.load(new_id)
    pd.testing.assert_frame_equal(again.tokens, result.tokens)
    store.delete(RUN_ID)
    assert store.list()["id"].tolist() == [new_id]


def _snapshot(folder):
    """Every file under folder (names relative to it) with its size and mtime in nanoseconds."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def test_reading_an_old_run_leaves_its_folder_as_it_was(old):
    """Opening a run (its tables, ranking, optional tables, listing) writes nothing into its folder: the
    ranking a run saved before it existed is built in memory."""
    from analysis import corpus_ranking

    folder = old / "runs" / RUN_ID
    before = _snapshot(folder)
    assert "ranking_texts.parquet" not in before  # old: saved before the ranking was kept with a run
    store = RunStore(old / "runs")
    store.list()
    result, _ = store.load(RUN_ID)
    assert store.optional(RUN_ID) == {} and store.load_same_vocab(RUN_ID) is None
    ranking = store.ranking(RUN_ID)
    want = corpus_ranking.build(result.texts, result.words, result.tokens)
    pd.testing.assert_frame_equal(ranking["texts"], want["texts"])
    pd.testing.assert_frame_equal(ranking["spans"], want["spans"])
    assert store.ranking(RUN_ID)["texts"].equals(ranking["texts"])
    assert _snapshot(folder) == before


def test_an_old_behaviorbox_result_opens_and_is_saved_again(old):
    folder = run_folder_of(RUN_ID, RunStore(old / "runs"))
    bb = load_behaviorbox(folder)
    assert bb.n_words == 8 and bb.encoder == "fake" and bb.model_descriptions == {0: {"text": "digits", "model": "m"}}
    assert bb.stats["feature"].tolist() == [0, 1] and R.has_context_check(bb)
    assert bb.examples["feature"].tolist() == [0, 0, 0, 1, 1, 1]
    assert (bb.settings.dict_size, bb.settings.k, bb.settings.steps) == (32, 4, 2000)
    result, _ = RunStore(old / "runs").load(RUN_ID)
    sel = selected_features(bb, result.words, result.texts, min_abs_median_logprob=0, min_abs_median_p=0,
                            min_examples=0, require_context=False)
    assert sel["feature"].tolist() in ([0, 1], [1, 0]) and sel["model_description"].tolist().count("digits") == 1
    ex = R.examples_in_context(bb, result.words, result.texts, [0])
    assert ex["word_text"].tolist() == [result.words.loc[r, "word"] for r in bb.examples["word_row"][:3]]
    save_behaviorbox(bb, folder)  # the cached word vectors of the old result are carried over
    assert np.load(folder / "behaviorbox" / "word_embeddings.npy").shape == (8, 4)
    assert load_behaviorbox(folder).model_descriptions == bb.model_descriptions


def test_an_old_sample_run_opens(old):
    store = SampleStore(old / "sample_runs")
    listed = store.list()
    assert listed["id"].tolist() == [SAMPLE_ID] and listed.iloc[0]["n_prompts"] == 1
    result = store.load(SAMPLE_ID)
    assert len(result.prompts) == 1 and len(result.samples) >= 1 and len(result.tokens) >= 1
    assert set(result.samples["prompt_id"]) == {0}
    store.delete(SAMPLE_ID)
    assert store.list().empty
