"""The "What B promotes" tab in AppTest: shown only for a shared vocabulary, its tables as analysis/promotions.py
computes them, and one click to the token view at a position of highest KL."""

from __future__ import annotations

import numpy as np
import pytest

from test_differences_page import TEXTS, open_page


@pytest.fixture
def same_vocab_run(app, tiny_a):
    """tiny_a against its own pruned copy: one vocabulary, so the same-vocabulary table is kept with the run."""
    from backend.models.specs import ModelSpec
    from backend.scoring.pair import score_models
    from backend.scoring.score import ScoreSettings
    from backend.store.runs import RunStore

    spec_b = f"{tiny_a}?sparsity=0.5&variant=prune"
    outcome = score_models({"a": ModelSpec.parse(str(tiny_a)), "b": ModelSpec.parse(spec_b)}, TEXTS,
                           ScoreSettings(top_k=5))
    assert outcome.same_vocab is not None and len(outcome.same_vocab)
    run_id = RunStore().save(outcome.result(), str(tiny_a), spec_b, {"top_k": 5}, name="pruned",
                             same_vocab=outcome.same_vocab)
    return run_id, outcome


def tables(at, first_columns: list[str]) -> list:
    return [d.value for d in at.dataframe if list(d.value.columns[:len(first_columns)]) == first_columns]


def test_the_tab_lists_tokens_b_raises_and_lowers_and_the_highest_kl(app, same_vocab_run):
    from analysis import promotions as P

    run_id, outcome = same_vocab_run
    at = app.run()
    at.switch_page("pages/differences.py").run()
    assert not at.exception, at.exception
    assert "What B promotes" in [t.label for t in at.tabs]
    changes = P.token_changes(outcome.result().tokens)
    raised, lowered = tables(at, ["token", "raised by B"])  # side by side: B raises, B lowers
    for shown, way in ((raised, "raised"), (lowered, "lowered")):
        want = P.most_changed(changes, way, 20)
        assert len(shown) and shown["token id"].tolist() == want["token_id"].tolist()
        np.testing.assert_allclose(shown["mean change"], want["mean_change"])  # nats, the default unit
    assert raised["raised by B"].is_monotonic_decreasing and lowered["lowered by B"].is_monotonic_decreasing
    at.radio(key="promotes_order").set_value("net").run()
    raised, _ = tables(at, ["token", "raised by B"])
    assert raised["token id"].tolist() == P.most_changed(changes, "raised", 20, "net")["token_id"].tolist()
    assert ((raised["raised by B"] - raised["lowered by B"]) > 0).all()
    (kl,) = tables(at, ["text", "context"])
    same = outcome.same_vocab
    assert kl["KL(A‖B)"].tolist() == pytest.approx(same["kl_a_b"].nlargest(len(kl)).tolist())
    assert kl["context"].str.contains("⟦").all()
    at.session_state["promotes_kl_0"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    focus = at.session_state["focus"]
    top = same.sort_values("kl_a_b", ascending=False).iloc[0]
    assert focus["run_id"] == run_id and focus["text_id"] == int(top["text_id"])
    assert focus["char_end"] > focus["char_start"]


def test_no_tab_when_the_vocabularies_differ(app, tiny_a, tiny_b):
    from backend.models.loading import load_model
    from backend.models.specs import ModelSpec
    from backend.scoring.pair import score_pair
    from backend.store.runs import RunStore

    a, b = (load_model(ModelSpec.parse(str(p))) for p in (tiny_a, tiny_b))
    RunStore().save(score_pair(a, b, TEXTS[:2]), str(tiny_a), str(tiny_b), {"top_k": 5}, name="two vocabularies")
    at = open_page(app)
    assert "What B promotes" not in [t.label for t in at.tabs]
