"""On-disk cache of per-text token tables, keyed by (model spec, scoring settings, text hash).

A rerun, a browser refresh or a server restart finds them without touching a model: lookup()
needs only the spec string, so a call whose texts are all cached loads no model
(backend/scoring/pair.py). Each call's new texts go into one parquet file (a batch), written
whole or not at all (backend.store.atomic), with the top-k columns as Arrow fixed-size lists
(backend/store/topk_columns.py); an SQLite index in the scope folder maps each text hash to its
batch. The index row is added only after its batch is complete, so a crash leaves at worst an
unindexed batch, never an index row without its data. Writes are one file per call whatever
its size, and a read opens each batch it needs once.

Layout: scores/<scope>/index.sqlite, scores/<scope>/batch-<id>.parquet (column text_hash added);
older caches kept one <text hash>.parquet per text, still read when the index lacks a hash.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from backend.store import atomic, topk_columns
from backend.store.paths import cache_dir
from backend.models.loading import LoadedModel
from backend.scoring.score import SCORER_VERSION, Progress, ScoreSettings, score_texts

HASH_COLUMN = "text_hash"
_QUERY_CHUNK = 500  # hashes per SQL query, under SQLite's limit on bound parameters


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def scope_dir(spec_key: str, settings: ScoreSettings, root: Path | None = None) -> Path:
    scope = hashlib.sha256(f"v{SCORER_VERSION}|{spec_key}|{settings.key()}".encode()).hexdigest()[:20]
    return (root or cache_dir() / "scores") / scope


def entry_path(spec_key: str, settings: ScoreSettings, text: str, root: Path | None = None) -> Path:
    """Where the older one-file-per-text layout kept a text's table (still read)."""
    return scope_dir(spec_key, settings, root) / f"{text_hash(text)}.parquet"


def lookup(spec_key: str, settings: ScoreSettings, texts: list[str]) -> tuple[dict[int, pd.DataFrame], list[int]]:
    """The cached tables of texts (by index in texts) and the indices of those not cached. No model needed."""
    folder = scope_dir(spec_key, settings)
    hashes = [text_hash(t) for t in texts]
    found = _read_hashes(folder, set(hashes))
    tables = {i: found[h] for i, h in enumerate(hashes) if h in found}
    return tables, [i for i in range(len(texts)) if i not in tables]


def store(spec_key: str, settings: ScoreSettings, texts: list[str], fresh: pd.DataFrame) -> None:
    """Add score_texts(texts)'s table (text_id = index in texts) to the cache: one batch file, then its index rows."""
    if not texts:
        return
    folder = scope_dir(spec_key, settings)
    hashes = np.array([text_hash(t) for t in texts], dtype=object)
    ordered = fresh.iloc[np.argsort(fresh["text_id"].to_numpy(), kind="stable")]
    batch = f"batch-{uuid.uuid4().hex}.parquet"
    atomic.write_parquet(folder / batch, topk_columns.columnar(ordered.assign(**{HASH_COLUMN: hashes[ordered["text_id"].to_numpy()]})))
    with _index(folder) as db:
        db.executemany("INSERT OR REPLACE INTO entries (text_hash, file) VALUES (?, ?)", [(h, batch) for h in hashes])


def cached_score_texts(
    loaded: LoadedModel,
    texts: list[str],
    settings: ScoreSettings = ScoreSettings(),
    progress: Progress | None = None,
    known: tuple[dict[int, pd.DataFrame], list[int]] | None = None,
) -> pd.DataFrame:
    """score_texts, computing only the texts not already in the cache (known: a lookup already made)."""
    spec_key = str(loaded.spec)
    tables, missing = known if known is not None else lookup(spec_key, settings, texts)
    unique_missing = list(dict.fromkeys(texts[i] for i in missing))  # a repeated text is scored once
    if unique_missing:
        fresh = score_texts(loaded, unique_missing, settings, progress)
        store(spec_key, settings, unique_missing, fresh)
        where = {text: j for j, text in enumerate(unique_missing)}
        parts = _split_by(fresh, "text_id", len(unique_missing))
        for i in missing:
            tables[i] = parts[where[texts[i]]]
    elif progress is not None:
        progress(1, 1)
    return assemble(tables, len(texts), lambda: score_texts(loaded, [], settings))


def assemble(tables: dict[int, pd.DataFrame], n_texts: int, empty=None) -> pd.DataFrame:
    """Every text's table in text order, text_id = its index."""
    if n_texts == 0:
        return empty() if empty is not None else pd.DataFrame()
    frames = [tables[i] for i in range(n_texts)]
    lengths = [len(f) for f in frames]
    return pd.concat(frames, ignore_index=True).assign(text_id=np.repeat(np.arange(n_texts, dtype=np.int64), lengths))


def _split_by(frame: pd.DataFrame, column: str, n: int) -> list[pd.DataFrame]:
    """frame's rows per value 0..n-1 of column (a row order kept), in one pass."""
    values = frame[column].to_numpy()
    order = np.argsort(values, kind="stable")
    bounds = np.searchsorted(values[order], np.arange(n + 1))
    return [frame.iloc[order[bounds[j]:bounds[j + 1]]].reset_index(drop=True) for j in range(n)]


def _index(folder: Path) -> sqlite3.Connection:
    folder.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(folder / "index.sqlite", timeout=30)
    db.execute("CREATE TABLE IF NOT EXISTS entries (text_hash TEXT PRIMARY KEY, file TEXT NOT NULL)")
    return db


def _read_hashes(folder: Path, wanted: set[str]) -> dict[str, pd.DataFrame]:
    """Tables of the wanted hashes that the cache holds: each batch read once, then the old per-text files."""
    if not wanted or not folder.is_dir():
        return {}
    where: dict[str, str] = {}
    if (folder / "index.sqlite").is_file():
        try:
            with _index(folder) as db:
                wanted_list = sorted(wanted)
                for k in range(0, len(wanted_list), _QUERY_CHUNK):
                    chunk = wanted_list[k:k + _QUERY_CHUNK]
                    query = f"SELECT text_hash, file FROM entries WHERE text_hash IN ({','.join('?' * len(chunk))})"
                    where.update(db.execute(query, chunk).fetchall())
        except sqlite3.Error:  # a damaged index: the texts are scored again and indexed anew
            where = {}
    found: dict[str, pd.DataFrame] = {}
    by_file: dict[str, list[str]] = {}
    for h, file in where.items():
        by_file.setdefault(file, []).append(h)
    for file, file_hashes in by_file.items():
        table = _read(folder / file)
        if table is None or HASH_COLUMN not in table:
            continue
        keep = table[table[HASH_COLUMN].isin(file_hashes)]
        codes, uniques = pd.factorize(keep[HASH_COLUMN])
        parts = _split_by(keep.drop(columns=[HASH_COLUMN]).assign(_code=codes), "_code", len(uniques))
        found.update((h, part.drop(columns=["_code"])) for h, part in zip(uniques, parts))
    for h in wanted - found.keys():  # the one-file-per-text layout of older caches
        table = _read(folder / f"{h}.parquet")
        if table is not None:
            found[h] = table
    return found


def _read(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return topk_columns.read(path)
    except Exception:  # a damaged entry is recomputed, not fatal
        return None
