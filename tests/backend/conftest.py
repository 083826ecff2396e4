"""The two tiny models loaded through the real loading path, once per test module."""

from __future__ import annotations

import pytest

from backend.models.loading import load_model
from backend.models.specs import ModelSpec


@pytest.fixture(scope="module")
def model_a(tiny_a):  # llama, byte-level tokenizer, with BOS
    return load_model(ModelSpec(str(tiny_a)))


@pytest.fixture(scope="module")
def model_b(tiny_b):  # gpt_neox, metaspace tokenizer, no BOS
    return load_model(ModelSpec(str(tiny_b)))
