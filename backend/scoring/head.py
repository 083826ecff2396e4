"""Next-token statistics from hidden states, computed through the output head in chunks.

A float32 [positions, vocab] logits tensor for Gemma's 262,144-token vocabulary
is 1 MiB per position; at batch 64 x 512 tokens that is 32 GiB, times the
temporaries of log_softmax. So the head runs on a chunk of positions at a
time, and only per-position statistics (a few floats and the top-k) leave it.
Head maths is float32 whatever the model's dtype.

On a GPU the float32 head matmul would run on the plain FP32 units (TF32 is off
by default because it rounds inputs to 10 mantissa bits). For a bf16 or fp16
model that rounding never happens: both operands came from bf16/fp16 values (7
or 10 mantissa bits, exponents within float32's), so TF32 holds them exactly,
each product of two 11-bit significands fits float32's 24 bits, and tensor
cores accumulate in float32. So for those models the head turns TF32 on, and
gets tensor-core speed with the same float32 numbers (up to summation order).
"""

from __future__ import annotations

import contextlib
import dataclasses

import torch

from backend.scoring.compiled_head import compiled_chunk_stats
from backend.scoring.logit_stats import log_probs, logit_stats, scaled_logits, word_start_logprob

# Dtypes whose every value TF32 (1 sign, 8 exponent, 10 mantissa bits) represents exactly.
TF32_EXACT_DTYPES = (torch.bfloat16, torch.float16)

DEFAULT_CHUNK_BYTES = 256 * 2**20  # float32 logits per chunk; the temporaries about triple it


@dataclasses.dataclass
class Head:
    """The output head of a model, prepared once per scoring call."""

    module: torch.nn.Module
    weight: torch.Tensor | None  # float32 copy of a plain Linear head, else None
    bias: torch.Tensor | None
    softcap: float | None  # Gemma 2 style final logit soft-capping
    scale: float  # multiplier on logits (Cohere logit_scale, Granite 1/logits_scaling)
    tf32_exact: bool = False  # weight and hidden states come from TF32_EXACT_DTYPES (see the module note)

    @classmethod
    def of(cls, model) -> "Head":
        module = model.get_output_embeddings()
        config = model.config
        weight = bias = None
        tf32_exact = False
        if type(module) is torch.nn.Linear:
            tf32_exact = module.weight.dtype in TF32_EXACT_DTYPES and (
                module.bias is None or module.bias.dtype in TF32_EXACT_DTYPES)
            weight = module.weight.detach().float()
            bias = None if module.bias is None else module.bias.detach().float()
        scale = float(getattr(config, "logit_scale", None) or 1.0)
        if getattr(config, "logits_scaling", None):
            scale /= float(config.logits_scaling)
        softcap = getattr(config, "final_logit_softcapping", None)
        return cls(module, weight, bias, float(softcap) if softcap else None, scale, tf32_exact)

    @property
    def vocab_size(self) -> int:
        return head_vocab_size(self.module)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """[n, d] hidden states -> [n, vocab] float32 logits."""
        if self.weight is not None:
            exact = self.tf32_exact and hidden.is_cuda and hidden.dtype in TF32_EXACT_DTYPES
            with tf32_matmul(exact):
                out = torch.nn.functional.linear(hidden.float(), self.weight, self.bias)
        else:  # quantised or custom heads: let the module do its own maths
            out = self.module(hidden).float()
        return scaled_logits(out, self.scale, self.softcap)


@contextlib.contextmanager
def tf32_matmul(enabled: bool):
    """TF32 for CUDA float32 matmuls inside the block (only where it is exact: see the module note)."""
    if not enabled:
        yield
        return
    matmul = torch.backends.cuda.matmul
    before = matmul.fp32_precision
    matmul.fp32_precision = "tf32"
    try:
        yield
    finally:
        matmul.fp32_precision = before


def head_vocab_size(module) -> int:
    """Rows of the output head; quantised Linear layers expose out_features, not a weight tensor."""
    out_features = getattr(module, "out_features", None)
    return int(out_features) if out_features else int(module.weight.shape[0])


@dataclasses.dataclass
class PositionStats:
    logprob: torch.Tensor  # [n] nats
    entropy: torch.Tensor  # [n] nats
    rank: torch.Tensor  # [n] 1 + number of strictly higher logits (ties get the best rank)
    topk_logprobs: torch.Tensor  # [n, k] nats, best first
    topk_ids: torch.Tensor  # [n, k]
    word_start_logprob: torch.Tensor  # [n] nats, log P(the token here starts a new word or ends the text)


def chunk_size(vocab_size: int, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> int:
    return max(1, chunk_bytes // (4 * vocab_size))


def position_stats(head: Head, hidden: torch.Tensor, targets: torch.Tensor, top_k: int, chunk_positions: int,
                   word_start: torch.Tensor | None = None, compiled: bool = False) -> PositionStats:
    """Statistics of p(. | context) at each of n positions, and of the target token under it.

    hidden: [n, d], the state at the position *before* each target (the shift
    is the caller's). targets: [n] token ids. word_start: ids of the word-starting tokens
    (backend/scoring/word_start.py), on the hidden states' device. compiled: run each chunk through the torch.compile'd
    head (backend/scoring/compiled_head.py) where the head is a plain Linear; same numbers up to rounding.
    Either way the statistics are backend/scoring/logit_stats.py's.
    """
    fused = compiled_chunk_stats() if compiled and head.weight is not None else None
    parts = []
    for start in range(0, hidden.shape[0], chunk_positions):
        chunk, chunk_targets = hidden[start : start + chunk_positions], targets[start : start + chunk_positions]
        if fused is not None:
            exact = head.tf32_exact and chunk.is_cuda and chunk.dtype in TF32_EXACT_DTYPES
            with tf32_matmul(exact):
                part = fused(chunk, chunk_targets.to(chunk.device), head.weight, head.bias, head.scale, head.softcap, top_k,
                             word_start)
            if part is not None:
                parts.append(part)
                continue
            fused = None  # it could not compile here: eager for the rest (a warning said so)
        logits = head.logits(chunk)
        parts.append(logit_stats(logits, chunk_targets.to(logits.device), top_k, word_start))
    if not parts:
        empty = torch.empty(0, device=hidden.device)
        return PositionStats(empty, empty, empty.long(), empty.view(0, top_k), empty.view(0, top_k).long(), empty)
    return PositionStats(*(torch.cat(column) for column in zip(*parts)))


def word_start_only(head: Head, hidden: torch.Tensor, word_start: torch.Tensor, chunk_positions: int) -> torch.Tensor:
    """[n] word-start logprob of the distribution after each hidden state, with no target (a text's last token)."""
    parts = []
    for start in range(0, hidden.shape[0], chunk_positions):
        logits = head.logits(hidden[start : start + chunk_positions])
        lse, _ = log_probs(logits)
        parts.append(word_start_logprob(logits, lse, word_start))
    return torch.cat(parts) if parts else torch.empty(0, device=hidden.device)

