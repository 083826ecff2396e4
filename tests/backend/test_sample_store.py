"""The sample run store: keyed by (spec, prompts, settings), atomic, reloaded without a model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backend.models.loading import load_model
from backend.store.samples import SampleRunNotFound, SampleStore, cached_sample_prompts
from backend.sampling.sampler import SampleSettings
from backend.models.specs import ModelSpec

PROMPTS = ["The quick brown fox", "1 + 2 ="]


def test_second_request_comes_from_disk(tiny_a, tmp_path):
    store = SampleStore(tmp_path / "runs")
    spec = ModelSpec(str(tiny_a))
    loads = []

    def load():
        loads.append(1)
        return load_model(spec)

    settings = SampleSettings(n_samples=2, max_new_tokens=5)
    first, cached = cached_sample_prompts(spec, load, PROMPTS, settings, model="a", store=store)
    assert not cached and len(loads) == 1
    progress = []
    second, cached = cached_sample_prompts(spec, load, PROMPTS, settings, model="b", store=SampleStore(tmp_path / "runs"),
                                           progress=lambda d, n: progress.append((d, n)))
    assert cached and len(loads) == 1  # no model load for a stored run
    assert progress[-1] == (2, 2)
    assert set(second.samples["model"]) == {"b"}  # relabelled for the side it is shown on
    for table in ("prompts", "samples", "tokens"):
        pd.testing.assert_frame_equal(getattr(first, table).drop(columns="model"), getattr(second, table).drop(columns="model"))
    np.testing.assert_array_equal(second.tokens["topk_token_ids"].iloc[0], first.tokens["topk_token_ids"].iloc[0])
    # Another setting, another prompt list: sampled again.
    cached_sample_prompts(spec, load, PROMPTS, SampleSettings(n_samples=2, max_new_tokens=5, seed=1), model="a", store=store)
    cached_sample_prompts(spec, load, PROMPTS[:1], settings, model="a", store=store)
    assert len(loads) == 3
    assert len(store.list()) == 3


def test_half_written_runs_are_ignored_and_delete_works(tiny_a, tmp_path):
    store = SampleStore(tmp_path / "runs")
    spec = ModelSpec(str(tiny_a))
    settings = SampleSettings(n_samples=1, max_new_tokens=3)
    result, _ = cached_sample_prompts(spec, lambda: load_model(spec), PROMPTS, settings, model="a", store=store)
    (store.root / ".tmp-20990101-000000-abcdef").mkdir()  # a crash mid-write leaves only this
    runs = store.list()
    assert len(runs) == 1
    run_id = runs["id"][0]
    assert store.load(run_id).samples["text"].tolist() == result.samples["text"].tolist()
    with pytest.raises(SampleRunNotFound):
        store.load(".tmp-20990101-000000-abcdef")
    store.delete(run_id)
    assert store.list().empty
    assert store.find(str(spec.resolved(False)), PROMPTS, settings) is None
