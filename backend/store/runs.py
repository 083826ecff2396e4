"""The on-disk run store: a run is texts + two model specs + settings + result tables.

Layout under <cache>/runs/ (backend/store/catalog.py: a SQLite catalog, one folder per run):
  catalog.sqlite        one row per run
  <run_id>/texts.parquet, tokens.parquet, words.parquet, summary.parquet, meta.json
           and, when there are any: same_vocab.parquet (divergences of a shared vocabulary),
           text_meta.parquet (metadata columns of the texts: domain, source, ...), and the
           corpus-ranking aggregates ranking_texts.parquet, ranking_spans.parquet
           (analysis/corpus_ranking.py), built once when the run is saved so pages only sort them
           (a run saved before they existed gets them built in memory when read; reading writes nothing).
texts.parquet: text, and source_row (the text's line or row in the input file) when the input said.
tokens: top-k as Arrow fixed-size lists (backend/store/topk_columns.py); older runs' list columns read the same.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis import corpus_ranking
from analysis.pair import PairResult
from backend.store import atomic, topk_columns
from backend.store.catalog import LOCAL, Catalog
from backend.store.paths import cache_dir

TABLES = ("tokens", "words", "summary")
OPTIONAL = ("same_vocab", "text_meta")
RANKING = {"texts": "ranking_texts", "spans": "ranking_spans"}


class RunNotFound(KeyError):
    pass


class RunStore(Catalog):
    COLUMNS = ("id TEXT PRIMARY KEY, name TEXT, created TEXT, model_a TEXT, model_b TEXT, settings TEXT,"
               " n_texts INTEGER, n_tokens INTEGER, size_bytes INTEGER")
    NotFound = RunNotFound

    def __init__(self, root: Path | None = None, user: str = LOCAL, share: bool = False):
        """user: who acts (owns what is saved; "local" without login); share: the operator's share_runs."""
        super().__init__(Path(root) if root is not None else cache_dir() / "runs", user, share)

    def save(self, result: PairResult, model_a: str, model_b: str, settings: dict, name: str = "",
             same_vocab: pd.DataFrame | None = None, text_meta: pd.DataFrame | None = None,
             source_rows: list[int] | None = None) -> str:
        """text_meta: one row per text (in text order) of metadata columns, e.g. domain."""
        texts = pd.DataFrame({"text": result.texts})
        if source_rows is not None:
            texts["source_row"] = pd.array(source_rows, dtype="int64")
        tables = {"texts": texts, **{t: getattr(result, t) for t in TABLES}}
        extra = {"same_vocab": same_vocab, "text_meta": text_meta}
        tables.update({k: v.reset_index(drop=True) for k, v in extra.items() if v is not None and len(v.columns)})
        built = corpus_ranking.build(result.texts, result.words, result.tokens, tables.get("same_vocab"))
        tables.update({RANKING[k]: v for k, v in built.items()})
        tables["tokens"] = topk_columns.columnar(result.tokens)  # top-k as Arrow fixed-size lists
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
        tables["tokens"] = topk_columns.readable(tables["tokens"])  # either top-k format
        return PairResult(texts=texts, **tables), meta

    def optional(self, run_id: str) -> dict[str, pd.DataFrame]:
        """The OPTIONAL tables this run has (older runs and most runs have none)."""
        folder = self.folder_of(run_id)
        return {name: pd.read_parquet(folder / f"{name}.parquet") for name in OPTIONAL
                if (folder / f"{name}.parquet").is_file()}

    def ranking(self, run_id: str) -> dict[str, pd.DataFrame]:
        """{"texts", "spans"}: the run's corpus-ranking aggregates, as saved with it. A run saved before
        they existed gets them built in memory, not written: reading a run never changes its folder
        (its files are what was saved; the catalog's size and any copy of the folder stay true)."""
        folder = self.folder_of(run_id)
        paths = {k: folder / f"{v}.parquet" for k, v in RANKING.items()}
        if all(p.is_file() for p in paths.values()):
            return {k: pd.read_parquet(p) for k, p in paths.items()}
        pair, _ = self.load(run_id)
        return corpus_ranking.build(pair.texts, pair.words, pair.tokens, self.optional(run_id).get("same_vocab"))

    def load_same_vocab(self, run_id: str) -> pd.DataFrame | None:
        """The run's same-vocabulary table, or None when its models did not share a vocabulary."""
        if not (self.folder_of(run_id) / "same_vocab.parquet").is_file():
            return None
        return self.read_tables(run_id, ("same_vocab",))["same_vocab"]

    def row_from_folder(self, folder: Path, meta: dict) -> dict | None:
        """A run saved before meta.json held its catalog row: the row again from meta.json and the tables' sizes."""
        import pyarrow.parquet as pq

        def rows(name: str) -> int:
            return pq.ParquetFile(folder / f"{name}.parquet").metadata.num_rows

        texts = pd.read_parquet(folder / "texts.parquet", columns=["text"])["text"].tolist()
        result = PairResult(texts=texts, tokens=pd.DataFrame(index=range(rows("tokens"))), words=None, summary=None)
        return self._row(result, meta["model_a"], meta["model_b"], meta.get("settings") or {}, meta.get("name") or "")


_purged: dict[Path, float] = {}  # store root -> when this process last purged its trash
PURGE_EVERY_S = 3600


def purge_trash(days: float, root: Path | None = None, now: float | None = None) -> list[str]:
    """Delete for good the runs trashed over `days` days ago, at most once an hour per process (the app
    calls it on every run: a long-running server purges too). Returns the purged ids; never raises."""
    import time

    store_root = Path(root) if root is not None else cache_dir() / "runs"
    now = time.time() if now is None else now
    if now - _purged.get(store_root, float("-inf")) < PURGE_EVERY_S:
        return []
    _purged[store_root] = now
    try:
        return RunStore(store_root).purge_trash(days, now)
    except Exception:  # noqa: BLE001 - housekeeping: a failure must not stop the app; next hour tries again
        return []


def _default_name(result: PairResult) -> str:
    first = result.texts[0] if result.texts else ""
    snippet = " ".join(first.split())[:40]
    return f"{len(result.texts)} text(s): {snippet}"
