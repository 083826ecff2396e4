"""Where Duet keeps converted models, cached scores and runs."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """DUET_CACHE_DIR, else ~/.cache/duet. Created on first use."""
    path = Path(os.environ.get("DUET_CACHE_DIR") or Path.home() / ".cache" / "duet").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def model_cache_dir() -> Path:
    """Converted models (GGUF -> safetensors): DUET_MODEL_CACHE, else <cache_dir>/models."""
    override = os.environ.get("DUET_MODEL_CACHE")
    path = Path(override).expanduser() if override else cache_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


_swept: set[Path] = set()


def sweep_cache() -> None:
    """Remove crashed writers' leftovers (backend.store.atomic.sweep_leftovers) from the cache and
    the model cache, once per process per folder: the CLI and the app call it at start."""
    from backend.store.atomic import sweep_leftovers

    for folder in (cache_dir(), model_cache_dir()):
        if folder not in _swept:
            _swept.add(folder)
            sweep_leftovers(folder)
