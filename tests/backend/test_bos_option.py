"""The bos= option: what goes before each text, checked against a direct full-vocabulary computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backend.models.loading import ModelLoadError, load_model
from backend.sampling.sampler import SampleSettings, model_input
from backend.scoring.score import score_texts
from backend.models.specs import ModelSpec, SpecError

TEXT = "The quick brown fox jumps."


def reference_logprobs(loaded, prefix: list[int], ids: list[int]) -> np.ndarray:
    """log p(token | prefix + earlier tokens), float32 full vocabulary, one plain forward."""
    full = torch.tensor([prefix + ids])
    with torch.no_grad():
        logits = loaded.model(full).logits[0].float()
    lp = torch.log_softmax(logits, -1)
    n = len(prefix)
    return np.array([lp[n + i - 1, t].item() if n + i > 0 else np.nan for i, t in enumerate(ids)])


def test_spec_round_trip_and_errors():
    spec = ModelSpec.parse("smollm2-135m?bos=<|endoftext|>")
    assert spec.bos == "<|endoftext|>" and ModelSpec.parse(str(spec)) == spec
    assert str(ModelSpec("smollm2-135m")) == "smollm2-135m"  # auto is the default, not written
    with pytest.raises(SpecError, match="bos"):
        ModelSpec("smollm2-135m", bos=" ")


@pytest.mark.parametrize("bos", ["auto", "none", "</s>"])
def test_scores_follow_the_chosen_start(tiny_a, bos):
    loaded = load_model(ModelSpec(str(tiny_a), bos=bos))
    ids = loaded.tokenizer(TEXT, add_special_tokens=False)["input_ids"]
    prefix = {"auto": [loaded.tokenizer.bos_token_id], "none": [],
              "</s>": [loaded.tokenizer.convert_tokens_to_ids("</s>")]}[bos]
    got = score_texts(loaded, [TEXT])["logprob"].to_numpy()
    want = reference_logprobs(loaded, prefix, ids)
    np.testing.assert_allclose(got, want, atol=1e-4, equal_nan=True)
    assert np.isnan(got[0]) == (bos == "none")


def test_different_starts_give_different_first_scores(tiny_a):
    a = score_texts(load_model(ModelSpec(str(tiny_a))), [TEXT])["logprob"].to_numpy()
    b = score_texts(load_model(ModelSpec(str(tiny_a), bos="</s>")), [TEXT])["logprob"].to_numpy()
    assert abs(a[0] - b[0]) > 1e-4  # the option reaches the model: a test that could fail


def test_unknown_token_fails_at_load_in_one_line(tiny_a):
    with pytest.raises(ModelLoadError, match="not a token of this model's vocabulary") as error:
        load_model(ModelSpec(str(tiny_a), bos="<|no such token|>"))
    assert "\n" not in str(error.value)


def test_sampling_prompts_use_the_same_start(tiny_a):
    loaded = load_model(ModelSpec(str(tiny_a), bos="none"))
    settings = SampleSettings(chat_template=False, prompt_format="{prompt}")
    ids = model_input(loaded.tokenizer, "Hi", settings, loaded.bos_id).ids
    assert ids == loaded.tokenizer("Hi", add_special_tokens=False, split_special_tokens=True)["input_ids"]
