"""backend/models/loading.py's conversion cache: a converted GGUF lands whole (backend/store/atomic.py)
or not at all, and a conversion that finished first is kept. The GGUF reader is replaced by a
tiny model, so no real conversion runs."""

from __future__ import annotations

import pytest

import backend.models.loading as L
from backend.store import atomic


@pytest.fixture
def fake_gguf(tmp_path, tiny_a, monkeypatch):
    import transformers

    monkeypatch.setenv("DUET_MODEL_CACHE", str(tmp_path / "models"))
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF" + b"\x00" * 28)
    reads = []

    real_tok = transformers.AutoTokenizer.from_pretrained
    real_model = transformers.AutoModelForCausalLM.from_pretrained
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained",
                        lambda *a, **k: reads.append("tokenizer") or real_tok(str(tiny_a)))
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained",
                        lambda *a, **k: reads.append("model") or real_model(str(tiny_a)))
    return gguf, reads


def test_a_conversion_is_written_whole_and_reused(fake_gguf, tmp_path):
    gguf, reads = fake_gguf
    folder = L._gguf_to_safetensors(gguf, None)
    names = {p.name for p in (tmp_path / "models").iterdir()}
    assert names == {folder.rsplit("/", 1)[-1]}  # no temporary left beside it
    assert (tmp_path / "models" / folder.rsplit("/", 1)[-1] / "config.json").is_file()
    assert L._gguf_to_safetensors(gguf, None) == folder and reads == ["tokenizer", "model"]  # cached


def test_a_failed_conversion_leaves_nothing(fake_gguf, tmp_path, monkeypatch):
    import transformers

    gguf, _ = fake_gguf

    def boom(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(transformers.PreTrainedModel, "save_pretrained", boom)
    with pytest.raises(OSError):
        L._gguf_to_safetensors(gguf, None)
    assert not [p for p in (tmp_path / "models").iterdir()]
    assert not atomic.sweep_leftovers(tmp_path / "models", older_than_s=0)
