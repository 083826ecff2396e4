"""The compressed-copy comparison is credible: weight-only int8 keeps SmolLM2's perplexity, dynamic int8 does not (slow)."""

from __future__ import annotations

import numpy as np
import pytest

from backend.models.loading import load_model
from backend.models.specs import ModelSpec
from backend.scoring.score import score_texts

pytestmark = pytest.mark.slow

PARAGRAPHS = [
    "Nobody in Tbilisi expected the peaceful forest to become so popular with visitors. On the first day of "
    "spring, Marco walked to the bright observatory near Tbilisi.",
    "To understand the water cycle, start with evaporation: the sun heats water in oceans and lakes, and it "
    "rises as vapour before it cools and condenses into clouds.",
    "In Q1 2024, revenue reached $4.2 million, up 12% from the previous quarter, while operating costs fell "
    "slightly because of lower shipping prices.",
]
BASE = "smollm2-135m?bos=<|endoftext|>"


def perplexity(spec: str) -> float:
    table = score_texts(load_model(ModelSpec.parse(spec)), PARAGRAPHS)
    return float(np.exp(-table["logprob"].dropna().mean()))


def test_int8_variants_perplexity():
    plain = perplexity(BASE)
    weight_only = perplexity(BASE + "&variant=int8")
    dynamic = perplexity(BASE + "&variant=int8-dynamic")
    # Measured on 20 walkthrough paragraphs (README "Models"): 18.15 plain, 18.06 int8, 88.0 int8-dynamic.
    assert abs(weight_only / plain - 1) < 0.05, (plain, weight_only)
    assert dynamic / plain > 1.5, (plain, dynamic)
