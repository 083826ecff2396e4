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


def test_int8_is_weight_only_per_channel_with_the_head_kept(tiny_a):
    """variant=int8: every body Linear holds round(w / s) · s with s = max|row| / 127.5; the head is untouched."""
    plain = load_model(ModelSpec(str(tiny_a)))
    quant = load_model(ModelSpec(str(tiny_a), variant="int8"))
    plain_linears = {n: m for n, m in plain.model.named_modules() if isinstance(m, torch.nn.Linear)}
    head_name = next(n for n, m in plain.model.named_modules() if m is plain.model.get_output_embeddings())
    checked = 0
    for name, module in quant.model.named_modules():
        if name not in plain_linears:
            continue
        w = plain_linears[name].weight.detach()
        if name == head_name:
            assert torch.equal(module.weight.detach(), w)
            continue
        scale = w.abs().amax(dim=1, keepdim=True) / 127.5
        expect = torch.round(w / scale).clamp(-128, 127) * scale
        got = module.weight.dequantize()
        # Equal up to float rounding of w / s at exact half steps: never more than one step apart.
        assert ((got - expect).abs() <= scale * 1.001).all()
        assert ((got - expect).abs() < 1e-6).float().mean() > 0.99
        checked += 1
    assert checked >= 4
    text = ["The quick brown fox jumps over the lazy dog."]
    a, b = score_texts(plain, text), score_texts(quant, text)
    dynamic = score_texts(load_model(ModelSpec(str(tiny_a), variant="int8-dynamic")), text)
    assert a["token_id"].tolist() == b["token_id"].tolist() == dynamic["token_id"].tolist()
    weight_only = np.abs(a["logprob"] - b["logprob"]).max()
    assert 0 < weight_only < np.abs(a["logprob"] - dynamic["logprob"]).max()  # really different, and finer


def test_int8_dynamic_variant_quantises_every_linear_layer(tiny_a):
    quant = load_model(ModelSpec(str(tiny_a), variant="int8-dynamic"))
    kinds = {type(m).__module__ for m in quant.model.modules()}
    assert "torch.ao.nn.quantized.dynamic.modules.linear" in kinds, kinds
    assert not any(type(m) is torch.nn.Linear for m in quant.model.modules())


def test_prune_variant_reaches_sparsity(tiny_a):
    pruned = load_model(ModelSpec(str(tiny_a), variant="prune", sparsity=0.5))
    for module in pruned.model.modules():
        if isinstance(module, torch.nn.Linear):
            share = (module.weight == 0).float().mean().item()
            assert 0.49 <= share <= 0.52
