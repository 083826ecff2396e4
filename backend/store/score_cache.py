"""On-disk cache of per-text token tables, keyed by (model spec, scoring settings, text hash).

A rerun, a browser refresh or a server restart finds them without touching a
model. Each entry is one parquet file, written whole or not at all
(backend.store.atomic), so a crash never leaves a half-written entry.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from backend.store import atomic
from backend.store.paths import cache_dir
from backend.models.loading import LoadedModel
from backend.scoring.score import SCORER_VERSION, Progress, ScoreSettings, score_texts


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def entry_path(spec_key: str, settings: ScoreSettings, text: str, root: Path | None = None) -> Path:
    scope = hashlib.sha256(f"v{SCORER_VERSION}|{spec_key}|{settings.key()}".encode()).hexdigest()[:20]
    return (root or cache_dir() / "scores") / scope / f"{text_hash(text)}.parquet"


def cached_score_texts(
    loaded: LoadedModel,
    texts: list[str],
    settings: ScoreSettings = ScoreSettings(),
    progress: Progress | None = None,
) -> pd.DataFrame:
    """score_texts, computing only the texts not already in the cache."""
    spec_key = str(loaded.spec)
    paths = [entry_path(spec_key, settings, t) for t in texts]
    tables: dict[int, pd.DataFrame] = {}
    missing: list[int] = []
    for i, path in enumerate(paths):
        table = _read(path)
        if table is None:
            missing.append(i)
        else:
            tables[i] = table
    unique_missing = list(dict.fromkeys(texts[i] for i in missing))  # a repeated text is scored once
    if unique_missing:
        fresh = score_texts(loaded, unique_missing, settings, progress)
        for j, text in enumerate(unique_missing):
            part = fresh[fresh["text_id"] == j].reset_index(drop=True)
            atomic.write_parquet(entry_path(spec_key, settings, text), part)
            for i in missing:
                if texts[i] == text:
                    tables[i] = part
    elif progress is not None:
        progress(1, 1)
    frames = [tables[i].assign(text_id=i) for i in range(len(texts))]
    return pd.concat(frames, ignore_index=True) if frames else score_texts(loaded, [], settings)


def _read(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except Exception:  # a damaged entry is recomputed, not fatal
        return None
