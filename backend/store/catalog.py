"""A folder of saved runs with a SQLite catalog: the listing, saving and deleting that the run
store (backend/store/runs.py) and the sample store (backend/store/samples.py) share.

Layout under root/:
  catalog.sqlite    one row per run (SQLite: in the standard library, and its transactions
                    make the catalog update atomic)
  <run_id>/         the run's tables as <name>.parquet, and meta.json
A run folder is written whole (backend.store.atomic.folder: a temporary folder renamed
into place) before its catalog row is added, so a crash leaves no half-written run: at
worst a folder without a row, or a temporary folder; listing shows neither.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from pathlib import Path

import pandas as pd

from backend.errors import StoreError, first_line
from backend.store import atomic

CATALOG = "catalog.sqlite"


class Catalog:
    """Subclasses name their catalog columns (after id and created) and their not-found error."""

    COLUMNS: str = ""  # SQL column definitions: id TEXT PRIMARY KEY, created TEXT, size_bytes INTEGER and the run's own
    INDEXES: tuple[str, ...] = ()
    NotFound: type[KeyError] = KeyError

    def __init__(self, root: Path):
        self.root = Path(root)
        self.notes: list[str] = []  # what was repaired on the way (a rebuilt catalog), one line each
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self._create()
        except sqlite3.DatabaseError as error:
            if not _is_corrupt(error):
                raise
            self._recover(error)

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.root / CATALOG, timeout=30)

    def _create(self) -> None:
        with self._db() as db:
            db.execute(f"CREATE TABLE IF NOT EXISTS runs ({self.COLUMNS})")
            for statement in self.INDEXES:
                db.execute(statement)
            db.execute("SELECT count(*) FROM runs").fetchone()  # a damaged file can still take the CREATE

    # --- an unreadable catalog: moved aside, rebuilt from the run folders -------------------
    def _recover(self, error: sqlite3.DatabaseError) -> None:
        path = self.root / CATALOG
        with atomic._folder_lock(self.root):  # one process repairs; the others find it repaired
            try:
                self._create()
                return
            except sqlite3.DatabaseError as again:
                if not _is_corrupt(again):
                    raise
            time = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
            aside = path.with_name(f"{CATALOG}.corrupt-{time}")
            n = 1
            while aside.exists():
                n += 1
                aside = path.with_name(f"{CATALOG}.corrupt-{time}-{n}")
            try:
                atomic.move_aside(path, aside)
                for suffix in ("-journal", "-wal", "-shm"):  # a damaged catalog's journal must not replay into the new one
                    side = path.with_name(CATALOG + suffix)
                    if side.exists():
                        atomic.move_aside(side, aside.with_name(aside.name + suffix))
                count = self._rebuild()
            except (OSError, sqlite3.Error) as failure:
                raise StoreError(f"the run catalog {path} is unreadable ({first_line(error)}) and could not be rebuilt: "
                                 f"{first_line(failure)}") from failure
        self.notes.append(f"The run catalog {path} was unreadable ({first_line(error)}): moved aside to {aside.name} "
                          f"and rebuilt from {count} run folder(s).")

    def _rebuild(self) -> int:
        """A fresh catalog with one row per run folder whose meta.json can say what its row was."""
        self._create()
        count = 0
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            try:
                meta = json.loads((folder / "meta.json").read_text())
                row = meta.get("catalog") or self.row_from_folder(folder, meta)
            except (OSError, ValueError, KeyError, TypeError):
                continue  # not a run folder, or a damaged one: not listed
            if not row:
                continue
            size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
            values = {"created": _created_from_id(folder.name), **row, "id": folder.name, "size_bytes": size}
            with self._db() as db:
                db.execute(f"INSERT OR REPLACE INTO runs ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                           tuple(values.values()))
            count += 1
        return count

    def row_from_folder(self, folder: Path, meta: dict) -> dict | None:
        """The catalog row of a run saved before meta.json held it (subclasses that can tell); None: not listed."""
        return None

    @staticmethod
    def new_id() -> str:
        return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]

    def _save(self, tables: dict[str, pd.DataFrame], meta: dict, row: dict) -> str:
        """Write tables and meta.json (with "id" first) into a new run folder, then add its catalog
        row: `row`, with the run's id, created time and size_bytes filled in."""
        run_id = self.new_id()
        created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with atomic.folder(self.root / run_id) as tmp:
            for name, table in tables.items():
                atomic.write_parquet(tmp / f"{name}.parquet", table)
            atomic.write_json(tmp / "meta.json", {"id": run_id, **meta, "catalog": {"created": created, **row}}, indent=2)
            size = sum(p.stat().st_size for p in tmp.iterdir())
        atomic._fault("before-catalog", self.root / run_id)
        values = {"id": run_id, "created": created, **row, "size_bytes": size}
        with self._db() as db:
            db.execute(
                f"INSERT INTO runs ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                tuple(values.values()),
            )
        return run_id

    def folder_of(self, run_id: str) -> Path:
        """The folder of a saved run; NotFound for an unknown id, or one that names no run folder."""
        folder = self.root / str(run_id)
        if not run_id or "/" in run_id or "\\" in run_id or run_id.startswith(".") or not folder.is_dir():
            raise self.NotFound(run_id)
        return folder

    def read_tables(self, run_id: str, names) -> dict[str, pd.DataFrame]:
        folder = self.folder_of(run_id)
        return {name: _read_file(folder / f"{name}.parquet", pd.read_parquet) for name in names}

    def read_meta(self, run_id: str) -> dict:
        return _read_file(self.folder_of(run_id) / "meta.json", lambda path: json.loads(path.read_text()))

    def list(self) -> pd.DataFrame:
        """Catalog rows, newest first; a row whose folder is gone (deleted by hand) is not a run."""
        try:
            frame = self._query()
        except sqlite3.DatabaseError as error:  # damaged since this store was opened
            if not _is_corrupt(error):
                raise
            self._recover(error)
            frame = self._query()
        present = frame["id"].map(lambda i: (self.root / i).is_dir()).astype(bool)  # a Series: empty stays a table
        return frame[present].reset_index(drop=True)

    def delete(self, run_id: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        try:
            folder = self.folder_of(run_id)
        except KeyError:
            return
        atomic.remove_tree(folder)  # renamed away first: no moment shows a half-deleted run

    def _query(self) -> pd.DataFrame:
        with self._db() as db:  # sqlite3 itself, not pandas.read_sql: its errors must keep their kind
            cursor = db.execute("SELECT * FROM runs ORDER BY created DESC, id DESC")
            return pd.DataFrame.from_records(cursor.fetchall(), columns=[c[0] for c in cursor.description])


def _is_corrupt(error: sqlite3.DatabaseError) -> bool:
    """A catalog file that is not a database or is damaged; not a locked or missing one."""
    name = getattr(error, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or any(
        s in str(error) for s in ("not a database", "malformed"))


def _created_from_id(run_id: str) -> str:
    """A run id starts with its UTC creation time (Catalog.new_id): the time of a run whose row is lost."""
    try:
        when = dt.datetime.strptime(run_id[:15], "%Y%m%d-%H%M%S").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return ""
    return when.isoformat(timespec="seconds")


def _read_file(path: Path, read):
    """read(path), or a StoreError that names the file: a run with a missing or damaged file is
    reported, never shown half or with a traceback."""
    try:
        return read(path)
    except FileNotFoundError:
        raise StoreError(f"{path} is missing; the run cannot be reloaded (delete it)") from None
    except Exception as error:  # noqa: BLE001 - pyarrow, json and OS errors for a damaged file
        raise StoreError(f"{path} is damaged ({first_line(error)[:200]}); the run cannot be reloaded (delete it)") from error
