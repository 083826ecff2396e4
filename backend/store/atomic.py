"""The one way Duet writes a file or a folder: complete under its final name, or absent.

Every write goes to a temporary name in the same folder (same filesystem, so the
rename is atomic), is flushed and fsynced, renamed into place with os.replace,
and the folder is fsynced so the rename itself survives a power cut. A crash at
any point leaves the old file (or nothing) under the final name, plus at worst a
temporary named TEMP_PREFIX..., which `sweep_leftovers` removes once it is old
enough that no live writer can still own it.

Fault injection for the kill tests: DUET_FAULT=<point>[@<part of the final path>]
makes the writer kill itself (os._exit(137), as SIGKILL would) at that point;
the points are the `_fault(...)` calls below plus "before-catalog" in
backend/store/catalog.py. DUET_FAULT_DELAY=<point>:<seconds> sleeps there instead
(to widen a race window in a test). Neither is read unless set.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

TEMP_PREFIX = ".tmp-duet-"
SWEEP_AGE_S = 300  # a writer that has not touched its temporary for 5 minutes is gone


# --- names and fault points --------------------------------------------------------


def temp_name(path: str | Path, tag: str = "") -> Path:
    """A fresh temporary path beside `path`; the final name stays last, so its suffix is kept
    (np.save and some writers look at it)."""
    path = Path(path)
    return path.with_name(f"{TEMP_PREFIX}{tag}{os.getpid()}-{uuid.uuid4().hex[:8]}-{path.name}")


def is_temp(path: str | Path) -> bool:
    return Path(path).name.startswith(TEMP_PREFIX)


def _armed(point: str, path: str | Path | None = None) -> bool:
    spec = os.environ.get("DUET_FAULT")
    if not spec:
        return False
    want, _, where = spec.partition("@")
    return want == point and (not where or (path is not None and where in str(path)))


def _fault(point: str, path: str | Path | None = None) -> None:
    """Test-only: die or pause at `point` when DUET_FAULT / DUET_FAULT_DELAY ask for it."""
    if _armed(point, path):
        os._exit(137)
    delay = os.environ.get("DUET_FAULT_DELAY")
    if delay:
        want, _, seconds = delay.partition(":")
        if want == point:
            time.sleep(float(seconds))


# --- durability -----------------------------------------------------------------------


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: str | Path) -> None:
    """Make renames and new entries in `folder` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            _fsync_file(Path(dirpath) / name)
        fsync_dir(dirpath)


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive flock on the folder itself while a group of renames runs, so two writers
    of the same group of files never interleave their renames. No lock file to leave behind;
    where flock is unavailable, the renames still happen, one file at a time atomic."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# --- files ----------------------------------------------------------------------------------


@contextlib.contextmanager
def temp_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` for any writer that takes a path (safetensors,
    np.save, ...); when the block ends without error it is fsynced and renamed to `path`.
    On error it is removed and `path` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    try:
        yield tmp
        _fsync_file(tmp)
        _fault("before-rename", path)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    fsync_dir(path.parent)
    _fault("after-rename", path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    with temp_file(path) as tmp, open(tmp, "wb") as handle:
        if _armed("mid-write", path):  # half the bytes on disk, then die
            handle.write(data[: len(data) // 2])
            handle.flush()
            os._exit(137)
        handle.write(data)
    return path


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    return write_bytes(path, text.encode(encoding))


def write_json(path: str | Path, value, indent: int | None = None, default: Callable | None = None) -> Path:
    import json

    return write_text(path, json.dumps(value, indent=indent, default=default))


def write_parquet(path: str | Path, table, index: bool = False) -> Path:
    """A pandas DataFrame as parquet (pyarrow), streamed to the temporary file."""
    path = Path(path)
    with temp_file(path) as tmp:
        table.to_parquet(tmp, index=index)
        if _armed("mid-write", path):  # a torn temporary: half its bytes on disk, then die
            os.truncate(tmp, tmp.stat().st_size // 2)
            os._exit(137)
    return path


def write_npy(path: str | Path, array) -> Path:
    import numpy as np

    path = Path(path)
    with temp_file(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array)
    return path


def copy_file(source: str | Path, path: str | Path) -> Path:
    path = Path(path)
    with temp_file(path) as tmp:
        shutil.copyfile(source, tmp)
    return path


def parquet_bytes(table, index: bool = False) -> bytes:
    """A DataFrame as parquet bytes (for a download, or to write later with write_bytes)."""
    import io

    buffer = io.BytesIO()
    table.to_parquet(buffer, index=index)
    return buffer.getvalue()


def write_parquets(tables: dict) -> list[Path]:
    """Several DataFrames that belong together ({path: table}): all written to temporary names
    first, then renamed in the dict's order under a lock on their folder(s), so a crash leaves
    each file complete or absent, and two concurrent writers leave one writer's complete set
    (the last to rename). Put the file readers look for first last."""
    items = [(Path(p), t) for p, t in tables.items()]
    temps: list[Path] = []
    try:
        for path, table in items:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = temp_name(path)
            temps.append(tmp)
            table.to_parquet(tmp, index=False)
            _fsync_file(tmp)
        folders = sorted({path.parent.resolve() for path, _ in items})
        with contextlib.ExitStack() as locks:
            for folder in folders:  # sorted: two writers take the locks in one order
                locks.enter_context(_folder_lock(folder))
            for i, ((path, _), tmp) in enumerate(zip(items, temps)):
                _fault("before-rename", path)
                if i:
                    _fault("between-renames", path)
                os.replace(tmp, path)
            for folder in folders:
                fsync_dir(folder)
    except BaseException:
        for tmp in temps:
            _remove(tmp)
        raise
    return [path for path, _ in items]


def probe_writable(path: str | Path) -> None:
    """Raise the OSError a write of `path` would meet (a folder that cannot be made, a read-only
    one): the missing folders are made, an empty temporary is made and removed in the last, and
    the folders made are removed again (a run stopped before it writes leaves nothing behind).
    `path` itself is not touched."""
    folder = Path(path).parent
    made: list[Path] = []
    missing = []
    existing = folder
    while not existing.exists() and existing != existing.parent:
        missing.append(existing)
        existing = existing.parent
    try:
        for step in reversed(missing):
            step.mkdir()
            made.append(step)
        probe = temp_name(path, "probe-")
        with open(probe, "wb"):
            pass
        probe.unlink()
    finally:
        for step in reversed(made):
            with contextlib.suppress(OSError):
                step.rmdir()


def move_aside(path: str | Path, target: str | Path) -> Path:
    """Rename `path` to `target` (same folder: atomic) and make the rename durable."""
    target = Path(target)
    os.replace(path, target)
    fsync_dir(target.parent)
    return target


# --- folders -----------------------------------------------------------------------------


@contextlib.contextmanager
def folder(path: str | Path, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary folder beside `path`; fill it (with this module's writers, or any
    writer inside the block), and when the block ends without error it becomes `path`.

    replace: an existing `path` is swapped out (moved to a temporary name, then deleted): a
    crash mid-swap leaves `path` absent, never half old and half new. replace=False: when
    `path` appeared meanwhile (a concurrent writer finished first), ours is dropped."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    tmp.mkdir()
    try:
        yield tmp
        _fsync_tree(tmp)
        _fault("before-rename", path)
        old = None
        with _folder_lock(path.parent):  # two writers of one folder swap one after the other
            if path.exists():
                if not replace:
                    _remove(tmp)
                    return
                old = temp_name(path, "old-")
                os.replace(path, old)
                _fault("mid-swap", path)
            os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    fsync_dir(path.parent)
    if old is not None:
        _remove(old)
    _fault("after-rename", path)


def remove_tree(path: str | Path) -> None:
    """Delete a folder so that no moment shows it half deleted: renamed to a temporary name
    first (a crash leaves a leftover for the sweep), then removed."""
    path = Path(path)
    if not path.exists():
        return
    trash = temp_name(path, "deleting-")
    os.replace(path, trash)
    fsync_dir(path.parent)
    _remove(trash)


# --- leftovers -------------------------------------------------------------------------


def _age_s(path: Path, now: float) -> float:
    """Seconds since `path` (or, for a folder, anything in it) was last written."""
    try:
        newest = path.lstat().st_mtime
        if path.is_dir() and not path.is_symlink():
            for dirpath, dirnames, filenames in os.walk(path):
                for name in dirnames + filenames:
                    with contextlib.suppress(OSError):
                        newest = max(newest, os.lstat(os.path.join(dirpath, name)).st_mtime)
    except OSError:
        return 0.0
    return now - newest


def sweep_leftovers(folder: str | Path, older_than_s: float = SWEEP_AGE_S, recursive: bool = True) -> list[Path]:
    """Remove the temporaries of crashed writers under `folder` (TEMP_PREFIX names not written
    for older_than_s seconds); a live writer's fresh temporary is kept. Returns what it removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    now = time.time()
    removed = []
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in list(dirnames) + filenames:
            if not name.startswith(TEMP_PREFIX):
                continue
            path = Path(dirpath) / name
            if _age_s(path, now) >= older_than_s:
                _remove(path)
                removed.append(path)
        # never descend into temporaries (kept or removed) nor, unless asked, below the top
        dirnames[:] = [d for d in dirnames if recursive and not d.startswith(TEMP_PREFIX)]
    return removed
