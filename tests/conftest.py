"""Shared fixtures: tiny models saved like a user's folder, and an isolated cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Converted GGUF models are kept between test runs (the first conversion takes minutes);
# everything else a test writes goes to its own temporary folder.
os.environ.setdefault("DUET_MODEL_CACHE", str(REPO / ".cache" / "models"))
os.environ.setdefault("DUET_CACHE_DIR", str(REPO / ".cache" / "test"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no hub here; fail fast instead of retrying the network
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# No background load of the default pair when a test (AppTest or a browser test's server) starts the app:
# tests pick their models and wait for their own loads; tests/app/test_preload.py turns it on.
os.environ.setdefault("DUET_PRELOAD", "0")


@pytest.fixture(scope="session")
def tiny_a(tmp_path_factory) -> Path:
    """Llama-architecture, byte-level BPE, with BOS."""
    from tiny_models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_a"), kind="llama", tokenizer="bytelevel", seed=0)


@pytest.fixture(scope="session")
def tiny_b(tmp_path_factory) -> Path:
    """GPT-NeoX architecture, sentencepiece-style tokenizer with byte fallback, no BOS."""
    from tiny_models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_b"), kind="gpt_neox", tokenizer="metaspace", seed=1, bos=False)


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DUET_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def encoder():
    """The embedded all-MiniLM-L6-v2 (installed by make), loaded once for every test that embeds.
    No skip when it is missing: the set-up installs it, so a missing encoder is a failure."""
    from backend.models.sentence_encoder import load_sentence_encoder

    return load_sentence_encoder()
