"""backend/store/atomic.py: every write complete or absent, leftovers swept, groups never mixed;
and no module of Duet writes a final path any other way."""

from __future__ import annotations

import ast
import os
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backend.store import atomic
from tests_paths import REPO


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith(atomic.TEMP_PREFIX))


def test_writers_round_trip_and_leave_no_temporary(tmp_path):
    table = pd.DataFrame({"a": [1, 2], "b": [[1, 2], [3]]})
    atomic.write_bytes(tmp_path / "x.bin", b"\x00\x01")
    atomic.write_text(tmp_path / "sub" / "x.txt", "naïve")  # the folder is made
    atomic.write_json(tmp_path / "x.json", {"k": [1, 2]}, indent=2)
    atomic.write_parquet(tmp_path / "x.parquet", table)
    atomic.write_npy(tmp_path / "x.npy", np.arange(3, dtype=np.float16))
    atomic.copy_file(tmp_path / "x.bin", tmp_path / "y.bin")
    assert (tmp_path / "x.bin").read_bytes() == (tmp_path / "y.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "sub" / "x.txt").read_text(encoding="utf-8") == "naïve"
    assert (tmp_path / "x.json").read_text() == '{\n  "k": [\n    1,\n    2\n  ]\n}'
    back = pd.read_parquet(tmp_path / "x.parquet")
    assert back["a"].tolist() == [1, 2] and [list(v) for v in back["b"]] == [[1, 2], [3]]
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), np.arange(3, dtype=np.float16))
    assert pd.read_parquet(__import__("io").BytesIO(atomic.parquet_bytes(table)))["a"].tolist() == [1, 2]
    assert temps(tmp_path) == []


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "x.parquet"
    atomic.write_parquet(path, pd.DataFrame({"a": [1]}))

    class Boom(pd.DataFrame):
        def to_parquet(self, target, **kwargs):
            Path(target).write_bytes(b"half")
            raise OSError("disk full")

    with pytest.raises(OSError):
        atomic.write_parquet(path, Boom({"a": [2]}))
    assert pd.read_parquet(path)["a"].tolist() == [1] and temps(tmp_path) == []


def test_folder_is_written_whole_and_replaces_the_old_one(tmp_path):
    target = tmp_path / "run"
    with atomic.folder(target) as tmp:
        atomic.write_text(tmp / "a.txt", "1")
        assert not target.exists()  # nothing under the final name while it is written
    with pytest.raises(RuntimeError):
        with atomic.folder(target) as tmp:
            atomic.write_text(tmp / "a.txt", "2")
            raise RuntimeError
    assert (target / "a.txt").read_text() == "1"
    with atomic.folder(target) as tmp:
        atomic.write_text(tmp / "b.txt", "3")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    with atomic.folder(target, replace=False) as tmp:  # someone else's finished folder is kept
        atomic.write_text(tmp / "c.txt", "4")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    atomic.remove_tree(target)
    assert not target.exists() and temps(tmp_path) == []


def test_sweep_removes_old_leftovers_and_keeps_fresh_ones(tmp_path):
    old_file = atomic.temp_name(tmp_path / "scores" / "x.parquet")
    old_file.parent.mkdir()
    old_file.write_bytes(b"half")
    old_folder = atomic.temp_name(tmp_path / "runs" / "r1")
    (old_folder / "inner").mkdir(parents=True)
    (old_folder / "inner" / "t.parquet").write_bytes(b"x")
    fresh = atomic.temp_name(tmp_path / "runs" / "r2")
    fresh.mkdir()
    busy = atomic.temp_name(tmp_path / "runs" / "r3")  # an old folder whose writer still adds files
    busy.mkdir()
    (busy / "new.parquet").write_bytes(b"x")
    keep = tmp_path / "runs" / "r0"
    keep.mkdir()
    an_hour_ago = time.time() - 3600
    for path in (old_file, old_folder, old_folder / "inner", old_folder / "inner" / "t.parquet", busy, keep):
        os.utime(path, (an_hour_ago, an_hour_ago))
    removed = atomic.sweep_leftovers(tmp_path)
    assert sorted(removed) == sorted([old_file, old_folder])
    assert not old_file.exists() and not old_folder.exists()
    assert fresh.is_dir() and busy.is_dir() and keep.is_dir()
    assert atomic.sweep_leftovers(tmp_path / "missing") == []


def test_sweep_cache_runs_once_per_process(tmp_path, monkeypatch):
    from backend.store import paths

    monkeypatch.setenv("DUET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DUET_MODEL_CACHE", str(tmp_path / "models"))
    monkeypatch.setattr(paths, "_swept", set())
    for folder in ("cache", "models"):
        leftover = atomic.temp_name(tmp_path / folder / "x")
        leftover.parent.mkdir(parents=True, exist_ok=True)
        leftover.write_bytes(b"x")
        os.utime(leftover, (0, 0))
    paths.sweep_cache()
    assert temps(tmp_path) == []
    leftover = atomic.temp_name(tmp_path / "cache" / "y")
    leftover.write_bytes(b"x")
    os.utime(leftover, (0, 0))
    paths.sweep_cache()  # the second call in this process does not walk again
    assert temps(tmp_path) == [leftover.name]


def test_a_group_of_files_is_never_mixed_between_two_writers(tmp_path, monkeypatch):
    # The first writer pauses between its two renames and the second writes all of its pair
    # inside that pause: without the folder lock, words of the second would stay beside tokens
    # of the first.
    real_fault = atomic._fault

    def slow_first(point, path=None):
        if point == "between-renames" and threading.current_thread().name == "first":
            time.sleep(0.5)
        real_fault(point, path)

    monkeypatch.setattr(atomic, "_fault", slow_first)
    words, tokens = tmp_path / "out.words.parquet", tmp_path / "out.parquet"

    def writer(n: int, start: float) -> None:
        time.sleep(start)
        atomic.write_parquets({words: pd.DataFrame({"w": [n] * n}), tokens: pd.DataFrame({"t": [n] * n})})

    threads = [threading.Thread(target=writer, args=(1, 0.0), name="first"),
               threading.Thread(target=writer, args=(2, 0.2), name="second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    w, t = pd.read_parquet(words)["w"], pd.read_parquet(tokens)["t"]
    assert w.tolist() == t.tolist() == [2, 2]  # the second writer waited, then wrote its whole pair
    assert temps(tmp_path) == []


# --- every file Duet writes goes through backend/store/atomic.py ---------------------------------

WRITER_METHODS = {"to_parquet", "write_text", "write_bytes", "to_feather", "save_pretrained", "save_file",
                  "savez", "savez_compressed", "savetxt", "symlink_to", "hardlink_to"}
WRITER_FUNCTIONS = {("np", "save"), ("numpy", "save"), ("torch", "save"), ("json", "dump"), ("pickle", "dump"),
                    ("os", "rename"), ("os", "replace"), ("os", "open"), ("shutil", "copy"), ("shutil", "copy2"),
                    ("shutil", "copyfile"), ("shutil", "move"), ("shutil", "copytree")}
BARE_WRITERS = {"save_file", "copyfile", "copy2", "copytree"}
PATH_WRITERS = {"to_csv", "to_json"}  # write a file only when given a path (else they return a string)
# Scopes where atomic.temp_file / atomic.folder hand out a temporary path: writing there is the helper's way.
ATOMIC_BLOCKS = {"temp_file", "folder"}
# Explicit exceptions, each with its reason.
ALLOWED = {
    # Test-only fault injection: an O_EXCL marker that says "this worker already crashed once";
    # it must fail when the file exists, which a replace-into-place write cannot do.
    ("backend/corpus/ray_engine.py", "_crash_once_for_tests"),
}


def _writes(tree: ast.AST):
    """(function name, line, call text) of each direct write, outside atomic blocks."""

    def visit(node, function, in_block):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        if isinstance(node, (ast.With, ast.AsyncWith)):
            in_block = in_block or any(
                isinstance(item.context_expr, ast.Call) and isinstance(item.context_expr.func, ast.Attribute)
                and item.context_expr.func.attr in ATOMIC_BLOCKS
                and isinstance(item.context_expr.func.value, ast.Name) and item.context_expr.func.value.id == "atomic"
                for item in node.items
            )
        if isinstance(node, ast.Call) and not in_block:
            func = node.func
            hit = False
            if isinstance(func, ast.Attribute):
                owner = func.value.id if isinstance(func.value, ast.Name) else None
                if (owner, func.attr) in WRITER_FUNCTIONS:
                    hit = True
                elif func.attr in {"rename", "replace"}:  # Path.rename(target); not str.replace(a, b), df.rename(columns=)
                    hit = owner != "atomic" and len(node.args) == 1 and not node.keywords
                elif func.attr in WRITER_METHODS:
                    hit = owner != "atomic"  # atomic.write_text(...) is the helper itself
                elif func.attr in PATH_WRITERS and (node.args or any(k.arg == "path_or_buf" for k in node.keywords)):
                    hit = True
            elif isinstance(func, ast.Name) and func.id in BARE_WRITERS:  # from safetensors.torch import save_file
                hit = True
            elif isinstance(func, ast.Name) and func.id == "open":
                mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
                hit = mode is not None and not (isinstance(mode, ast.Constant) and set(str(mode.value)) <= set("rbt"))
            if hit:
                yield function, node.lineno, ast.unparse(node)[:80]
        for child in ast.iter_child_nodes(node):
            yield from visit(child, function, in_block)

    yield from visit(tree, None, False)


def test_no_module_writes_a_final_path_except_through_the_helper():
    offenders = []
    for folder in ("backend", "ui", "analysis", "pages"):
        for path in sorted((REPO / folder).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if rel == "backend/store/atomic.py":
                continue
            for function, line, text in _writes(ast.parse(path.read_text(), rel)):
                if (rel, function) not in ALLOWED:
                    offenders.append(f"{rel}:{line} {text}")
    app = REPO / "app.py"
    offenders += [f"app.py:{line} {text}" for _, line, text in _writes(ast.parse(app.read_text()))]
    assert offenders == [], "write through backend/store/atomic.py:\n" + "\n".join(offenders)


def test_the_write_detector_sees_the_usual_ways_to_write():
    code = """
def f(t, p, x):
    t.to_parquet(p, index=False)
    p.write_text("x")
    np.save(p, x)
    torch.save(x, p)
    json.dump(x, open(p, "w"))
    os.replace(p, p)
    save_file(x, p)
    t.to_csv(p)
    p.rename(q)
    with atomic.temp_file(p) as tmp:
        np.save(tmp, x)
    t.to_csv(index=False)
    "a".replace("a", "b")
    t.rename(columns={})
    atomic.write_text(p, "x")
    open(p).read()
    open(p, "rb").read()
"""
    found = [text for _, _, text in _writes(ast.parse(code))]
    assert [f.split("(")[0] for f in found] == [
        "t.to_parquet", "p.write_text", "np.save", "torch.save", "json.dump", "open", "os.replace", "save_file", "t.to_csv", "p.rename",
    ]


def test_probe_writable_leaves_nothing_behind(tmp_path):
    atomic.probe_writable(tmp_path / "new" / "deeper" / "out.parquet")
    assert list(tmp_path.iterdir()) == []  # the folders it made to try are gone again
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        atomic.probe_writable(tmp_path / "file" / "sub" / "out.parquet")
