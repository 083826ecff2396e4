"""Two browser sessions scoring at once share the cached models: each gets its own, correct tables.

Both sessions run the Score button's path (backend.scoring.pair.score_models) in threads
on the same LoadedModel objects, as two Streamlit sessions do on the process's
cached models. Every model call must hold LoadedModel.lock: a forward hook
records how many forwards run at once on each model.
"""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from backend.models.loading import load_model
from backend.models.specs import ModelSpec
from backend.scoring.pair import score_models

TEXTS_1 = ["The first session reads this sentence about rivers and hills. " * 6, "And a second text, shorter."]
TEXTS_2 = ["def session_two(x):\n    return x * 2\n" * 5, "Numbers: 1, 2, 3, 5, 8, 13, 21."]


class ConcurrencyProbe:
    def __init__(self, model):
        self.active = 0
        self.most = 0
        self.calls = 0
        self.guard = threading.Lock()
        base = getattr(model, model.base_model_prefix)
        base.register_forward_pre_hook(self.enter)
        base.register_forward_hook(self.leave)

    def enter(self, *args):
        with self.guard:
            self.active += 1
            self.calls += 1
            self.most = max(self.most, self.active)

    def leave(self, *args):
        with self.guard:
            self.active -= 1


def comparable(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=["topk_token_ids", "topk_tokens", "topk_logprobs"]).reset_index(drop=True)


@pytest.mark.parametrize("rounds", [3])
def test_two_sessions_share_models_safely(tiny_a, tiny_b, tmp_path, monkeypatch, rounds):
    models = {"a": load_model(ModelSpec(str(tiny_a))), "b": load_model(ModelSpec(str(tiny_b)))}
    probes = {side: ConcurrencyProbe(m.model) for side, m in models.items()}

    # Sequential reference, each in a cache of its own so nothing is shared with the concurrent runs.
    monkeypatch.setenv("DUET_CACHE_DIR", str(tmp_path / "reference"))
    expected = [score_models(models, texts).pair for texts in (TEXTS_1, TEXTS_2)]

    for round_ in range(rounds):
        # A fresh cache each round: both sessions must really compute, at the same time.
        monkeypatch.setenv("DUET_CACHE_DIR", str(tmp_path / f"round{round_}"))
        results: list = [None, None]
        errors: list = []
        start = threading.Barrier(2)

        def session(i, texts):
            try:
                start.wait()
                results[i] = score_models(models, texts).pair
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=session, args=(i, t)) for i, t in enumerate((TEXTS_1, TEXTS_2))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        for got, want in zip(results, expected):
            assert got.texts == want.texts
            pd.testing.assert_frame_equal(comparable(got.tokens), comparable(want.tokens), atol=1e-5, rtol=0)
            pd.testing.assert_frame_equal(got.words.reset_index(drop=True), want.words.reset_index(drop=True), atol=1e-5, rtol=0)
    for side, probe in probes.items():
        assert probe.calls >= 2 * (rounds + 1), side
        assert probe.most == 1, f"model {side}: {probe.most} forwards ran at once; the lock was not held"
