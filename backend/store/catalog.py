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

from backend.store import atomic


class Catalog:
    """Subclasses name their catalog columns (after id and created) and their not-found error."""

    COLUMNS: str = ""  # SQL column definitions: id TEXT PRIMARY KEY, created TEXT, size_bytes INTEGER and the run's own
    INDEXES: tuple[str, ...] = ()
    NotFound: type[KeyError] = KeyError

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute(f"CREATE TABLE IF NOT EXISTS runs ({self.COLUMNS})")
            for statement in self.INDEXES:
                db.execute(statement)

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.root / "catalog.sqlite", timeout=30)

    @staticmethod
    def new_id() -> str:
        return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]

    def _save(self, tables: dict[str, pd.DataFrame], meta: dict, row: dict) -> str:
        """Write tables and meta.json (with "id" first) into a new run folder, then add its catalog
        row: `row`, with the run's id, created time and size_bytes filled in."""
        run_id = self.new_id()
        with atomic.folder(self.root / run_id) as tmp:
            for name, table in tables.items():
                atomic.write_parquet(tmp / f"{name}.parquet", table)
            atomic.write_json(tmp / "meta.json", {"id": run_id, **meta}, indent=2)
            size = sum(p.stat().st_size for p in tmp.iterdir())
        atomic._fault("before-catalog", self.root / run_id)
        created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
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
        return {name: pd.read_parquet(folder / f"{name}.parquet") for name in names}

    def read_meta(self, run_id: str) -> dict:
        return json.loads((self.folder_of(run_id) / "meta.json").read_text())

    def list(self) -> pd.DataFrame:
        """Catalog rows, newest first; a row whose folder is gone (deleted by hand) is not a run."""
        with self._db() as db:
            frame = pd.read_sql_query("SELECT * FROM runs ORDER BY created DESC, id DESC", db)
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
