"""Integrity: finished results survive a failing cache or run store, cache entries and run files check
themselves, a damaged catalog is rebuilt, imports and inputs say what is missing, and spec and
message edge cases are one clear line."""

from __future__ import annotations

import errno
import json
import shutil

import numpy as np
import pandas as pd
import pytest

import backend.store.score_cache as score_cache
from backend.corpus.inputs import read_rows, read_texts
from backend.errors import InputError, SpecError, StoreError, first_line, user_message
from backend.models.loading import load_model
from backend.models.specs import ModelSpec
from backend.scoring.pair import score_models
from backend.scoring.score import ScoreSettings, score_texts
from backend.store import atomic
from backend.store.runs import RunStore

TEXTS = ["The quick brown fox.", "1 + 2 = 3", "Alice: hi!"]


@pytest.fixture(scope="module")
def models(tiny_a, tiny_b):
    return {"a": load_model(ModelSpec(str(tiny_a))), "b": load_model(ModelSpec(str(tiny_b)))}


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", "/full/disk/entry.parquet")


# --- finished work is never thrown away by a later step ---------------------------------


def test_a_cache_that_cannot_be_written_keeps_the_scores(models, isolated_cache, monkeypatch):
    monkeypatch.setattr(atomic, "write_parquet", _disk_full)
    outcome = score_models(models, TEXTS)
    assert outcome.pair is not None and not outcome.errors
    assert set(outcome.pair.tokens["model"]) == {"a", "b"}
    direct = score_texts(models["a"], TEXTS)
    got = outcome.pair.tokens[outcome.pair.tokens["model"] == "a"].reset_index(drop=True)
    np.testing.assert_allclose(got["logprob"], direct["logprob"], equal_nan=True)
    assert len(outcome.warnings) == 2 and all("disk is full" in w for w in outcome.warnings), outcome.warnings
    # and the run store on the same full disk: a warning, no run, nothing raised
    assert outcome.save_run("a", "b", {}) is None
    assert "results not saved to the run history" in outcome.warnings[-1] and "disk is full" in outcome.warnings[-1]


def test_a_full_disk_leaves_earlier_runs_intact(models, tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs")
    first = score_models(models, TEXTS, cache=False)
    run_id = first.save_run("a", "b", {"top_k": 5}, "first", store=store)
    monkeypatch.setattr(atomic, "write_parquet", _disk_full)
    second = score_models(models, TEXTS[:1], cache=False)
    assert second.save_run("a", "b", {}, "second", store=store) is None
    assert "disk is full" in second.warnings[-1]
    monkeypatch.undo()
    assert store.list()["id"].tolist() == [run_id]
    loaded, _ = store.load(run_id)
    pd.testing.assert_frame_equal(loaded.tokens, first.pair.tokens)
    assert not [p for p in (tmp_path / "runs").iterdir() if atomic.is_temp(p)]  # no half-written folder left


# --- score-cache entries check themselves --------------------------------------------------


def _batch(loaded):
    """The one batch file the first call wrote (backend/store/score_cache.py), and its rows as written."""
    folder = score_cache.scope_dir(str(loaded.spec), ScoreSettings())
    path = next(folder.glob("batch-*.parquet"))
    return path, pd.read_parquet(path)


def _rows_of(table, text):
    return table.index[table[score_cache.HASH_COLUMN] == score_cache.text_hash(text)]


def test_an_edited_cache_entry_is_recomputed_with_a_warning(models, isolated_cache, caplog):
    loaded = models["a"]
    clean = score_cache.cached_score_texts(loaded, TEXTS)
    path, table = _batch(loaded)
    table.loc[_rows_of(table, TEXTS[1])[2], "logprob"] += 6.69  # its hash, key and checksum kept: only a number changed
    table.to_parquet(path)
    warnings: list[str] = []
    again = score_cache.cached_score_texts(loaded, TEXTS, warnings=warnings)
    np.testing.assert_allclose(again["logprob"], clean["logprob"], atol=1e-5, equal_nan=True)
    assert len(warnings) == 1 and str(path) in warnings[0] and "checksum" in warnings[0]
    assert "checksum" in caplog.text
    assert score_cache.cached_score_texts(loaded, TEXTS, warnings=(later := [])) is not None and later == []


def test_an_entry_copied_over_another_texts_entry_is_recomputed(models, isolated_cache):
    """Text 0's rows stored under text 1's hash (with text 1's checksum): they fail the check."""
    loaded = models["a"]
    clean = score_cache.cached_score_texts(loaded, TEXTS)
    path, table = _batch(loaded)
    first, second = table.loc[_rows_of(table, TEXTS[0])], table.loc[_rows_of(table, TEXTS[1])]
    swapped = first.assign(**{c: second[c].iloc[0] for c in score_cache.CHECK_COLUMNS})
    rest = table.drop(index=second.index)
    pd.concat([rest, swapped], ignore_index=True).to_parquet(path)
    warnings: list[str] = []
    again = score_cache.cached_score_texts(loaded, TEXTS, warnings=warnings)
    pd.testing.assert_series_equal(again["token"], clean["token"])
    assert len(warnings) == 1 and "checksum" in warnings[0]


@pytest.mark.parametrize("damage", [lambda p: p.write_bytes(b"garbage bytes"),
                                    lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])])
def test_a_damaged_cache_file_is_named_and_recomputed(models, isolated_cache, damage):
    loaded = models["a"]
    clean = score_cache.cached_score_texts(loaded, TEXTS)
    path, _ = _batch(loaded)
    damage(path)
    warnings: list[str] = []
    again = score_cache.cached_score_texts(loaded, TEXTS, warnings=warnings)
    np.testing.assert_allclose(again["logprob"], clean["logprob"], atol=1e-5, equal_nan=True)
    assert len(warnings) == 1 and str(path) in warnings[0] and "cannot be read" in warnings[0]


def test_entry_checksum_survives_parquet_and_sees_one_value(models, tmp_path):
    table = score_texts(models["a"], TEXTS[:1])
    stamped = score_cache.stamp(table, TEXTS[0], "key")
    atomic.write_parquet(tmp_path / "e.parquet", stamped)
    back = pd.read_parquet(tmp_path / "e.parquet")
    assert score_cache.verify(back, TEXTS[0], "key") is None
    assert score_cache.verify(back, TEXTS[0], "other key") is not None
    back.loc[0, "topk_tokens"][0] = "changed"
    assert "checksum" in score_cache.verify(back, TEXTS[0], "key")


# --- a damaged catalog, a damaged run file ----------------------------------------------


def test_a_garbage_catalog_is_moved_aside_and_rebuilt(models, tmp_path):
    root = tmp_path / "runs"
    store = RunStore(root)
    outcome = score_models(models, TEXTS, cache=False)
    ids = [outcome.save_run("spec-a", "spec-b", {"top_k": 5}, name, store=store) for name in ("one", "")]
    # an older run: its meta.json has no catalog row (rebuilt from meta.json and the tables)
    meta_path = root / ids[1] / "meta.json"
    meta = json.loads(meta_path.read_text())
    del meta["catalog"]
    meta_path.write_text(json.dumps(meta))
    before = store.list()
    (root / "catalog.sqlite").write_bytes(b"this is not a database" * 100)
    rebuilt = RunStore(root)
    assert len(rebuilt.notes) == 1 and "unreadable" in rebuilt.notes[0] and "rebuilt from 2 run folder(s)" in rebuilt.notes[0]
    assert [p.name for p in root.glob("catalog.sqlite.corrupt-*")] and (root / "catalog.sqlite").is_file()
    after = rebuilt.list()
    columns = ["id", "name", "created", "model_a", "model_b", "settings", "n_texts", "n_tokens"]
    pd.testing.assert_frame_equal(after[columns], before[columns], check_dtype=False)
    assert rebuilt.load(ids[0])[0].texts == TEXTS


def test_a_damaged_run_file_is_named(models, tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id = score_models(models, TEXTS, cache=False).save_run("a", "b", {}, store=store)
    path = tmp_path / "runs" / run_id / "tokens.parquet"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(StoreError, match="tokens.parquet is damaged"):
        store.load(run_id)
    (tmp_path / "runs" / run_id / "meta.json").write_bytes(b"\x00garbage")
    with pytest.raises(StoreError, match="meta.json is damaged"):
        store.load(run_id)


# --- same-vocabulary results are saved with the run -------------------------------------------


def test_same_vocabulary_results_are_saved_and_reloaded(models, tmp_path):
    shared = {"a": models["a"], "b": models["a"]}
    outcome = score_models(shared, TEXTS, cache=False)
    assert outcome.same_vocab is not None and len(outcome.same_vocab)
    store = RunStore(tmp_path / "runs")
    run_id = outcome.save_run("a", "a", {}, store=store, source_rows=[2, 3, 5])
    pd.testing.assert_frame_equal(store.load_same_vocab(run_id), outcome.same_vocab)
    assert pd.read_parquet(tmp_path / "runs" / run_id / "texts.parquet")["source_row"].tolist() == [2, 3, 5]
    other = score_models(models, TEXTS, cache=False).save_run("a", "b", {}, store=store)
    assert store.load_same_vocab(other) is None


# --- imports and inputs that say what is missing ---------------------------------------------


def _corpus_output(folder, models, texts):
    """A complete corpus output folder as the Ray engine writes it (two parts), built without Ray."""
    from backend.store.corpus_output import HASH_COLUMN, TABLES, CorpusOutput, assign_text_ids, part_key, to_parquet_bytes

    output = CorpusOutput(folder)
    output.prepare({"model_a": "a", "model_b": "b", "settings": {}})
    hashes = [score_cache.text_hash(t) for t in texts]
    output.write_texts(pd.DataFrame({"text_id": range(len(texts)), "text": texts, HASH_COLUMN: hashes, "file": "f"}))
    for part in (slice(0, 2), slice(2, None)):
        part_texts, part_hashes = texts[part], hashes[part]
        ids = {h: [texts.index(t)] for h, t in zip(part_hashes, part_texts)}
        result = score_models(models, part_texts, cache=False, same_vocab=False).result()
        blobs, rows = {}, {}
        for name in TABLES:
            frame = getattr(result, name)
            frame = assign_text_ids(frame.assign(**{HASH_COLUMN: [part_hashes[i] for i in frame["text_id"]]}), ids, name)
            blobs[name], rows[name] = to_parquet_bytes(frame), len(frame)
        output.write_part(part_key(part_hashes), ids, blobs, rows)
    output.write_meta({**output.read_meta(), "complete": True})
    return output


def test_import_run_refuses_a_corpus_with_a_missing_part(models, tmp_path):
    from backend.store.corpus_output import CorpusRunError, import_corpus_run

    texts = TEXTS + ["A fourth text."]
    output = _corpus_output(tmp_path / "out", models, texts)
    store = RunStore(tmp_path / "runs")
    assert import_corpus_run(output.folder, store=store)  # complete: imported
    missing = sorted((output.folder / "words").glob("part-*.parquet"))[0]
    missing.unlink()
    with pytest.raises(CorpusRunError, match=rf"words/{missing.name} is missing \(\d+ rows, 2 text\(s\)\)"):
        import_corpus_run(output.folder, store=store)
    assert len(store.list()) == 1  # nothing half-imported


def test_jsonl_rows_without_text_are_counted_and_rows_keep_their_line():
    lines = [{"text": "first"}, {"text": None}, {"other": 1}, {"text": "   "}, {"text": "fifth"}]
    data = "\n".join(json.dumps(r) for r in lines).encode()
    rows = read_rows(data, "c.jsonl")
    assert rows.texts == ["first", "fifth"] and rows.source_rows == [1, 5]
    assert rows.skipped == {"with no text (null or missing)": [2, 3], "empty": [4]}
    assert rows.skipped_note("c.jsonl") == ("c.jsonl: skipped 3 row(s): 2 with no text (null or missing) (line 2, 3); "
                                           "1 empty (line 4)")
    assert read_texts(data, "c.jsonl") == ["first", "fifth"]  # the texts themselves as before
    csv = read_rows(b"id,text\n1,hello\n2,\n3,bye\n", "c.csv")
    assert csv.source_rows == [1, 3] and csv.skipped == {"empty": [2]}


# --- spec and message edges ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["maybe", "2", "on", ""])
def test_a_switch_that_is_not_yes_or_no_is_refused(value):
    with pytest.raises(SpecError, match="trust_remote_code must be 0 or 1"):
        ModelSpec.parse(f"org/x?trust_remote_code={value}")
    with pytest.raises(SpecError, match="allow_pickle must be 0 or 1"):
        ModelSpec.parse(f"org/x?allow_pickle={value}")


@pytest.mark.parametrize("value, on", [("1", True), ("TRUE", True), ("yes", True), ("0", False), ("false", False),
                                       ("No", False)])
def test_switch_spellings(value, on):
    assert ModelSpec.parse(f"org/x?trust_remote_code={value}").trust_remote_code is on


def test_the_error_formatter_keeps_closing_quotes():
    assert first_line(InputError("no column 'body'")) == "no column 'body'"
    assert user_message(ValueError("unknown model 'x'")) == "ValueError: unknown model 'x'"
    assert user_message(InputError('"quoted" start and "end"')) == '"quoted" start and "end"'
    assert first_line(KeyError("run-1")) == "run-1"  # a KeyError's own repr quotes are still dropped


def test_a_disk_full_error_reads_as_one_clear_line():
    message = user_message(OSError(errno.ENOSPC, "No space left on device", "/cache/x.parquet"))
    assert message.startswith("the disk is full") and "/cache/x.parquet" in message


def test_a_corrupt_pickle_checkpoint_is_named(tiny_a, tmp_path):
    from backend.errors import ModelLoadError

    folder = tmp_path / "pickled"
    shutil.copytree(tiny_a, folder)
    for weights in folder.glob("*.safetensors"):
        weights.unlink()
    (folder / "pytorch_model.bin").write_bytes(b"not a checkpoint" * 64)
    with pytest.raises(ModelLoadError) as raised:
        load_model(ModelSpec.parse(f"{folder}?allow_pickle=1"))
    message = user_message(raised.value)
    assert message.startswith(f"{folder / 'pytorch_model.bin'} is damaged or not a PyTorch checkpoint (")
    assert "weights_only" not in message and "\n" not in message
