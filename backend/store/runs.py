"""The on-disk run store: a run is texts + two model specs + settings + result tables.

Layout under <cache>/runs/ (backend/store/catalog.py: a SQLite catalog, one folder per run):
  catalog.sqlite        one row per run
  <run_id>/texts.parquet, tokens.parquet, words.parquet, summary.parquet, meta.json
  (tokens: top-k as Arrow fixed-size lists, backend/store/topk_columns.py; older runs' list columns read the same)
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from backend.scoring.pair import PairResult
from backend.store import topk_columns
from backend.store.catalog import Catalog
from backend.store.paths import cache_dir

TABLES = ("tokens", "words", "summary")


class RunNotFound(KeyError):
    pass


class RunStore(Catalog):
    COLUMNS = ("id TEXT PRIMARY KEY, name TEXT, created TEXT, model_a TEXT, model_b TEXT, settings TEXT,"
               " n_texts INTEGER, n_tokens INTEGER, size_bytes INTEGER")
    NotFound = RunNotFound

    def __init__(self, root: Path | None = None):
        super().__init__(Path(root) if root is not None else cache_dir() / "runs")

    def save(self, result: PairResult, model_a: str, model_b: str, settings: dict, name: str = "") -> str:
        tables = {"texts": pd.DataFrame({"text": result.texts}), **{t: getattr(result, t) for t in TABLES}}
        tables["tokens"] = topk_columns.columnar(result.tokens)  # top-k as Arrow fixed-size lists
        meta = {"name": name, "model_a": model_a, "model_b": model_b, "settings": settings}
        row = {
            "name": name or _default_name(result), "model_a": model_a, "model_b": model_b,
            "settings": json.dumps(settings), "n_texts": len(result.texts), "n_tokens": int(len(result.tokens)),
        }
        return self._save(tables, meta, row)

    def load(self, run_id: str) -> tuple[PairResult, dict]:
        meta = self.read_meta(run_id)
        tables = self.read_tables(run_id, ("texts",) + TABLES)
        texts = tables.pop("texts")["text"].tolist()
        tables["tokens"] = topk_columns.readable(tables["tokens"])  # either top-k format
        return PairResult(texts=texts, **tables), meta


def _default_name(result: PairResult) -> str:
    first = result.texts[0] if result.texts else ""
    snippet = " ".join(first.split())[:40]
    return f"{len(result.texts)} text(s): {snippet}"
