"""The run store keeps the corpus-ranking aggregates, text metadata and same-vocabulary table with a run."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import corpus_ranking as C
from analysis.pair import combine
from backend.store.runs import RunStore
from tests.analysis.test_corpus_ranking import corpus


@pytest.fixture
def result():
    texts, words, tokens, sv = corpus(seed=7)
    cols = ["text_id", "position", "char_start", "char_end", "logprob"]
    pair = combine(texts, *(_token_table(tokens[tokens["model"] == s][cols]) for s in "ab"))
    return pair


def _token_table(t):
    from analysis.schema import TOKEN_COLUMNS

    t = t.copy()
    for c, dtype in TOKEN_COLUMNS.items():
        if c not in t:
            t[c] = pd.Series([[] for _ in range(len(t))] if dtype == "object" else 0, index=t.index).astype(
                dtype if dtype != "string" else object)
    t["rank"] = 1.0
    t["entropy"] = 1.0
    t["word_start_logprob"] = t["next_word_start_logprob"] = 0.0
    return t[list(TOKEN_COLUMNS)]


def test_ranking_is_built_with_the_run_and_read_back(result, tmp_path):
    store = RunStore(tmp_path / "runs")
    meta = pd.DataFrame({"domain": ["news", "code", "web"] * (len(result.texts) // 3)})
    run_id = store.save(result, "a", "b", {}, text_meta=meta)
    files = {p.name for p in store.folder_of(run_id).iterdir()}
    assert {"ranking_texts.parquet", "ranking_spans.parquet", "text_meta.parquet"} <= files
    assert "same_vocab.parquet" not in files
    ranking = store.ranking(run_id)
    want = C.build(result.texts, result.words, result.tokens)
    pd.testing.assert_frame_equal(ranking["texts"], want["texts"])
    pd.testing.assert_frame_equal(ranking["spans"], want["spans"])
    pd.testing.assert_frame_equal(store.optional(run_id)["text_meta"], meta)


def test_a_run_saved_without_ranking_gets_it_built_in_memory_not_written(result, tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id = store.save(result, "a", "b", {})
    for name in ("ranking_texts", "ranking_spans"):
        (store.folder_of(run_id) / f"{name}.parquet").unlink()  # as an older version saved it
    files = sorted(p.name for p in store.folder_of(run_id).iterdir())
    first = store.ranking(run_id)
    assert sorted(p.name for p in store.folder_of(run_id).iterdir()) == files
    want = C.build(result.texts, result.words, result.tokens)
    pd.testing.assert_frame_equal(first["texts"], want["texts"])
    pd.testing.assert_frame_equal(store.ranking(run_id)["spans"], want["spans"])
