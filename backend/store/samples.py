"""The on-disk store of sample runs: one model's samples for a list of prompts.

Layout under <cache>/sample_runs/:
  catalog.sqlite   one row per run, with its cache key
  <run_id>/prompts.parquet, samples.parquet, tokens.parquet, meta.json
The key is (model spec, prompts, sampling settings): the same request is
answered from disk, in any process, without touching the model. As in the
scoring run store (backend/store/runs.py), a run folder is written under a
temporary name and renamed into place before its catalog row is added, so a
crash leaves no half-written run, only an orphan temporary folder that
lookups ignore.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Callable

import pandas as pd

from backend.store.paths import cache_dir
from backend.models.loading import LoadedModel
from backend.models.specs import ModelSpec
from backend.sampling.sampler import Progress, SampleResult, SampleSettings, sample_prompts

TABLES = ("prompts", "samples", "tokens")


class SampleRunNotFound(KeyError):
    pass


def run_key(spec_key: str, prompts: list[str], settings: SampleSettings) -> str:
    payload = json.dumps({"spec": spec_key, "settings": settings.key(), "prompts": list(prompts)}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


class SampleStore:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else cache_dir() / "sample_runs"
        self.root.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, key TEXT, created TEXT, model TEXT,"
                " settings TEXT, n_prompts INTEGER, n_samples INTEGER, size_bytes INTEGER)"
            )
            db.execute("CREATE INDEX IF NOT EXISTS runs_key ON runs (key)")

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.root / "catalog.sqlite", timeout=30)

    def save(self, result: SampleResult, spec_key: str, prompts: list[str], settings: SampleSettings) -> str:
        run_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        key = run_key(spec_key, prompts, settings)
        tmp = self.root / f".tmp-{run_id}"
        tmp.mkdir()
        try:
            for table in TABLES:
                getattr(result, table).to_parquet(tmp / f"{table}.parquet", index=False)
            meta = {"id": run_id, "key": key, "model": spec_key, "settings": json.loads(settings.key())}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
            size = sum(p.stat().st_size for p in tmp.iterdir())
            os.rename(tmp, self.root / run_id)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        with self._db() as db:
            db.execute(
                "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?)",
                (
                    run_id, key, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), spec_key,
                    settings.key(), len(prompts), int(len(result.samples)), size,
                ),
            )
        return run_id

    def find(self, spec_key: str, prompts: list[str], settings: SampleSettings) -> str | None:
        """The newest complete run for this request, or None."""
        with self._db() as db:
            ids = [r[0] for r in db.execute(
                "SELECT id FROM runs WHERE key = ? ORDER BY created DESC, id DESC", (run_key(spec_key, prompts, settings),)
            )]
        return next((i for i in ids if (self.root / i).is_dir()), None)

    def load(self, run_id: str) -> SampleResult:
        folder = self.root / run_id
        if not run_id or "/" in run_id or run_id.startswith(".") or not folder.is_dir():
            raise SampleRunNotFound(run_id)
        return SampleResult(**{t: pd.read_parquet(folder / f"{t}.parquet") for t in TABLES})

    def list(self) -> pd.DataFrame:
        with self._db() as db:
            frame = pd.read_sql_query("SELECT * FROM runs ORDER BY created DESC, id DESC", db)
        return frame[[(self.root / i).is_dir() for i in frame["id"]]].reset_index(drop=True)

    def delete(self, run_id: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        folder = self.root / run_id
        if run_id and "/" not in run_id and not run_id.startswith(".") and folder.is_dir():
            trash = self.root / f".tmp-deleting-{run_id}"
            os.rename(folder, trash)
            shutil.rmtree(trash, ignore_errors=True)


def resolved_key(spec: ModelSpec) -> str:
    """The spec string with device and dtype made concrete: samples depend on them."""
    import torch

    return str(spec.resolved(torch.cuda.is_available()))


def cached_sample_prompts(
    spec: ModelSpec,
    load: Callable[[], LoadedModel],
    prompts: list[str],
    settings: SampleSettings,
    model: str,
    progress: Progress | None = None,
    store: SampleStore | None = None,
) -> tuple[SampleResult, bool]:
    """(samples, whether they came from the store). Samples and saves them when missing.

    load: returns the LoadedModel for spec; called only on a miss, so a
    stored run needs no model load. model: the value of the `model` column.
    """
    store = store or SampleStore()
    spec_key = resolved_key(spec)
    run_id = store.find(spec_key, prompts, settings)
    if run_id is not None:
        try:
            result = store.load(run_id)
        except Exception:  # a damaged run is sampled again, not fatal
            result = None
        if result is not None:
            if progress is not None:
                progress(len(prompts), len(prompts))
            return result.with_model(model), True
    loaded = load()
    result = sample_prompts(loaded, prompts, settings, model=spec_key, progress=progress)
    store.save(result, str(loaded.spec), prompts, settings)
    return result.with_model(model), False
