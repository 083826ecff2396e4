"""On-disk cache of per-text token tables, keyed by (model spec, scoring settings, text hash).

A rerun, a browser refresh or a server restart finds them without touching a model: lookup()
needs only the spec string, so a call whose texts are all cached loads no model
(backend/scoring/pair.py). Each call's new texts go into one parquet file (a batch), written
whole or not at all (backend.store.atomic), with the top-k columns as Arrow fixed-size lists
(backend/store/topk_columns.py); an SQLite index in the scope folder maps each text hash to its
batch. The index row is added only after its batch is complete, so a crash leaves at worst an
unindexed batch, never an index row without its data. Writes are one file per call whatever
its size, and a read opens each batch it needs once.

Each text's rows also check themselves: they carry the text's hash, the scope key (scorer version,
spec, settings) and a checksum of the text's values (entry_checksum). Rows that were edited,
swapped for another text's, or a batch that cannot be read are a miss: recomputed, and the log and
the caller's warnings name the file. A cache that cannot be written (a full disk) is a warning
too: the scores just computed are returned all the same.

Layout: scores/<scope>/index.sqlite, scores/<scope>/batch-<id>.parquet (columns text_hash,
entry_key, entry_checksum added); older caches kept one <text hash>.parquet per text with the
self-check in the parquet's pandas metadata (stamp, verify), still read when the index lacks a hash.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from backend.errors import user_message
from backend.store import atomic, topk_columns
from backend.store.paths import cache_dir
from backend.models.loading import LoadedModel
from backend.scoring.score import SCORER_VERSION, Progress, ScoreSettings, score_texts

log = logging.getLogger(__name__)

HASH_COLUMN = "text_hash"
KEY_COLUMN = "entry_key"
CHECK_COLUMN = "entry_checksum"
CHECK_COLUMNS = (HASH_COLUMN, KEY_COLUMN, CHECK_COLUMN)
STAMP = "duet_entry"  # an older per-text entry's self-check, in DataFrame.attrs (the parquet's pandas metadata)
_QUERY_CHUNK = 500  # hashes per SQL query, under SQLite's limit on bound parameters


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def entry_key(spec_key: str, settings: ScoreSettings) -> str:
    """What an entry was computed with: the scorer version, the resolved spec and the settings."""
    return f"v{SCORER_VERSION}|{spec_key}|{settings.key()}"


def scope_dir(spec_key: str, settings: ScoreSettings, root: Path | None = None) -> Path:
    scope = hashlib.sha256(entry_key(spec_key, settings).encode()).hexdigest()[:20]
    return (root or cache_dir() / "scores") / scope


def entry_path(spec_key: str, settings: ScoreSettings, text: str, root: Path | None = None) -> Path:
    """Where the older one-file-per-text layout kept a text's table (still read)."""
    return scope_dir(spec_key, settings, root) / f"{text_hash(text)}.parquet"


# --- the self-check of one text's table ------------------------------------------------


def entry_checksum(table: pd.DataFrame) -> str:
    """sha256 of one text's token values, column by column in a fixed order (text_id and the check
    columns left out: text_id is the text's place in a request, reassigned on every read). Lists
    (top-k) are hashed by their values and lengths, so a row read back as a numpy array, or an empty
    row read back as None, gives the same sum as the list that was written."""
    digest = hashlib.sha256()
    for name in sorted(c for c in table.columns if c != "text_id" and c not in CHECK_COLUMNS):
        values = table[name]
        digest.update(name.encode())
        if values.dtype == object and len(values) and any(isinstance(v, (list, tuple, np.ndarray)) or v is None for v in values):
            rows = [() if v is None else v for v in values]
            digest.update(np.array([len(r) for r in rows], dtype=np.int64).tobytes())
            flat = [x for r in rows for x in r]
            if flat and isinstance(flat[0], str):
                digest.update("\x00".join(flat).encode("utf-8", "surrogatepass"))
            else:
                digest.update(np.asarray(flat, dtype=np.float64).tobytes())
        elif pd.api.types.is_numeric_dtype(values):
            digest.update(np.asarray(values, dtype=np.float64).tobytes())
        else:
            digest.update("\x00".join(values.astype(str)).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def stamp(table: pd.DataFrame, text: str, key: str) -> pd.DataFrame:
    """An older per-text entry's self-check, attached in attrs (pandas keeps attrs in parquet)."""
    out = table.copy()
    out.attrs = {STAMP: {"text_hash": text_hash(text), "key": key, "checksum": entry_checksum(table)}}
    return out


def verify(entry: pd.DataFrame, text: str, key: str) -> str | None:
    """None when an older per-text entry is text's table computed with key and unchanged since; else what is wrong."""
    check = entry.attrs.get(STAMP)
    if not isinstance(check, dict):
        return "it has no self-check (written by an older Duet)"
    if check.get("text_hash") != text_hash(text):
        return "it belongs to another text"
    if check.get("key") != key:
        return "it was computed with another model or other settings"
    if check.get("checksum") != entry_checksum(entry):
        return "its numbers do not match its checksum"
    return None


def _bad(path: Path, problem: str, warnings: list[str] | None) -> None:
    log.warning("score cache entry %s is bad: %s; recomputing it", path, problem)
    if warnings is not None:
        warnings.append(f"score cache entry {path} was bad ({problem}); recomputed")


def lookup(spec_key: str, settings: ScoreSettings, texts: list[str],
           warnings: list[str] | None = None) -> tuple[dict[int, pd.DataFrame], list[int]]:
    """The cached, verified tables of texts (by index in texts) and the indices of those not cached.
    No model needed. warnings: gets a line per bad entry (recomputed by the caller)."""
    folder = scope_dir(spec_key, settings)
    hashes = [text_hash(t) for t in texts]
    found = _read_hashes(folder, set(hashes), entry_key(spec_key, settings), warnings)
    tables = {i: found[h] for i, h in enumerate(hashes) if h in found}
    return tables, [i for i in range(len(texts)) if i not in tables]


def store(spec_key: str, settings: ScoreSettings, texts: list[str], fresh: pd.DataFrame) -> None:
    """Add score_texts(texts)'s table (text_id = index in texts) to the cache: one batch file, then its index rows."""
    if not texts:
        return
    folder = scope_dir(spec_key, settings)
    hashes = np.array([text_hash(t) for t in texts], dtype=object)
    ordered = fresh.iloc[np.argsort(fresh["text_id"].to_numpy(), kind="stable")].reset_index(drop=True)
    ids = ordered["text_id"].to_numpy()
    checksums = np.array([entry_checksum(part) for part in _split_by(ordered, "text_id", len(texts))], dtype=object)
    batch = f"batch-{uuid.uuid4().hex}.parquet"
    stamped = ordered.assign(**{HASH_COLUMN: hashes[ids], KEY_COLUMN: entry_key(spec_key, settings),
                                CHECK_COLUMN: checksums[ids]})
    atomic.write_parquet(folder / batch, topk_columns.columnar(stamped))
    with _index(folder) as db:
        db.executemany("INSERT OR REPLACE INTO entries (text_hash, file) VALUES (?, ?)", [(h, batch) for h in hashes])


def cached_score_texts(
    loaded: LoadedModel,
    texts: list[str],
    settings: ScoreSettings = ScoreSettings(),
    progress: Progress | None = None,
    warnings: list[str] | None = None,
    known: tuple[dict[int, pd.DataFrame], list[int]] | None = None,
) -> pd.DataFrame:
    """score_texts, computing only the texts not already in the cache (known: a lookup already made).

    warnings: gets one line per damaged entry recomputed and one if the new entries could not be
    written (a full disk); neither is an error, the returned table is complete either way.
    """
    spec_key = str(loaded.spec)
    tables, missing = known if known is not None else lookup(spec_key, settings, texts, warnings)
    unique_missing = list(dict.fromkeys(texts[i] for i in missing))  # a repeated text is scored once
    if unique_missing:
        fresh = score_texts(loaded, unique_missing, settings, progress)
        try:
            store(spec_key, settings, unique_missing, fresh)
        except Exception as error:  # noqa: BLE001 - a cache that cannot be written is not worth the scores
            log.warning("score cache not written: %s", error)
            if warnings is not None:
                warnings.append(f"{loaded.spec.label}: scores not kept in the cache ({user_message(error)}); "
                                "the results are complete, a rerun computes them again")
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


def _read_hashes(folder: Path, wanted: set[str], key: str, warnings: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """Verified tables of the wanted hashes that the cache holds: each batch read once, then the old per-text files."""
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
        table = _read(folder / file, warnings)
        if table is None:
            continue
        if not set(CHECK_COLUMNS) <= set(table.columns):
            _bad(folder / file, "it has no self-check columns", warnings)
            continue
        keep = table[table[HASH_COLUMN].isin(file_hashes)]
        codes, uniques = pd.factorize(keep[HASH_COLUMN])
        parts = _split_by(keep.assign(_code=codes), "_code", len(uniques))
        for h, part in zip(uniques, parts):
            body = part.drop(columns=["_code", *CHECK_COLUMNS])
            if (part[KEY_COLUMN] != key).any():
                _bad(folder / file, "it was computed with another model or other settings", warnings)
            elif part[CHECK_COLUMN].nunique() != 1 or part[CHECK_COLUMN].iloc[0] != entry_checksum(body):
                _bad(folder / file, "its numbers do not match its checksum", warnings)
            else:
                found[h] = body
    for h in wanted - found.keys():  # the one-file-per-text layout of older caches
        path = folder / f"{h}.parquet"
        table = _read(path, warnings)
        if table is None:
            continue
        check = table.attrs.get(STAMP)
        if isinstance(check, dict) and (check.get("text_hash") != h or check.get("key") != key
                                        or check.get("checksum") != entry_checksum(table)):
            _bad(path, "it belongs to another text, other settings, or its numbers changed", warnings)
            continue
        table.attrs = {}
        found[h] = table
    return found


def _read(path: Path, warnings: list[str] | None = None) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return topk_columns.read(path)
    except Exception as error:  # noqa: BLE001 - a damaged entry is recomputed, not fatal
        _bad(path, f"it cannot be read ({user_message(error)})", warnings)
        return None
