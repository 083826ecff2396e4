"""The score cache: one batch file per call, an index by text hash, older one-file-per-text entries
still read, top-k as Arrow fixed-size lists; and a call whose texts are all cached loads no model."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import backend.store.score_cache as score_cache
from backend.models.loading import load_model
from backend.models.specs import ModelSpec
from backend.scoring.pair import score_models
from backend.scoring.score import ScoreSettings, score_texts
from backend.store import atomic, topk_columns
from tests_paths import REPO
from tiny_models import CORPUS

TEXTS = CORPUS[:4]


def boom(spec):
    raise AssertionError(f"a model was loaded for a cached call: {spec}")


def test_a_cached_call_loads_no_model_and_gives_the_same_tables(tiny_a, tiny_b, isolated_cache):
    specs = {"a": ModelSpec(str(tiny_a)), "b": ModelSpec(str(tiny_b))}
    loads = []
    first = score_models(specs, TEXTS, load=lambda spec: loads.append(spec) or load_model(spec)).result()
    assert len(loads) == 2
    again = score_models(specs, TEXTS, load=boom).result()  # the loader raises: nothing may call it
    for name in ("tokens", "words", "summary"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(again, name))
    # a new text: only then is a model loaded, and only its text scored
    with pytest.raises(AssertionError, match="a model was loaded"):
        score_models(specs, TEXTS + ["Something new."], load=boom).result()


def test_a_cached_cli_rerun_loads_no_model(tiny_a, tiny_b, tmp_path):
    (tmp_path / "in.txt").write_text("The quick brown fox.\n1 + 2 = 3\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "DUET_CACHE_DIR": str(tmp_path / "cache")}
    args = ["score", "--model-a", str(tiny_a), "--model-b", str(tiny_b), "--input", str(tmp_path / "in.txt"),
            "--split", "line", "--out", str(tmp_path / "out.parquet")]
    first = subprocess.run([sys.executable, "-m", "backend", *args], cwd=REPO, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    code = textwrap.dedent(f"""
        import sys
        import backend.models.loading as loading
        def boom(*a, **k):
            raise SystemExit("a model was loaded")
        loading.load_model = boom
        from backend.__main__ import main
        sys.exit(main({args!r}))
    """)
    again = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "scored 2 text(s)" in again.stderr


def test_one_batch_file_per_call_and_old_entries_still_read(model_a, isolated_cache):
    settings = ScoreSettings()
    spec = str(model_a.spec)
    first = score_cache.cached_score_texts(model_a, TEXTS, settings)
    folder = score_cache.scope_dir(spec, settings)
    assert len(list(folder.glob("batch-*.parquet"))) == 1 and (folder / "index.sqlite").is_file()
    assert pq.read_schema(next(folder.glob("batch-*.parquet"))).field("topk_token_ids").type == pa.list_(pa.int64(), 5)
    # an entry in the older layout (one list-column parquet per text) is found without scoring
    old_text = "An entry written by the older cache."
    table = score_texts(model_a, [old_text], settings)
    atomic.write_parquet(score_cache.entry_path(spec, settings, old_text), table)
    tables, missing = score_cache.lookup(spec, settings, TEXTS + [old_text])
    assert missing == [] and len(tables) == len(TEXTS) + 1
    pd.testing.assert_frame_equal(tables[len(TEXTS)], pd.read_parquet(score_cache.entry_path(spec, settings, old_text)))
    again = score_cache.cached_score_texts(model_a, TEXTS, settings)
    pd.testing.assert_frame_equal(first, again)
    assert len(list(folder.glob("batch-*.parquet"))) == 1  # a cached call writes nothing


def test_a_damaged_batch_is_scored_again(model_a, isolated_cache):
    settings = ScoreSettings()
    first = score_cache.cached_score_texts(model_a, TEXTS, settings)
    batch = next(score_cache.scope_dir(str(model_a.spec), settings).glob("batch-*.parquet"))
    atomic.write_bytes(batch, b"not parquet")
    pd.testing.assert_frame_equal(first, score_cache.cached_score_texts(model_a, TEXTS, settings))


def test_topk_fixed_size_lists_read_back_as_the_list_columns_did(model_b):  # no BOS: first tokens unscored
    table = score_texts(model_b, TEXTS, ScoreSettings(top_k=3))
    assert (table["topk_token_ids"].map(len) == 0).any()  # rows without context: empty lists
    old, new = io.BytesIO(), io.BytesIO()
    table.to_parquet(old, index=False)
    topk_columns.columnar(table).to_parquet(new)
    old.seek(0), new.seek(0)
    want, got = pd.read_parquet(old), topk_columns.read(new)
    pd.testing.assert_frame_equal(got, want)
    for name in topk_columns.VALUE_TYPES:
        for a, b in zip(got[name], want[name]):
            assert a.dtype == b.dtype and a.tolist() == b.tolist()
    assert got["topk_token_ids"].map(lambda v: v.dtype == np.int64).all()
