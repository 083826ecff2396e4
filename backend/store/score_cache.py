"""On-disk cache of per-text token tables, keyed by (model spec, scoring settings, text hash).

A rerun, a browser refresh or a server restart finds them without touching a
model. Each entry is one parquet file, written whole or not at all
(backend.store.atomic), so a crash never leaves a half-written entry.

Each entry also checks itself: it carries the hash of its text, its spec and
settings key, and a checksum of its columns (stamp, verify). An entry that was
edited, copied over another's name or damaged is a miss: it is recomputed, and
the log and the caller's warnings say which file was bad. The checks work on one
text's table, whatever file holds it. A full disk while writing an entry is a
warning too: the scores just computed are returned all the same.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pandas as pd

from backend.errors import user_message
from backend.store import atomic
from backend.store.paths import cache_dir
from backend.models.loading import LoadedModel
from backend.scoring.score import SCORER_VERSION, Progress, ScoreSettings, score_texts

log = logging.getLogger(__name__)

STAMP = "duet_entry"  # the key of an entry's self-check in DataFrame.attrs (kept in the parquet's pandas metadata)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def entry_key(spec_key: str, settings: ScoreSettings) -> str:
    """What an entry was computed with: the scorer version, the resolved spec and the settings."""
    return f"v{SCORER_VERSION}|{spec_key}|{settings.key()}"


def entry_path(spec_key: str, settings: ScoreSettings, text: str, root: Path | None = None) -> Path:
    scope = hashlib.sha256(entry_key(spec_key, settings).encode()).hexdigest()[:20]
    return (root or cache_dir() / "scores") / scope / f"{text_hash(text)}.parquet"


# --- the self-check of one text's table ------------------------------------------------


def entry_checksum(table: pd.DataFrame) -> str:
    """sha256 of one text's token table, columns and values (text_id left out: it is the text's
    place in a request, reassigned on every read). Through Arrow's IPC form, so lists (top-k)
    count too, and a table read back from parquet gives the same sum as the one written."""
    import pyarrow as pa

    body = table.drop(columns=["text_id"], errors="ignore").reset_index(drop=True)
    arrow = pa.Table.from_pandas(body, preserve_index=False).replace_schema_metadata(None).combine_chunks()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, arrow.schema) as writer:
        writer.write_table(arrow)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def stamp(table: pd.DataFrame, text: str, key: str) -> pd.DataFrame:
    """The table with its self-check attached (written with it: pandas keeps attrs in parquet)."""
    out = table.copy()
    out.attrs = {STAMP: {"text_hash": text_hash(text), "key": key, "checksum": entry_checksum(table)}}
    return out


def verify(entry: pd.DataFrame, text: str, key: str) -> str | None:
    """None when entry is text's table computed with key and unchanged since; else what is wrong."""
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


# --- the cache ---------------------------------------------------------------------------


def cached_score_texts(
    loaded: LoadedModel,
    texts: list[str],
    settings: ScoreSettings = ScoreSettings(),
    progress: Progress | None = None,
    warnings: list[str] | None = None,
) -> pd.DataFrame:
    """score_texts, computing only the texts not already in the cache.

    warnings: gets one line per damaged entry recomputed and per entry that could not be
    written (a full disk); neither is an error, the returned table is complete either way.
    """
    warnings = warnings if warnings is not None else []
    spec_key = str(loaded.spec)
    key = entry_key(spec_key, settings)
    paths = [entry_path(spec_key, settings, t) for t in texts]
    tables: dict[int, pd.DataFrame] = {}
    missing: list[int] = []
    for i, (path, text) in enumerate(zip(paths, texts)):
        table = _read(path, text, key, warnings)
        if table is None:
            missing.append(i)
        else:
            tables[i] = table
    unique_missing = list(dict.fromkeys(texts[i] for i in missing))  # a repeated text is scored once
    if unique_missing:
        fresh = score_texts(loaded, unique_missing, settings, progress)
        write_failed = None
        for j, text in enumerate(unique_missing):
            part = fresh[fresh["text_id"] == j].reset_index(drop=True)
            if write_failed is None:
                try:
                    atomic.write_parquet(entry_path(spec_key, settings, text), stamp(part, text, key))
                except Exception as error:  # noqa: BLE001 - a cache that cannot be written is not worth the scores
                    write_failed = error
            for i in missing:
                if texts[i] == text:
                    tables[i] = part
        if write_failed is not None:
            log.warning("score cache not written: %s", write_failed)
            warnings.append(f"{loaded.spec.label}: scores not kept in the cache ({user_message(write_failed)}); "
                            "the results are complete, a rerun computes them again")
    elif progress is not None:
        progress(1, 1)
    frames = [tables[i].assign(text_id=i) for i in range(len(texts))]
    out = pd.concat(frames, ignore_index=True) if frames else score_texts(loaded, [], settings)
    out.attrs = {}  # the entries' self-checks stay with the entries
    return out


def _read(path: Path, text: str, key: str, warnings: list[str]) -> pd.DataFrame | None:
    """The verified entry at path, or None (absent, unreadable or failing its check: recomputed)."""
    if not path.is_file():
        return None
    try:
        table = pd.read_parquet(path)
        problem = verify(table, text, key)
    except Exception as error:  # noqa: BLE001 - a damaged entry is recomputed, not fatal
        problem = f"it cannot be read ({user_message(error)})"
    if problem is None:
        table.attrs = {}
        return table
    if problem.startswith("it has no self-check"):
        log.info("score cache entry %s %s; recomputing it", path, problem)
    else:
        log.warning("score cache entry %s is bad: %s; recomputing it", path, problem)
        warnings.append(f"score cache entry {path} was bad ({problem}); recomputed")
    return None
