"""The head's TF32 rule: turned on only where TF32 changes no input (bf16/fp16 models), and always put back."""

from __future__ import annotations

import pytest
import torch

from backend.scoring.head import Head, tf32_matmul


def tf32_round(x: torch.Tensor) -> torch.Tensor:
    """float32 -> the nearest TF32 value (10 mantissa bits), as tensor cores read their inputs."""
    bits = x.float().contiguous().view(torch.int32)
    low = 13  # 23 - 10 mantissa bits dropped
    rounded = (bits + (1 << (low - 1))) & ~((1 << low) - 1)
    return rounded.view(torch.float32)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_tf32_holds_bf16_and_fp16_values_exactly(dtype):
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(4096, generator=g) * torch.logspace(-3, 3, 4096)).to(dtype).float()
    assert torch.equal(tf32_round(x), x)


def test_tf32_would_round_float32_values():
    # The reason the rule exists: a float32 model's weights are not TF32 values.
    x = torch.randn(4096, generator=torch.Generator().manual_seed(0))
    assert (tf32_round(x) != x).float().mean() > 0.9


def test_exact_inputs_give_the_float32_product():
    """With TF32-exact inputs, a matmul on TF32-rounded operands is the float32 matmul."""
    g = torch.Generator().manual_seed(1)
    h = torch.randn(8, 64, generator=g).bfloat16().float()
    w = torch.randn(100, 64, generator=g).bfloat16().float()
    exact = h.double() @ w.double().T
    emulated = tf32_round(h).double() @ tf32_round(w).double().T
    assert torch.equal(emulated, exact)


def _model_with_head(dtype):
    head = torch.nn.Linear(16, 50, bias=False).to(dtype)

    class Tiny(torch.nn.Module):
        config = type("Config", (), {})()

        def get_output_embeddings(self):
            return head

    return Tiny()


@pytest.mark.parametrize("dtype, want", [(torch.bfloat16, True), (torch.float16, True), (torch.float32, False)])
def test_head_turns_tf32_on_only_for_low_precision_models(dtype, want):
    head = Head.of(_model_with_head(dtype))
    assert head.tf32_exact is want
    assert head.weight.dtype == torch.float32


def test_tf32_matmul_puts_the_setting_back():
    matmul = torch.backends.cuda.matmul
    before = matmul.fp32_precision
    with tf32_matmul(True):
        assert matmul.fp32_precision == "tf32"
    assert matmul.fp32_precision == before
    with pytest.raises(ValueError):
        with tf32_matmul(True):
            raise ValueError("inside")
    assert matmul.fp32_precision == before
    with tf32_matmul(False):
        assert matmul.fp32_precision == before


def test_head_logits_on_cpu_match_a_float64_reference():
    head = Head.of(_model_with_head(torch.bfloat16))
    hidden = torch.randn(5, 16, generator=torch.Generator().manual_seed(2)).bfloat16()
    want = hidden.double() @ head.module.weight.double().T
    torch.testing.assert_close(head.logits(hidden).double(), want, rtol=1e-6, atol=1e-6)


def test_entropy_of_wide_logits_matches_float64():
    """A Gemma-sized vocabulary with flat-ish distributions far from zero (entropy 4-8 nats, logits
    around +30, -30 and 0): float32 statistics within 1e-4 nats of float64 maths on the same logits.
    The old lse - Σ softmax·logit form was 7e-4 to 1.2e-3 off on exactly these logits."""
    from backend.scoring.logit_stats import logit_stats

    g = torch.Generator().manual_seed(3)
    vocab = 262_144
    logits = torch.cat([torch.randn(2, vocab, generator=g) * scale + shift
                        for scale, shift in ((3, 30), (3, -30), (4, 0))])
    targets = torch.randint(0, vocab, (logits.shape[0],), generator=g)
    targets[0] = int(logits[0].argmax())
    logprob, entropy, rank, top_lp, top_ids, _ = logit_stats(logits, targets, 5)
    lp64 = torch.log_softmax(logits.double(), -1)
    want_entropy = -(lp64.exp() * lp64).sum(-1)
    want_logprob = lp64.gather(1, targets[:, None]).squeeze(1)
    assert want_entropy.min() > 3  # the regime where the old form failed
    assert (entropy.double() - want_entropy).abs().max() < 1e-4
    assert (logprob.double() - want_logprob).abs().max() < 1e-4
    assert rank[0] == 1 and (top_lp[:, 0].double() - lp64.max(-1).values).abs().max() < 1e-4
