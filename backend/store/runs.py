"""The on-disk run store: a run is texts + two model specs + settings + result tables.

Layout under <cache>/runs/ (backend/store/catalog.py: a SQLite catalog, one folder per run):
  catalog.sqlite        one row per run
  <run_id>/texts.parquet, tokens.parquet, words.parquet, summary.parquet, meta.json
           same_vocab.parquet  when both models share a vocabulary (schema.SAME_VOCAB_COLUMNS)
texts.parquet: text, and source_row (the text's line or row in the input file) when the input said.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis.pair import PairResult
from backend.store.catalog import Catalog
from backend.store.paths import cache_dir

TABLES = ("tokens", "words", "summary")
SAME_VOCAB = "same_vocab"


class RunNotFound(KeyError):
    pass


class RunStore(Catalog):
    COLUMNS = ("id TEXT PRIMARY KEY, name TEXT, created TEXT, model_a TEXT, model_b TEXT, settings TEXT,"
               " n_texts INTEGER, n_tokens INTEGER, size_bytes INTEGER")
    NotFound = RunNotFound

    def __init__(self, root: Path | None = None):
        super().__init__(Path(root) if root is not None else cache_dir() / "runs")

    def save(self, result: PairResult, model_a: str, model_b: str, settings: dict, name: str = "",
             same_vocab: pd.DataFrame | None = None, source_rows: list[int] | None = None) -> str:
        texts = pd.DataFrame({"text": result.texts})
        if source_rows is not None:
            texts["source_row"] = pd.array(source_rows, dtype="int64")
        tables = {"texts": texts, **{t: getattr(result, t) for t in TABLES}}
        if same_vocab is not None:
            tables[SAME_VOCAB] = same_vocab
        meta = {"name": name, "model_a": model_a, "model_b": model_b, "settings": settings}
        return self._save(tables, meta, self._row(result, model_a, model_b, settings, name))

    @staticmethod
    def _row(result: PairResult, model_a: str, model_b: str, settings: dict, name: str) -> dict:
        return {
            "name": name or _default_name(result), "model_a": model_a, "model_b": model_b,
            "settings": json.dumps(settings), "n_texts": len(result.texts), "n_tokens": int(len(result.tokens)),
        }

    def load(self, run_id: str) -> tuple[PairResult, dict]:
        meta = self.read_meta(run_id)
        tables = self.read_tables(run_id, ("texts",) + TABLES)
        texts = tables.pop("texts")["text"].tolist()
        return PairResult(texts=texts, **tables), meta

    def load_same_vocab(self, run_id: str) -> pd.DataFrame | None:
        """The run's same-vocabulary table, or None when its models did not share a vocabulary."""
        if not (self.folder_of(run_id) / f"{SAME_VOCAB}.parquet").is_file():
            return None
        return self.read_tables(run_id, (SAME_VOCAB,))[SAME_VOCAB]

    def row_from_folder(self, folder: Path, meta: dict) -> dict | None:
        """A run saved before meta.json held its catalog row: the row again from meta.json and the tables' sizes."""
        import pyarrow.parquet as pq

        def rows(name: str) -> int:
            return pq.ParquetFile(folder / f"{name}.parquet").metadata.num_rows

        texts = pd.read_parquet(folder / "texts.parquet", columns=["text"])["text"].tolist()
        result = PairResult(texts=texts, tokens=pd.DataFrame(index=range(rows("tokens"))), words=None, summary=None)
        return self._row(result, meta["model_a"], meta["model_b"], meta.get("settings") or {}, meta.get("name") or "")


def _default_name(result: PairResult) -> str:
    first = result.texts[0] if result.texts else ""
    snippet = " ".join(first.split())[:40]
    return f"{len(result.texts)} text(s): {snippet}"
