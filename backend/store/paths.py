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
