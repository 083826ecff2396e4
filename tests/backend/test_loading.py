"""Loading: the same path for every source, one clear line for every failure, and the variants."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from backend.models.loading import ModelLoadError, load_model
from backend.scoring.score import score_texts
from backend.models.specs import ModelSpec


def test_folder_loads_through_user_path(tiny_a):
    loaded = load_model(ModelSpec(str(tiny_a)))
    assert loaded.spec.device == "cpu" and loaded.spec.dtype == "float32"
    assert loaded.tokenizer.is_fast


def test_folder_without_tokenizer(tiny_a, tmp_path):
    folder = tmp_path / "no_tok"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_a / name, folder / name)
    with pytest.raises(ModelLoadError, match="no tokenizer"):
        load_model(ModelSpec(str(folder)))


def test_pickle_only_folder_needs_opt_in(tiny_a, tmp_path):
    folder = tmp_path / "pickled"
    shutil.copytree(tiny_a, folder)
    (folder / "model.safetensors").unlink()
    torch.save({}, folder / "pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="allow_pickle"):
        load_model(ModelSpec(str(folder)))


def test_missing_folder_and_file(tmp_path):
    with pytest.raises(ModelLoadError, match="no model folder"):
        load_model(ModelSpec(str(tmp_path / "nothing")))
    with pytest.raises(ModelLoadError, match="no GGUF file"):
        load_model(ModelSpec(str(tmp_path / "nothing.gguf")))


def test_corrupt_gguf(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf at all" * 10)
    with pytest.raises(ModelLoadError, match="not a GGUF file"):
        load_model(ModelSpec(str(bad)))
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 20)
    with pytest.raises(ModelLoadError, match="could not read GGUF"):
        load_model(ModelSpec(str(truncated)))


def test_unknown_hub_model_offline_names_model_and_hub(monkeypatch):
    with pytest.raises(ModelLoadError) as error:
        load_model(ModelSpec("no-such-org/no-such-model"))
    message = str(error.value)
    assert "no-such-org/no-such-model" in message and "hub is unreachable" in message
    assert "\n" not in message


def test_int8_variant_quantises_linear_layers(tiny_a):
    plain = load_model(ModelSpec(str(tiny_a)))
    quant = load_model(ModelSpec(str(tiny_a), variant="int8"))
    kinds = {type(m).__module__ for m in quant.model.modules()}
    assert "torch.ao.nn.quantized.dynamic.modules.linear" in kinds, kinds
    assert not any(type(m) is torch.nn.Linear for m in quant.model.modules())
    a, b = score_texts(plain, ["The quick brown fox."]), score_texts(quant, ["The quick brown fox."])
    assert a["token_id"].tolist() == b["token_id"].tolist()
    diff = np.abs(a["logprob"] - b["logprob"])
    assert diff.max() < 1.0 and diff.max() > 0  # close, but really a different model


def test_prune_variant_reaches_sparsity(tiny_a):
    pruned = load_model(ModelSpec(str(tiny_a), variant="prune", sparsity=0.5))
    for module in pruned.model.modules():
        if isinstance(module, torch.nn.Linear):
            share = (module.weight == 0).float().mean().item()
            assert 0.49 <= share <= 0.52
