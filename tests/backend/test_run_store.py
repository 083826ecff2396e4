"""The on-disk run store and the score cache: persist, reload without a model, delete, atomic writes."""

from __future__ import annotations

import pandas as pd
import pytest

import backend.store.score_cache as score_cache
from backend.models.loading import load_model
from backend.scoring.pair import score_pair
from backend.store.runs import RunNotFound, RunStore
from backend.scoring.score import ScoreSettings
from backend.models.specs import ModelSpec

TEXTS = ["The quick brown fox.", "1 + 2 = 3"]


@pytest.fixture(scope="module")
def pair(tiny_a, tiny_b):
    return load_model(ModelSpec(str(tiny_a))), load_model(ModelSpec(str(tiny_b)))


def test_save_list_load_delete(pair, tmp_path, isolated_cache):
    result = score_pair(*pair, TEXTS)
    store = RunStore(tmp_path / "runs")
    run_id = store.save(result, "a-spec", "b-spec", {"top_k": 5}, name="demo")
    listed = store.list()
    assert listed["id"].tolist() == [run_id]
    row = listed.iloc[0]
    assert (row["name"], row["model_a"], row["n_texts"]) == ("demo", "a-spec", 2) and row["size_bytes"] > 0
    loaded, meta = RunStore(tmp_path / "runs").load(run_id)  # a new store object: from disk only
    assert loaded.texts == TEXTS and meta["settings"] == {"top_k": 5}
    pd.testing.assert_frame_equal(loaded.tokens, result.tokens)
    pd.testing.assert_frame_equal(loaded.words, result.words)
    store.delete(run_id)
    assert store.list().empty
    with pytest.raises(RunNotFound):
        store.load(run_id)


def test_crash_mid_write_leaves_no_run(pair, tmp_path, isolated_cache, monkeypatch):
    result = score_pair(*pair, TEXTS)
    store = RunStore(tmp_path / "runs")
    calls = {"n": 0}
    real = pd.DataFrame.to_parquet

    def crash_on_third(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", crash_on_third)
    with pytest.raises(OSError):
        store.save(result, "a", "b", {})
    monkeypatch.undo()
    assert store.list().empty
    assert not [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]


def test_rescoring_reads_the_cache_without_recomputing(pair, isolated_cache, monkeypatch):
    first = score_pair(*pair, TEXTS)
    calls = []
    real = score_cache.score_texts
    monkeypatch.setattr(score_cache, "score_texts", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    again = score_pair(*pair, TEXTS)  # e.g. after a server restart: same disk cache
    assert calls == []
    pd.testing.assert_frame_equal(first.tokens, again.tokens)
    # one new text: only it is computed; different settings: a different cache entry
    score_pair(*pair, TEXTS + ["A new text."])
    assert calls == [["A new text."], ["A new text."]]
    score_pair(*pair, TEXTS, ScoreSettings(top_k=3))
    assert len(calls) == 4


def test_cache_is_keyed_by_model_spec(pair, isolated_cache, tiny_a):
    a, b = pair
    assert score_cache.entry_path(str(a.spec), ScoreSettings(), "x") != score_cache.entry_path(str(b.spec), ScoreSettings(), "x")
    pruned = str(ModelSpec(str(tiny_a), variant="prune", sparsity=0.5).resolved(False))
    assert score_cache.entry_path(pruned, ScoreSettings(), "x") != score_cache.entry_path(str(a.spec), ScoreSettings(), "x")
