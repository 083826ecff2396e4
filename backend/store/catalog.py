"""A folder of saved runs with a SQLite catalog: the listing, saving and deleting that the run
store (backend/store/runs.py) and the sample store (backend/store/samples.py) share.

Layout under root/:
  catalog.sqlite    one row per run (SQLite: in the standard library, and its transactions
                    make the catalog update atomic)
  <run_id>/         the run's tables as <name>.parquet, and meta.json
  .trash/<run_id>/  a run moved to the trash (one os.replace), kept until purged
A run folder is written whole (backend.store.atomic.folder: a temporary folder renamed
into place) before its catalog row is added, so a crash leaves no half-written run: at
worst a folder without a row, or a temporary folder; listing shows neither.

Owners: a store is opened for one acting user (`user`; "local" when the app has no login, and
for the command line). Each run records the user who saved it (`owner`, in its row and in
meta.json); a run saved before owners existed belongs to "local". The user sees their own runs,
and everyone's when `share` (the operator's share_runs) is on; only the owner may delete, trash,
restore or write into a run: anything else raises NotOwner, whatever the page shows.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import time
import uuid
from pathlib import Path

import pandas as pd

from backend.errors import DuetError, StoreError, first_line
from backend.store import atomic

CATALOG = "catalog.sqlite"
TRASH = ".trash"  # a dot folder: never listed, never rebuilt into the catalog
LOCAL = "local"  # the one user of an app without login, the command line's, and every run saved before owners


class NotOwner(DuetError):
    """The acting user asked to see or change a run that is not theirs."""


class Catalog:
    """Subclasses name their catalog columns (after id and created) and their not-found error."""

    COLUMNS: str = ""  # SQL column definitions: id TEXT PRIMARY KEY, created TEXT, size_bytes INTEGER and the run's own
    INDEXES: tuple[str, ...] = ()
    NotFound: type[KeyError] = KeyError

    def __init__(self, root: Path, user: str = LOCAL, share: bool = False):
        self.root = Path(root)
        self.user = str(user or LOCAL)  # who acts through this store: owns what it saves
        self.share = bool(share)  # the operator's share_runs: everyone's runs are readable
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
            columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
            if "owner" not in columns:  # a catalog from before owners: its runs are LOCAL's (owner NULL)
                try:
                    db.execute("ALTER TABLE runs ADD COLUMN owner TEXT")
                except sqlite3.OperationalError as error:  # another process added it first
                    if "duplicate column" not in str(error):
                        raise
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
            values = self._row_of(folder)
            if values is None:
                continue  # not a run folder, or a damaged one: not listed
            self._insert(values)
            count += 1
        return count

    def _row_of(self, folder: Path) -> dict | None:
        """The catalog row of a run folder, from its meta.json; None when it cannot say (not a run, damaged)."""
        try:
            meta = json.loads((folder / "meta.json").read_text())
            row = meta.get("catalog") or self.row_from_folder(folder, meta)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not row:
            return None
        size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        return {"created": _created_from_id(folder.name), **row, "id": folder.name, "size_bytes": size}

    def _insert(self, values: dict) -> None:
        with self._db() as db:
            db.execute(f"INSERT OR REPLACE INTO runs ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                       tuple(values.values()))

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
        row = {**row, "owner": self.user}  # in meta.json too: a rebuilt catalog keeps who owns the run
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
        """The folder of a saved run this user may read; NotFound for an unknown id, or one that names
        no run folder (a trashed run included); NotOwner for another user's run when runs are not shared."""
        folder = self._folder(run_id)
        if not self.share and self.owner_of(run_id) != self.user:
            raise NotOwner(f"run {run_id} belongs to another user; this server does not share runs")
        return folder

    def writable_folder(self, run_id: str) -> Path:
        """The folder of a run this user owns, to write into (a BehaviorBox result); NotOwner otherwise."""
        folder = self._folder(run_id)
        self._check_owner(run_id, self.owner_of(run_id), "changed")
        return folder

    def _folder(self, run_id: str) -> Path:
        folder = self.root / str(run_id)
        if not run_id or "/" in run_id or "\\" in run_id or run_id.startswith(".") or not folder.is_dir():
            raise self.NotFound(run_id)
        return folder

    def _check_owner(self, run_id: str, owner: str, what: str) -> None:
        if owner != self.user:
            # Who owns it is not said: another user's address is not this user's business.
            raise NotOwner(f"run {run_id} belongs to another user; only its owner can have it {what}")

    def owner_of(self, run_id: str) -> str:
        """Who saved the run: its catalog row, else its meta.json (a row lost with a catalog); LOCAL when neither says."""
        with self._db() as db:
            row = db.execute("SELECT owner FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is not None:
            return row[0] or LOCAL
        return _owner_in(self.root / str(run_id))

    def read_tables(self, run_id: str, names) -> dict[str, pd.DataFrame]:
        folder = self.folder_of(run_id)
        return {name: _read_file(folder / f"{name}.parquet", pd.read_parquet) for name in names}

    def read_meta(self, run_id: str) -> dict:
        return _read_file(self.folder_of(run_id) / "meta.json", lambda path: json.loads(path.read_text()))

    def list(self) -> pd.DataFrame:
        """Catalog rows this user may see, newest first, with their `owner`; a row whose folder is gone
        (deleted by hand, or in the trash) is not a run."""
        try:
            frame = self._query()
        except sqlite3.DatabaseError as error:  # damaged since this store was opened
            if not _is_corrupt(error):
                raise
            self._recover(error)
            frame = self._query()
        if "owner" in frame.columns:
            frame["owner"] = frame["owner"].fillna(LOCAL).astype(object)
        present = frame["id"].map(lambda i: (self.root / i).is_dir()).astype(bool)  # a Series: empty stays a table
        if not self.share and "owner" in frame.columns:
            present &= (frame["owner"] == self.user).astype(bool)
        return frame[present].reset_index(drop=True)

    def delete(self, run_id: str) -> None:
        """Delete a run for good (the pages move runs to the trash instead); NotOwner for another user's."""
        try:
            folder = self._folder(run_id)
        except KeyError:
            folder = None
        with self._db() as db:
            listed = db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is not None
        if folder is None and not listed:
            return  # nothing of that name: nothing to delete, nobody's to refuse
        self._check_owner(run_id, self.owner_of(run_id), "deleted")
        with self._db() as db:
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        if folder is not None:
            atomic.remove_tree(folder)  # renamed away first: no moment shows a half-deleted run

    # --- the trash: a run folder moved into root/.trash in one rename, back in one rename -----
    def trash(self, run_id: str) -> None:
        """Move a run this user owns into the trash: gone from the listing and from links until restored
        or purged. NotFound for an unknown run, NotOwner for another user's."""
        folder = self._folder(run_id)
        self._check_owner(run_id, self.owner_of(run_id), "moved to the trash")
        bin_ = self.root / TRASH
        bin_.mkdir(exist_ok=True)
        target = bin_ / run_id
        atomic.move_aside(folder, target)  # one os.replace: the run is either listed or in the trash
        atomic.fsync_dir(self.root)
        os.utime(target)  # when it was trashed: the purge counts from here
        with self._db() as db:
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    def trashed(self) -> pd.DataFrame:
        """This user's runs in the trash, most recently trashed first: id, name, created, trashed (ISO, UTC)."""
        rows = []
        for folder in self._trash_folders():
            if _owner_in(folder) != self.user:
                continue
            row = self._row_of(folder) or {"id": folder.name, "created": _created_from_id(folder.name)}
            when = dt.datetime.fromtimestamp(folder.stat().st_mtime, dt.timezone.utc)
            rows.append({"id": folder.name, "name": row.get("name") or row.get("model") or "",
                         "created": row.get("created") or "", "trashed": when.isoformat(timespec="seconds")})
        frame = pd.DataFrame(rows, columns=["id", "name", "created", "trashed"])
        return frame.sort_values(["trashed", "id"], ascending=False).reset_index(drop=True)

    def restore(self, run_id: str) -> None:
        """Put a run of this user's back from the trash, listed as before. NotFound when it is not in the trash."""
        folder = self.root / TRASH / str(run_id)
        if not run_id or "/" in run_id or "\\" in run_id or run_id.startswith(".") or not folder.is_dir():
            raise self.NotFound(run_id)
        self._check_owner(run_id, _owner_in(folder), "restored")
        if (self.root / run_id).exists():
            raise StoreError(f"cannot restore run {run_id}: {self.root / run_id} exists")
        values = self._row_of(folder)
        if values is not None:  # the row first: until the folder is back, a row without a folder is not listed
            self._insert(values)
        atomic.move_aside(folder, self.root / run_id)
        atomic.fsync_dir(folder.parent)

    def purge_trash(self, days: float, now: float | None = None) -> list[str]:
        """Delete for good every run (of any user) trashed over `days` days ago; returns their ids."""
        cutoff = (time.time() if now is None else now) - days * 86400
        purged = []
        for folder in self._trash_folders():
            try:
                if folder.stat().st_mtime < cutoff:
                    atomic.remove_tree(folder)
                    purged.append(folder.name)
                    with self._db() as db:  # a row left by a crash between trash's rename and its row delete
                        db.execute("DELETE FROM runs WHERE id = ?", (folder.name,))
            except OSError:
                continue  # restored or purged meanwhile by another process
        return purged

    def _trash_folders(self) -> list[Path]:
        bin_ = self.root / TRASH
        if not bin_.is_dir():
            return []
        return sorted(p for p in bin_.iterdir() if p.is_dir() and not atomic.is_temp(p))

    def _query(self) -> pd.DataFrame:
        with self._db() as db:  # sqlite3 itself, not pandas.read_sql: its errors must keep their kind
            cursor = db.execute("SELECT * FROM runs ORDER BY created DESC, id DESC")
            return pd.DataFrame.from_records(cursor.fetchall(), columns=[c[0] for c in cursor.description])


def _owner_in(folder: Path) -> str:
    """The owner recorded in a run folder's meta.json; LOCAL for a run saved before owners (or unreadable)."""
    try:
        return (json.loads((folder / "meta.json").read_text()).get("catalog") or {}).get("owner") or LOCAL
    except (OSError, ValueError, AttributeError):
        return LOCAL


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
