"""The embedded default pair, loaded through the real GGUF path, on a real paragraph (slow on first run)."""

from __future__ import annotations

import numpy as np
import pytest

from backend.models.loading import load_model
from backend.scoring.pair import combine
from backend.scoring.score import score_texts
from backend.models.specs import DEFAULT_PAIR, ModelSpec

pytestmark = pytest.mark.slow

PARAGRAPH = (
    "The quick brown fox jumps over the lazy dog. Meanwhile, in the small town of Ashford, "
    "the baker opened his shop at six o'clock, as he had done every morning for thirty years. "
    "He sold 42 loaves before noon."
)


@pytest.fixture(scope="module")
def embedded_pair():
    return [load_model(ModelSpec.parse(spec)) for spec in DEFAULT_PAIR]


def test_both_embedded_models_score_a_real_paragraph(embedded_pair):
    tables = [score_texts(m, [PARAGRAPH]) for m in embedded_pair]
    for loaded, table in zip(embedded_pair, tables):
        assert "".join(PARAGRAPH[s:e] for s, e in zip(table["char_start"], table["char_end"])) == PARAGRAPH
        assert table["logprob"].notna().all()  # both have BOS
        assert (table["logprob"] <= 0).all() and (table["entropy"] >= 0).all()
        # a real model predicts this famous sentence well: " over" after "jumps" is nearly certain
        over = table[table["token"].str.strip() == "over"].iloc[0]
        assert -over["logprob"] < 0.5, loaded.spec.label
    gemma = tables[1]
    quick = gemma[gemma["token"].str.strip() == "quick"].iloc[0]
    assert abs(-quick["logprob"] - 12.1) < 0.5  # the smoke value in docs/models.md
    result = combine([PARAGRAPH], tables[0], tables[1])
    assert result.words["delta"].notna().all()
    assert set(result.summary["model"]) == {"a", "b"}
    assert (result.summary["bits_per_byte"] > 0).all()


def test_second_load_comes_from_the_safetensors_cache(embedded_pair, monkeypatch):
    import backend.models.loading as loading

    def no_conversion(*args):
        raise AssertionError("the GGUF file was dequantised again")

    monkeypatch.setattr(loading, "_check_gguf_header", no_conversion)
    again = load_model(ModelSpec("smollm2-135m"))
    assert str(loading.model_cache_dir()) in again.model.name_or_path


def test_packing_keeps_scores_including_gemmas_sliding_window(embedded_pair):
    # Gemma 3 attends locally (512 tokens) in 5 layers of 6: a text longer than that, packed with
    # short ones, must still see exactly its own window in those layers.
    from backend.scoring.score import ScoreSettings

    long_text = " ".join([PARAGRAPH] * 14)  # about 650 Gemma tokens
    texts = [PARAGRAPH[:40], long_text, PARAGRAPH[:90]]
    for loaded in embedded_pair:
        alone = score_texts(loaded, texts, ScoreSettings(packing=False))
        packed = score_texts(loaded, texts, ScoreSettings(packing=True))
        assert loaded.packing is not False  # the check passed (or was not needed)
        np.testing.assert_allclose(packed["logprob"], alone["logprob"], atol=2e-4, rtol=0)
        np.testing.assert_allclose(packed["entropy"], alone["entropy"], atol=2e-4, rtol=0)
    # Two rows longer than the local window in one input, the second starting at 560: its hidden
    # states must be those it has alone.
    import torch

    from backend.scoring.packing import forward_packed, packed_inputs

    gemma = embedded_pair[1]
    ids = np.array(gemma.tokenizer(long_text, add_special_tokens=False)["input_ids"])
    assert len(ids) > 600
    first, second = ids[:560], ids[20:620]
    inputs, positions, starts = packed_inputs([[first, second]], pad_id=0)
    with torch.inference_mode():
        packed = forward_packed(gemma.model, torch.from_numpy(inputs), torch.from_numpy(positions))[0]
        alone = forward_packed(gemma.model, torch.from_numpy(second[None]), torch.arange(len(second))[None])[0]
    got = packed[starts[0][1] :]
    assert float((got - alone).abs().max()) < 1e-3 * float(alone.abs().max())


def test_packing_check_passes_in_bfloat16_too():
    # bfloat16 rounding moves Gemma's packed hidden states by up to 7e-2 of their norm: the check's
    # half-precision allowance must let that through (a GPU runs these models in bfloat16).
    from backend.scoring.packing import packing_works

    for spec in DEFAULT_PAIR:
        loaded = load_model(ModelSpec.parse(spec + ("&" if "?" in spec else "?") + "dtype=bfloat16"))
        assert packing_works(loaded.model, loaded.device), spec
