"""The embedded sentence encoder: unit vectors, zero for blank answers, meaning closer than wording."""

from __future__ import annotations

import numpy as np
import pytest

from backend.models.loading import ModelLoadError
from backend.models.sentence_encoder import load_sentence_encoder


def test_unit_vectors_and_blank_answers(encoder):
    vectors = encoder.embed(["Paris", "The capital of France is Paris.", "", "  \n", "Berlin"])
    assert vectors.shape == (5, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[[0, 1, 4]], axis=1), 1.0, atol=1e-5)
    assert not vectors[[2, 3]].any()  # analysis.diversity's convention for empty answers
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[4]
    assert encoder.embed([]).shape == (0, 384)


def test_batching_does_not_change_vectors(encoder):
    texts = [f"answer number {i}" for i in range(7)]
    np.testing.assert_allclose(encoder.embed(texts, batch_size=2), encoder.embed(texts, batch_size=64), atol=1e-5)


def test_missing_encoder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="could not load the sentence encoder"):
        load_sentence_encoder(tmp_path / "nothing-here")
