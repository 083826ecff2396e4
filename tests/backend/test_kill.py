"""Writers killed mid-write (DUET_FAULT, backend/store/atomic.py): every output is then complete
or absent, the run catalogs list no half run, and a rerun produces the output.

The writer kills itself with os._exit(137) at the named point, as a SIGKILL would: no
exception handler, no finally block runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from backend.store import atomic
from tests_paths import REPO

KILLED = 137


def env(cache: Path, **extra) -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "DUET_CACHE_DIR": str(cache), **extra}


def cli(cache: Path, *args, **extra) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "backend", *map(str, args)]
    return subprocess.run(command, cwd=REPO, env=env(cache, **extra), capture_output=True, text=True, timeout=300)


def python(cache: Path, code: str, **extra) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env(cache, **extra),
                          capture_output=True, text=True, timeout=300)


def assert_complete_or_absent(*folders: Path) -> None:
    """Every file under a final (non-temporary) name reads whole."""
    for folder in folders:
        for path in folder.rglob("*"):
            if any(part.startswith(atomic.TEMP_PREFIX) for part in path.relative_to(folder).parts) or path.is_dir():
                continue
            if path.suffix == ".parquet":
                pd.read_parquet(path)
            elif path.suffix == ".json":
                json.loads(path.read_text())


def listed_runs_load(cache: Path) -> list[str]:
    from backend.store.runs import RunStore

    store = RunStore(cache / "runs")
    ids = store.list()["id"].tolist()
    for run_id in ids:
        result, _ = store.load(run_id)
        assert len(result.tokens) and len(result.words) and len(result.summary) == 2 * len(result.texts)
    return ids


def test_cli_killed_at_each_write_leaves_complete_or_absent_outputs(tiny_a, tiny_b, tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "out" / "scores.parquet"
    words = out.with_suffix(".words.parquet")
    (tmp_path / "in.txt").write_text("The quick brown fox.\n1 + 2 = 3\n")
    args = ["score", "--model-a", tiny_a, "--model-b", tiny_b, "--input", tmp_path / "in.txt", "--split", "line",
            "--out", out]

    def killed_at(point: str) -> None:
        run = cli(cache, *args, DUET_FAULT=point)
        assert run.returncode == KILLED, run.stderr
        assert_complete_or_absent(cache, out.parent)

    killed_at("mid-write@/scores/")  # the first score cache entry torn
    assert not list((cache / "scores").rglob("*.parquet")) or all(
        p.name.startswith(atomic.TEMP_PREFIX) for p in (cache / "scores").rglob("*.parquet"))
    assert listed_runs_load(cache) == [] and not out.parent.exists()

    killed_at("mid-write@tokens.parquet")  # the run folder's tokens torn, inside its temporary folder
    assert listed_runs_load(cache) == [] and not out.parent.exists()

    killed_at("before-catalog")  # the run folder complete, its catalog row not yet added
    assert listed_runs_load(cache) == [] and not out.parent.exists()

    killed_at("between-renames")  # the run saved; --out's words renamed, its tokens not
    assert len(listed_runs_load(cache)) == 1
    assert pd.read_parquet(words)["text_id"].nunique() == 2 and not out.exists()

    run = cli(cache, *args)  # the rerun finishes the job
    assert run.returncode == 0, run.stderr
    assert len(listed_runs_load(cache)) == 2
    tokens = pd.read_parquet(out)
    assert tokens["text_id"].nunique() == pd.read_parquet(words)["text_id"].nunique() == 2
    assert_complete_or_absent(cache, out.parent)


def test_concurrent_cli_writes_of_one_out_leave_one_complete_result(tiny_a, tiny_b, tmp_path):
    out = tmp_path / "same.parquet"
    procs = []
    for n in (2, 3):  # two corpora, so a mixed pair would show
        (tmp_path / f"in{n}.txt").write_text("\n".join(f"Text number {i} of {n}." for i in range(n)))
        command = [sys.executable, "-m", "backend", "score", "--model-a", str(tiny_a), "--model-b", str(tiny_b),
                   "--input", str(tmp_path / f"in{n}.txt"), "--split", "line", "--out", str(out), "--no-save-run"]
        # a pause between the two renames widens the window in which the writers could interleave
        procs.append(subprocess.Popen(command, cwd=REPO, env=env(tmp_path / "cache", DUET_FAULT_DELAY="between-renames:2"),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    tokens, words = pd.read_parquet(out), pd.read_parquet(out.with_suffix(".words.parquet"))
    assert tokens["text_id"].nunique() == words["text_id"].nunique() in (2, 3)
    assert not [p for p in tmp_path.iterdir() if atomic.is_temp(p)]


def test_the_cli_sweeps_old_leftovers_at_start_and_keeps_fresh_ones(tmp_path):
    cache = tmp_path / "cache"
    old = atomic.temp_name(cache / "runs" / "20990101-000000-abcdef")
    (old / "x").mkdir(parents=True)
    fresh = atomic.temp_name(cache / "scores" / "abc" / "x.parquet")
    fresh.parent.mkdir(parents=True)
    fresh.write_bytes(b"half")
    os.utime(old / "x", (time.time() - 3600,) * 2)
    os.utime(old, (time.time() - 3600,) * 2)
    run = cli(cache, "import-run", tmp_path / "missing")  # fails at once, after the sweep
    assert run.returncode == 1
    assert not old.exists() and fresh.exists()


def test_a_ray_part_killed_mid_write_is_dropped_and_written_again(tmp_path):
    folder = tmp_path / "corpus"
    write = f"""
        import pandas as pd
        from backend.store.corpus_output import CorpusOutput, to_parquet_bytes
        out = CorpusOutput({str(folder)!r})
        out.prepare({{"model_a": "a", "model_b": "b"}})
        blobs = {{t: to_parquet_bytes(pd.DataFrame({{"x": [1, 2]}})) for t in ("tokens", "words", "summary")}}
        out.write_part("k1", {{"h1": [0]}}, blobs, {{"tokens": 2, "words": 2, "summary": 2}})
    """
    from backend.store.corpus_output import CorpusOutput

    for point in ("mid-write@/summary/", "before-rename@/done/"):
        run = python(tmp_path / "cache", write, DUET_FAULT=point)
        assert run.returncode == KILLED, run.stderr
        assert_complete_or_absent(folder)
        assert CorpusOutput(folder).done_parts() == {}  # no marker: the part's files are deleted
        assert not [p for t in ("tokens", "words", "summary", "done") for p in (folder / t).iterdir()]
    run = python(tmp_path / "cache", write)
    assert run.returncode == 0, run.stderr
    parts = CorpusOutput(folder).done_parts()
    assert list(parts) == ["k1"] and parts["k1"].rows == {"tokens": 2, "words": 2, "summary": 2}


@pytest.mark.parametrize("point, left", [("before-rename@/behaviorbox", "old"), ("mid-swap", None)])
def test_a_behaviorbox_save_killed_leaves_the_old_result_or_none(tmp_path, point, left):
    import shutil

    shutil.copytree(REPO / "tests" / "data" / "old_run" / "runs", tmp_path / "runs")
    run_folder = next(p for p in (tmp_path / "runs").iterdir() if p.is_dir())
    save = f"""
        from backend.behaviorbox.run import load_behaviorbox, save_behaviorbox
        bb = load_behaviorbox({str(REPO / "tests" / "data" / "old_run" / "runs" / run_folder.name)!r})  # the result to save again
        bb.model_descriptions = {{1: {{"text": "new", "model": "m"}}}}
        save_behaviorbox(bb, {str(run_folder)!r})
    """
    from backend.behaviorbox.run import load_behaviorbox

    run = python(tmp_path / "cache", save, DUET_FAULT=point)
    assert run.returncode == KILLED, run.stderr
    bb = load_behaviorbox(run_folder)
    if left == "old":
        assert bb.model_descriptions == {0: {"text": "digits", "model": "m"}}
    else:
        assert bb is None and not (run_folder / "behaviorbox").exists()
    assert_complete_or_absent(run_folder)
    assert python(tmp_path / "cache", save).returncode == 0
    assert load_behaviorbox(run_folder).model_descriptions == {1: {"text": "new", "model": "m"}}
