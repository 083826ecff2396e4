"""The on-disk store of sample runs: one model's samples for a list of prompts.

Layout under <cache>/sample_runs/ (backend/store/catalog.py: a SQLite catalog, one folder per run):
  catalog.sqlite   one row per run, with its cache key
  <run_id>/prompts.parquet, samples.parquet, tokens.parquet, meta.json
The key is (model spec, prompts, sampling settings): the same request is
answered from disk, in any process, without touching the model.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

from analysis.sample_tables import SampleResult
from backend.store.catalog import LOCAL, Catalog
from backend.store.paths import cache_dir
from backend.models.loading import LoadedModel
from backend.models.specs import ModelSpec
from backend.sampling.sampler import Progress, SampleSettings, sample_prompts

TABLES = ("prompts", "samples", "tokens")


class SampleRunNotFound(KeyError):
    pass


def run_key(spec_key: str, prompts: list[str], settings: SampleSettings) -> str:
    payload = json.dumps({"spec": spec_key, "settings": settings.key(), "prompts": list(prompts)}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


class SampleStore(Catalog):
    COLUMNS = ("id TEXT PRIMARY KEY, key TEXT, created TEXT, model TEXT, settings TEXT,"
               " n_prompts INTEGER, n_samples INTEGER, size_bytes INTEGER")
    INDEXES = ("CREATE INDEX IF NOT EXISTS runs_key ON runs (key)",)
    NotFound = SampleRunNotFound

    def __init__(self, root: Path | None = None, user: str = LOCAL, share: bool = False):
        super().__init__(Path(root) if root is not None else cache_dir() / "sample_runs", user, share)

    def save(self, result: SampleResult, spec_key: str, prompts: list[str], settings: SampleSettings) -> str:
        key = run_key(spec_key, prompts, settings)
        meta = {"key": key, "model": spec_key, "settings": json.loads(settings.key())}
        row = {"key": key, "model": spec_key, "settings": settings.key(), "n_prompts": len(prompts),
               "n_samples": int(len(result.samples))}
        return self._save({t: getattr(result, t) for t in TABLES}, meta, row)

    def find(self, spec_key: str, prompts: list[str], settings: SampleSettings) -> str | None:
        """The newest complete run for this request, or None."""
        with self._db() as db:
            rows = db.execute("SELECT id, owner FROM runs WHERE key = ? ORDER BY created DESC, id DESC",
                              (run_key(spec_key, prompts, settings),)).fetchall()
        # A user's samples answer only that user (or everyone, when the operator shares runs).
        return next((i for i, owner in rows if (self.share or (owner or LOCAL) == self.user)
                     and (self.root / i).is_dir()), None)

    def load(self, run_id: str) -> SampleResult:
        return SampleResult(**self.read_tables(run_id, TABLES))


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
