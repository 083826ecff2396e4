"""The headless CLI on .txt, .csv and .jsonl, and its one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from backend.models.loading import load_model
from backend.scoring.score import score_texts
from backend.models.specs import ModelSpec
from tests_paths import REPO


def run_cli(*args, cwd=REPO):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "backend", "score", *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def corpus(tmp_path):
    texts = ["The quick brown fox.", "def f(x):\n    return x + 1", "Alice: hi!\nBob: hello."]
    (tmp_path / "c.txt").write_text("\n".join(t.replace("\n", " ") for t in texts))
    pd.DataFrame({"id": [1, 2, 3], "body": texts}).to_csv(tmp_path / "c.csv", index=False)
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps({"text": t}) for t in texts))
    return tmp_path, texts


@pytest.mark.parametrize("name, extra", [("c.txt", ["--split", "line"]), ("c.csv", ["--text-column", "body"]),
                                         ("c.jsonl", ["--compile-head", "on"])])  # compiled head: same numbers
def test_cli_scores_each_format(corpus, tiny_a, tiny_b, isolated_cache, name, extra):
    folder, texts = corpus
    out = folder / f"out_{name}.parquet"
    result = run_cli("--model-a", tiny_a, "--model-b", tiny_b, "--input", folder / name, "--out", out, *extra)
    assert result.returncode == 0, result.stderr
    tokens = pd.read_parquet(out)
    words = pd.read_parquet(out.with_suffix(".words.parquet"))
    assert set(tokens["model"]) == {"a", "b"}
    assert tokens["text_id"].nunique() == 3 and words["text_id"].nunique() == 3
    if name != "c.txt":  # the CLI's numbers are the scorer's numbers
        direct = score_texts(load_model(ModelSpec(str(tiny_a))), texts)
        got = tokens[tokens["model"] == "a"].reset_index(drop=True)
        np.testing.assert_allclose(got["logprob"], direct["logprob"], atol=1e-5, equal_nan=True)
    assert "scored 3 text(s)" in result.stderr


@pytest.mark.parametrize(
    "setup, args, message",
    [
        (None, ["--input", "missing.txt"], "no input file"),
        ("c.csv", ["--input", "c.csv", "--text-column", "nope"], "no column 'nope'"),
        ("empty.txt", ["--input", "empty.txt"], "is empty"),
        ("latin1.txt", ["--input", "latin1.txt"], "not valid UTF-8"),
        ("c.jsonl", ["--input", "c.jsonl", "--model-a", "no-org/no-model"], "hub is unreachable"),
        ("c.jsonl", ["--input", "c.jsonl", "--model-a", "m?dtype=float8"], "unknown dtype"),
    ],
)
def test_cli_bad_input_exits_nonzero_with_one_line(corpus, tiny_b, isolated_cache, setup, args, message):
    folder, _ = corpus
    (folder / "empty.txt").write_bytes(b"")
    (folder / "latin1.txt").write_bytes("café".encode("latin-1"))
    base = ["--model-a", tiny_b, "--model-b", tiny_b, "--out", folder / "o.parquet"]
    result = run_cli(*base, *args, cwd=folder)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_cli_saves_a_run_the_dashboard_opens(corpus, tiny_a, tiny_b, isolated_cache):
    from backend.store.runs import RunStore

    folder, texts = corpus
    result = run_cli("--model-a", tiny_a, "--model-b", tiny_b, "--input", folder / "c.jsonl", "--name", "my corpus")
    assert result.returncode == 0, result.stderr
    runs = RunStore().list()
    assert list(runs["name"]) == ["my corpus"]
    pair, meta = RunStore().load(runs["id"][0])
    assert pair.texts == texts and meta["settings"]["engine"] == "local"
    direct = score_texts(load_model(ModelSpec(str(tiny_b))), texts)
    got = pair.tokens[pair.tokens["model"] == "b"].reset_index(drop=True)
    np.testing.assert_allclose(got["logprob"], direct["logprob"], atol=1e-5, equal_nan=True)
    assert f"saved as run {runs['id'][0]}" in result.stderr


def test_cli_needs_somewhere_to_put_the_result(corpus, tiny_a, tiny_b, isolated_cache):
    folder, _ = corpus
    result = run_cli("--model-a", tiny_a, "--model-b", tiny_b, "--input", folder / "c.jsonl", "--no-save-run")
    assert result.returncode == 1 and result.stderr.strip().splitlines() == [
        "error: nowhere to put the result: give --out, or drop --no-save-run"]


def test_cli_keeps_metadata_columns_with_the_run(tmp_path, tiny_a, tiny_b, isolated_cache):
    from backend.store.runs import RunStore

    rows = [{"text": "The quick brown fox.", "domain": "news", "split": "dev"},
            {"text": "   ", "domain": "dropped", "split": "dev"},  # read_texts drops it: so does its metadata
            {"text": "def f(x):\n    return x + 1", "domain": "code", "split": "test"},
            {"text": "Alice: hi!", "domain": "chat"}]
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    result = run_cli("--model-a", tiny_a, "--model-b", tiny_b, "--input", tmp_path / "m.jsonl",
                     "--meta-columns", "domain,split")
    assert result.returncode == 0, result.stderr
    run_id = RunStore().list()["id"][0]
    meta = RunStore().optional(run_id)["text_meta"]
    assert meta["domain"].tolist() == ["news", "code", "chat"]
    assert meta["split"].tolist()[:2] == ["dev", "test"] and pd.isna(meta["split"].iloc[2])
    assert len(RunStore().ranking(run_id)["texts"]) == 3
    bad = run_cli("--model-a", tiny_a, "--model-b", tiny_b, "--input", tmp_path / "m.jsonl", "--meta-columns", "genre")
    assert bad.returncode != 0 and "no column 'genre'" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


# --- integrity: each failure one line, finished results kept --------------------------------


@pytest.mark.parametrize("args, message", [
    (["--top-k", "-1"], "error: argument --top-k: must be 1 or more, got -1"),
    (["--top-k", "0"], "error: argument --top-k: must be 1 or more, got 0"),
    (["--stride", "0"], "error: argument --stride: must be 1 or more, got 0"),
])
def test_cli_refuses_bad_numbers_before_loading_a_model(corpus, isolated_cache, args, message):
    folder, _ = corpus
    # a model that does not exist: had it been loaded, the error would be about it
    result = run_cli("--model-a", "no-org/no-model", "--input", folder / "c.jsonl", *args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"{message} (see python -m backend score --help)"]


def test_cli_says_a_folder_needs_the_ray_engine(corpus, tiny_a, isolated_cache):
    folder, _ = corpus
    result = run_cli("--model-a", tiny_a, "--model-b", tiny_a, "--input", folder)
    assert result.returncode == 1 and result.stderr.strip().splitlines() == [
        f"error: {folder} is a folder: the local engine reads one file; use --engine ray to score a folder"]


def test_cli_checks_out_before_scoring(corpus, isolated_cache):
    folder, _ = corpus
    out = folder / "c.txt" / "sub" / "o.parquet"  # under a file: cannot be created
    result = run_cli("--model-a", "no-org/no-model", "--input", folder / "c.jsonl", "--out", out)
    assert result.returncode == 1 and result.stderr.strip().splitlines() == [
        f"error: cannot write --out {out}: Not a directory ({out.parent})"]
    assert not (folder / "c.txt").is_dir()


def test_cli_keeps_its_results_when_cache_and_run_store_fail(corpus, tiny_a, isolated_cache):
    """A cache and a run store that cannot be written are warnings; --out is written all the same. Same-vocabulary
    divergences come when both specs share a vocabulary; rows without text are counted, and the run keeps source rows."""
    folder, texts = corpus
    lines = [{"text": texts[0]}, {"text": None}, {"text": texts[1]}]
    (folder / "n.jsonl").write_text("\n".join(json.dumps(r) for r in lines))
    isolated_cache.mkdir(parents=True)
    (isolated_cache / "scores").write_text("a file where the cache's folder should be")
    (isolated_cache / "runs").write_text("a file where the runs' folder should be")
    out = folder / "o.parquet"
    result = run_cli("--model-a", tiny_a, "--model-b", tiny_a, "--input", folder / "n.jsonl", "--out", out)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert any("skipped 1 row(s): 1 with no text (null or missing) (line 2)" in w for w in warnings), warnings
    assert sum("scores not kept in the cache" in w for w in warnings) == 2, warnings
    assert any("results not saved to the run history" in w for w in warnings), warnings
    assert "Traceback" not in result.stderr
    assert set(pd.read_parquet(out)["text_id"]) == {0, 1}
    same = pd.read_parquet(out.with_suffix(".same_vocab.parquet"))
    assert len(same) and {"kl_a_b", "js"} <= set(same.columns)


def test_cli_rebuilds_a_garbage_catalog_and_saves_the_run(corpus, tiny_a, isolated_cache):
    from backend.store.runs import RunStore

    folder, texts = corpus
    lines = [{"text": None}, {"text": texts[0]}]
    (folder / "n.jsonl").write_text("\n".join(json.dumps(r) for r in lines))
    (isolated_cache / "runs").mkdir(parents=True)
    (isolated_cache / "runs" / "catalog.sqlite").write_bytes(b"garbage, not a database" * 50)
    out = folder / "o.parquet"
    result = run_cli("--model-a", tiny_a, "--model-b", tiny_a, "--input", folder / "n.jsonl", "--out", out)
    assert result.returncode == 0, result.stderr
    assert any(line.startswith("warning: The run catalog") and "unreadable" in line and "catalog.sqlite.corrupt-" in line
               for line in result.stderr.splitlines()), result.stderr
    assert out.is_file()
    runs = RunStore().list()
    assert len(runs) == 1
    store = RunStore()
    assert store.load_same_vocab(runs["id"][0]) is not None
    kept = pd.read_parquet(isolated_cache / "runs" / runs["id"][0] / "texts.parquet")
    assert kept["source_row"].tolist() == [2]
