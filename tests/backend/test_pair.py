"""backend/scoring/pair.score_models, the one path of the app, the CLI and the Ray engine: errors per side, cache, extras."""

from __future__ import annotations

import pandas as pd
import pytest

import backend.scoring.pair as pair
from backend.errors import DuetError
from backend.scoring.pair import score_models, score_pair
from backend.scoring.score import ScoreSettings, score_texts
from tiny_models import CORPUS

TEXTS = CORPUS[:3]


def test_one_model_failing_leaves_the_other_scored(model_a, model_b, isolated_cache, monkeypatch):
    real = pair.cached_score_texts

    def fail_b(loaded, *args):
        if loaded is model_b:
            raise RuntimeError("out of patience")
        return real(loaded, *args)

    monkeypatch.setattr(pair, "cached_score_texts", fail_b)
    outcome = score_models({"a": model_a, "b": model_b}, TEXTS)
    assert set(outcome.pair.tokens["model"]) == {"a"}
    assert outcome.errors["b"].startswith(model_b.spec.label) and "out of patience" in outcome.errors["b"]
    assert outcome.same_vocab is None
    with pytest.raises(RuntimeError, match="out of patience"):  # callers that need both get the side's own error
        outcome.result()


def test_a_model_that_did_not_load_keeps_its_reason(model_a, isolated_cache):
    outcome = score_models({"a": model_a, "b": None}, TEXTS, errors={"b": "B: no such folder"})
    assert outcome.errors == {"b": "B: no such folder"} and len(outcome.pair.tokens) > 0
    with pytest.raises(DuetError, match="no such folder"):
        outcome.result()
    assert score_models({}, TEXTS).pair is None


def test_without_the_cache_same_tables_and_nothing_written(model_a, model_b, isolated_cache):
    settings = ScoreSettings(top_k=3)
    fresh = score_models({"a": model_a, "b": model_b}, TEXTS, settings, cache=False).pair
    assert not (isolated_cache / "scores").exists()
    cached = score_pair(model_a, model_b, TEXTS, settings)
    pd.testing.assert_frame_equal(fresh.tokens, cached.tokens)
    pd.testing.assert_frame_equal(fresh.words, cached.words)
    direct = score_texts(model_a, TEXTS, settings)
    pd.testing.assert_frame_equal(fresh.tokens[fresh.tokens["model"] == "a"].drop(columns="model").reset_index(drop=True), direct)


def test_progress_per_side(model_a, model_b, isolated_cache):
    seen = []
    score_models({"a": model_a, "b": model_b}, TEXTS, progress=lambda side, done, total: seen.append((side, done, total)))
    last = {side: (done, total) for side, done, total in seen}
    assert set(last) == {"a", "b"} and all(done == total > 0 for done, total in last.values())


def test_same_vocabulary_extras_only_when_shared(model_a, model_b, isolated_cache):
    shared = score_models({"a": model_a, "b": model_a}, TEXTS)
    assert shared.same_vocab is not None and len(shared.same_vocab) > 0
    assert score_models({"a": model_a, "b": model_a}, TEXTS, same_vocab=False).same_vocab is None
    assert score_models({"a": model_a, "b": model_b}, TEXTS).same_vocab is None


def test_settings_dict_is_what_changes_results():
    settings = ScoreSettings(top_k=3, window=128, stride=64, batch_tokens=512, packing=False)
    assert settings.to_dict() == {"top_k": 3, "window": 128, "stride": 64}
    assert settings.key() == ScoreSettings(**settings.to_dict()).key()
