"""The on-disk run store: a run is texts + two model specs + settings + result tables.

Layout under <cache>/runs/:
  catalog.sqlite        one row per run (SQLite: in the standard library, and
                        its transactions make the catalog update atomic)
  <run_id>/texts.parquet, tokens.parquet, words.parquet, summary.parquet, meta.json
A run folder is written under a temporary name and renamed into place before
the catalog row is added, so a crash mid-write leaves no half-written run:
at worst an orphan temporary folder, which listing ignores.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import uuid
from pathlib import Path

import pandas as pd

from backend.store.paths import cache_dir
from backend.scoring.pair import PairResult

TABLES = ("tokens", "words", "summary")


class RunNotFound(KeyError):
    pass


class RunStore:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else cache_dir() / "runs"
        self.root.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, name TEXT, created TEXT,"
                " model_a TEXT, model_b TEXT, settings TEXT, n_texts INTEGER, n_tokens INTEGER, size_bytes INTEGER)"
            )

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.root / "catalog.sqlite", timeout=30)

    def save(self, result: PairResult, model_a: str, model_b: str, settings: dict, name: str = "") -> str:
        run_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        tmp = self.root / f".tmp-{run_id}"
        tmp.mkdir()
        try:
            pd.DataFrame({"text": result.texts}).to_parquet(tmp / "texts.parquet", index=False)
            for table in TABLES:
                getattr(result, table).to_parquet(tmp / f"{table}.parquet", index=False)
            meta = {"id": run_id, "name": name, "model_a": model_a, "model_b": model_b, "settings": settings}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
            size = sum(p.stat().st_size for p in tmp.iterdir())
            os.rename(tmp, self.root / run_id)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        with self._db() as db:
            db.execute(
                "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    run_id, name or _default_name(result), dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    model_a, model_b, json.dumps(settings), len(result.texts), int(len(result.tokens)), size,
                ),
            )
        return run_id

    def list(self) -> pd.DataFrame:
        with self._db() as db:
            frame = pd.read_sql_query("SELECT * FROM runs ORDER BY created DESC, id DESC", db)
        # A row whose folder is gone (deleted by hand) is not a run.
        return frame[[(self.root / i).is_dir() for i in frame["id"]]].reset_index(drop=True)

    def load(self, run_id: str) -> tuple[PairResult, dict]:
        folder = self.root / run_id
        if not run_id or "/" in run_id or not folder.is_dir():
            raise RunNotFound(run_id)
        meta = json.loads((folder / "meta.json").read_text())
        texts = pd.read_parquet(folder / "texts.parquet")["text"].tolist()
        tables = {t: pd.read_parquet(folder / f"{t}.parquet") for t in TABLES}
        return PairResult(texts=texts, **tables), meta

    def delete(self, run_id: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        folder = self.root / run_id
        if run_id and "/" not in run_id and folder.is_dir():
            # Rename first so a crash mid-delete leaves no half-deleted run that looks whole.
            trash = self.root / f".tmp-deleting-{run_id}"
            os.rename(folder, trash)
            shutil.rmtree(trash, ignore_errors=True)


def _default_name(result: PairResult) -> str:
    first = result.texts[0] if result.texts else ""
    snippet = " ".join(first.split())[:40]
    return f"{len(result.texts)} text(s): {snippet}"
