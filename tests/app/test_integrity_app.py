"""Integrity in the app: scores kept when the cache and run store cannot be written, a garbage catalog
rebuilt on the Runs page, same-vocabulary results back after a reload, exports safe to open."""

from __future__ import annotations

import errno
import io

import pandas as pd
from app_helpers import maps, score

from ui.markdown import literal


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", "/full/disk/x.parquet")


def test_a_full_disk_keeps_the_results_with_a_warning_outside_the_status(app, monkeypatch):
    at = app.run()
    monkeypatch.setattr("backend.store.atomic.write_parquet", _disk_full)  # the cache and the run store
    at = score(at, "Finished work is kept.")
    assert not at.exception
    assert at.status[0].state == "complete" and at.status[0].label.startswith("Scored in")
    assert maps(at) and set(at.session_state["result"].pair.tokens["model"]) == {"a", "b"}  # shown, both models
    inside = {w.value for w in at.status[0].warning}
    outside = [w.value for w in at.warning if w.value not in inside]
    assert any("scores not kept in the cache" in w and "disk is full" in w for w in outside), outside
    assert any("results not saved to the run history" in w.lower() for w in outside), outside
    assert not any("Scoring failed" in e.value for e in at.error)


def test_the_runs_page_rebuilds_a_garbage_catalog(app, isolated_cache):
    at = score(app.run(), "A run worth keeping.")
    listed = at.session_state["result"].run_id
    (isolated_cache / "runs" / "catalog.sqlite").write_bytes(b"file is not a database" * 64)
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    assert any("unreadable" in w.value and literal("catalog.sqlite.corrupt-") in w.value
               and literal("rebuilt from 1 run folder") in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.dataframe[0].value["id"].tolist() == [listed]
    assert list((isolated_cache / "runs").glob("catalog.sqlite.corrupt-*"))


def test_a_damaged_run_file_is_named_on_reload(app, isolated_cache):
    at = score(app.run(), "A run to damage.")
    run_id = at.session_state["result"].run_id
    tokens = isolated_cache / "runs" / run_id / "tokens.parquet"
    tokens.write_bytes(b"garbage bytes")
    at.switch_page("pages/runs.py").run()
    at.button(key="run_reload").click().run()
    assert not at.exception
    assert any("Could not reload run" in e.value and literal("tokens.parquet is damaged") in e.value for e in at.error), \
        [e.value for e in at.error]


def test_same_vocabulary_results_come_back_after_a_reload(app, tiny_a, monkeypatch):
    monkeypatch.setenv("DUET_DEFAULT_MODEL_B", str(tiny_a))  # one vocabulary: the divergences are computed
    app.session_state["model_b"] = str(tiny_a)
    at = score(app.run(), "The same model twice.")
    assert at.session_state["result"].model_b == str(tiny_a)
    scored = at.session_state["result"]
    assert scored.same_vocab is not None and len(scored.same_vocab)
    at.session_state["result"] = None
    at.switch_page("pages/runs.py").run()
    at.button(key="run_reload").click().run()
    assert not at.exception
    shown = at.session_state["result"]
    assert shown.run_id == scored.run_id
    pd.testing.assert_frame_equal(shown.same_vocab, scored.same_vocab)


def test_csv_exports_defuse_formulas_and_name_the_models():
    from ui import exports

    payloads = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "plain", "a=b"]
    table = pd.DataFrame({"model": ["a", "b"] * 4, "context": payloads, "logprob": [-1.5] * 8})
    csv = exports.table_csv(table, {"a": "smollm2", "b": "=gemma"})
    assert b",'\rx," in csv  # pandas' reader would split this row at the CR: read it with the CR spelled out
    back = pd.read_csv(io.BytesIO(csv.replace(b"\r", b"<CR>")), keep_default_na=False)
    assert back["context"].tolist()[:6] == ["'" + p.replace("\r", "<CR>") for p in payloads[:6]]
    assert back["context"].tolist()[6:] == ["plain", "a=b"]
    assert back["logprob"].tolist() == [-1.5] * 8  # numbers stay numbers
    assert list(back.columns) == ["model", "model_label", "context", "logprob"]
    assert back["model_label"].tolist() == ["smollm2", "'=gemma"] * 4
    raw = pd.read_parquet(io.BytesIO(exports.table_parquet(table, {"a": "smollm2", "b": "=gemma"})))
    assert raw["context"].tolist() == payloads and raw["model_label"].tolist() == ["smollm2", "=gemma"] * 4
    words = pd.DataFrame({"word": ["=x"], "surprisal_a": [1.0], "surprisal_b": [2.0]})
    back = pd.read_csv(io.BytesIO(exports.table_csv(words, {"a": "A model", "b": "B model"})))
    assert back.iloc[0].tolist() == ["'=x", 1.0, 2.0, "A model", "B model"]
