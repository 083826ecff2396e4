"""A 1 MB text: documented behaviour is that it is scored whole, in sliding windows, every token once."""

from __future__ import annotations

import numpy as np

from backend.models.loading import load_model
from backend.scoring.score import ScoreSettings, score_texts
from backend.models.specs import ModelSpec


def test_megabyte_text_is_scored_in_sliding_windows(tiny_b):
    loaded = load_model(ModelSpec(str(tiny_b)))
    paragraph = "The quick brown fox jumps over the lazy dog; 12 * 12 = 144. "
    text = (paragraph * (1_000_000 // len(paragraph) + 1))[:1_000_000]
    table = score_texts(loaded, [text], ScoreSettings(window=256, stride=192, batch_tokens=16384))
    assert table["char_start"].iloc[0] == 0 and table["char_end"].iloc[-1] == len(text)
    assert (table["char_start"].to_numpy()[1:] == table["char_end"].to_numpy()[:-1]).all()
    assert table["logprob"].iloc[1:].notna().all()  # tiny_b has no BOS: only the very first token is NaN
    assert (table["context_tokens"].iloc[255:] >= 256 - 192).all()
    # the periodic text makes the model's scores periodic too once the context is full: a sanity check
    # that windows were stitched in the right places
    assert np.isfinite(table["entropy"].iloc[1:]).all()
