"""The torch thread policy: one thread unless DUET_TORCH_THREADS says otherwise, set once, scores unchanged."""

from __future__ import annotations

import pytest
import torch

from backend import threads
from backend.errors import DuetError
from backend.models.loading import load_model
from backend.models.specs import ModelSpec
from backend.scoring.score import score_texts


@pytest.mark.parametrize("raw, wanted", [(None, 1), ("", 1), ("3", 3), ("auto", None), (" AUTO ", None)])
def test_the_count_asked_for(monkeypatch, raw, wanted):
    if raw is None:
        monkeypatch.delenv(threads.ENV, raising=False)
    else:
        monkeypatch.setenv(threads.ENV, raw)
    assert threads.torch_threads() == wanted


@pytest.mark.parametrize("raw", ["0", "-2", "two"])
def test_a_bad_count_says_so(monkeypatch, raw):
    monkeypatch.setenv(threads.ENV, raw)
    with pytest.raises(DuetError, match=threads.ENV):
        threads.torch_threads()


@pytest.fixture
def torch_count(monkeypatch):
    """torch's thread count and the policy's once-flag, put back after the test."""
    before = torch.get_num_threads()
    monkeypatch.setattr(threads, "_applied", None)
    yield
    torch.set_num_threads(before)


def test_applied_once(monkeypatch, torch_count):
    monkeypatch.setenv(threads.ENV, "2")
    assert threads.apply() == 2 == torch.get_num_threads()
    torch.set_num_threads(1)  # a caller's own choice afterwards (a benchmark) is kept
    monkeypatch.setenv(threads.ENV, "3")
    assert threads.apply() == 2 and torch.get_num_threads() == 1


def test_the_default_is_one_thread(monkeypatch, torch_count):
    monkeypatch.delenv(threads.ENV, raising=False)
    assert threads.apply() == 1 == torch.get_num_threads()


def test_the_thread_count_does_not_change_a_score(tiny_a, torch_count):
    loaded = load_model(ModelSpec(str(tiny_a)))
    texts = ["The quick brown fox jumps over the lazy dog. " * 6, "über 12345 日本語"]
    tables = {}
    for n in (1, 2):
        torch.set_num_threads(n)
        tables[n] = score_texts(loaded, texts)
    assert tables[1].equals(tables[2])
