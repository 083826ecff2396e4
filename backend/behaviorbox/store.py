"""A BehaviorBox result on disk, saved with its run in the run store's folder, under behaviorbox/:

  sae.safetensors, sae.json   the trained SAE (backend.behaviorbox.sae.save_sae)
  stats.parquet               per-feature statistics (analysis.behaviorbox.STATS_COLUMNS, then
                              CONTEXT_COLUMNS: context_n, context_median_dlogprob, context_consistency,
                              context_p, holds_in_context), every feature that fired; results saved
                              before the context check lack those columns and are read unfiltered
  examples.parquet            each feature's kept top words (analysis.behaviorbox.feature_examples), every feature
  result.json                 settings as run, training summary, timings, model-written descriptions
  word_embeddings.npy/.json   the encoder's word vectors (float16), reused when training again with other settings
The folder is written whole and swapped in (backend.store.atomic.folder), like a run.
Selection thresholds are applied when reading (analysis.behaviorbox_select.selected_features),
so changing them needs no training. Importing this module does not import torch.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.behaviorbox_select import BehaviorBoxResult, BehaviorBoxSettings
from backend.store import atomic

SUBDIR = "behaviorbox"
EMBEDDINGS_FILE = "word_embeddings.npy"
FORMAT_VERSION = 2  # 2: stats.parquet carries the context check columns


def load_cached_embeddings(folder: Path | None, key: str, encoder_name: str) -> np.ndarray | None:
    """The word vectors saved with an earlier training of this run, when they are for these words and this encoder."""
    if folder is None:
        return None
    meta_path = folder / SUBDIR / "word_embeddings.json"
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("key") != key or meta.get("encoder") != encoder_name:
            return None
        return np.load(folder / SUBDIR / EMBEDDINGS_FILE).astype(np.float32)
    except (OSError, ValueError):
        return None


def run_folder_of(run_id: str, store=None, write: bool = False) -> Path:
    """The folder of a saved run (backend.store.runs.RunStore); RunNotFound when there is none.
    write: to save a result into it, which only the run's owner may (NotOwner otherwise)."""
    from backend.store.runs import RunStore

    store = store or RunStore()
    return store.writable_folder(run_id) if write else store.folder_of(run_id)


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(type(value).__name__)


def _meta(bb: BehaviorBoxResult) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "settings": dataclasses.asdict(bb.settings),
        "n_words": bb.n_words,
        "history": bb.history,
        "timings": bb.timings,
        "encoder": bb.encoder,
        "model_descriptions": {str(k): v for k, v in bb.model_descriptions.items()},
    }


def save_behaviorbox(bb: BehaviorBoxResult, run_folder: str | Path, vectors: np.ndarray | None = None,
                     words_key: str | None = None) -> Path:
    """Write bb (and its SAE, when in memory) into <run_folder>/behaviorbox, replacing an earlier one."""
    final = Path(run_folder) / SUBDIR
    with atomic.folder(final) as tmp:
        if bb.sae is not None:
            from backend.behaviorbox.sae import save_sae

            save_sae(bb.sae, tmp)
        atomic.write_parquet(tmp / "stats.parquet", bb.stats)
        atomic.write_parquet(tmp / "examples.parquet", bb.examples)
        atomic.write_json(tmp / "result.json", _meta(bb), default=_json_default)
        if vectors is not None and words_key is not None:
            # float16 halves the file; the SAE's inputs are balanced sums of these, far above its rounding.
            atomic.write_npy(tmp / EMBEDDINGS_FILE, vectors.astype(np.float16))
            atomic.write_json(tmp / "word_embeddings.json", {"key": words_key, "encoder": bb.encoder})
        elif (final / EMBEDDINGS_FILE).is_file():  # keep the cached vectors of an earlier training
            for name in (EMBEDDINGS_FILE, "word_embeddings.json"):
                atomic.copy_file(final / name, tmp / name)
    bb.folder = str(final)
    return final


def load_behaviorbox(run_folder: str | Path) -> BehaviorBoxResult | None:
    """The result saved with a run, or None when it has none (the SAE itself stays
    on disk: `load_sae_of` reads it)."""
    folder = Path(run_folder) / SUBDIR
    if not (folder / "result.json").is_file():
        return None
    meta = json.loads((folder / "result.json").read_text())
    return BehaviorBoxResult(
        settings=BehaviorBoxSettings(**meta["settings"]),
        n_words=int(meta["n_words"]),
        stats=pd.read_parquet(folder / "stats.parquet"),
        examples=pd.read_parquet(folder / "examples.parquet"),
        history=meta.get("history", {}),
        timings=meta.get("timings", {}),
        encoder=meta.get("encoder", ""),
        model_descriptions={int(k): v for k, v in (meta.get("model_descriptions") or {}).items()},
        folder=str(folder),
    )


def load_sae_of(bb: BehaviorBoxResult, device: str | None = None):
    """The trained SAE of a saved result (backend.behaviorbox.sae.SAEModel)."""
    from backend.behaviorbox.sae import load_sae

    if bb.sae is None:
        if bb.folder is None:
            raise ValueError("this result was never saved and holds no SAE")
        bb.sae = load_sae(bb.folder, device)
    return bb.sae


def save_model_descriptions(bb: BehaviorBoxResult) -> None:
    """Rewrite result.json with bb.model_descriptions (atomic replace); no-op when unsaved."""
    if bb.folder is None:
        return
    atomic.write_json(Path(bb.folder) / "result.json", _meta(bb), default=_json_default)
