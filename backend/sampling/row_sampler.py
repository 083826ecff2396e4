"""The token choice of every row of a generate call, as a logits processor, with each step's statistics.

`RowSampler` chooses the token and generate itself runs greedy on the
one-hot scores it returns. Why:
  * each row draws its randomness from its own generator, seeded by
    (seed, prompt, sample id): a prompt's samples do not depend on which
    prompts share its call, on the batch size, or on anything else touching
    torch's global RNG (another browser session), and the batched path and a
    loop of single calls draw the same answers. Exactly so in exact
    arithmetic; in float32, padding moves logits by ~1e-5, which changes a
    draw only when it lands among the thousands of near-zero-probability
    tokens of the tail (measured: 52 of 55 SmolLM2 answers of 32 tokens
    identical; the others diverge at such a token);
  * one call mixes rows at different temperatures (samples and reference);
  * the processor sees each step's raw logits, so the chosen token's logprob,
    rank, top-k and the entropy under the UNTEMPERED distribution are recorded
    as they are made, in O(rows x vocab) memory. output_logits=True would keep
    steps x rows x vocab floats: 3.4 GB for Gemma's 262k vocabulary at
    50 rows x 64 steps.
The statistics are backend/scoring/logit_stats.py's, so they are the scorer's for the same logits.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math

import numpy as np
import torch
from transformers import LogitsProcessor, StoppingCriteria

from backend.sampling.prompts import LineWatch
from backend.scoring.logit_stats import entropy, entropy_with_masked_tokens, log_probs, target_stats, top_logits

TOP_K = 5  # alternatives kept per token, for the heatmap's tooltips


def row_seed(seed: int, model_input_text: str, sample_id: int) -> int:
    """A row's generator seed: the same prompt and sample id give the same draws in any batch."""
    digest = hashlib.sha256(f"{seed}|{sample_id}|{model_input_text}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


class RowSampler(LogitsProcessor):
    """Chooses every row's next token; records its untempered logprob and entropy.

    temperatures: [rows]; uniforms: [rows, steps] float64 in [0, 1), one draw
    per row per step (inverse-CDF sampling needs one number, not one per
    vocabulary entry). Returns scores that are 0 at the chosen token and -inf
    elsewhere, so greedy decoding picks exactly it.
    """

    def __init__(self, temperatures: torch.Tensor, top_p: float, uniforms: torch.Tensor, on_step=None, piece=None):
        self.temperatures = temperatures
        self.top_p = top_p
        self.uniforms = uniforms
        self.on_step = on_step
        self.ids: list[torch.Tensor] = []
        self.logprobs: list[torch.Tensor] = []
        self.entropies: list[torch.Tensor] = []
        self.ranks: list[torch.Tensor] = []
        self.topk_logprobs: list[torch.Tensor] = []
        self.topk_ids: list[torch.Tensor] = []
        # Single-line mode: per-row watchers, and which rows have ended their line.
        self.piece = piece
        self.watches = [LineWatch() for _ in range(len(temperatures))] if piece is not None else None
        self.line_ended = torch.zeros(len(temperatures), dtype=torch.bool, device=temperatures.device)
        self.line_end_step = np.full(len(temperatures), -1, dtype=np.int64)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        # Every pass over [rows, vocab] costs as much as a slice of the head's matmul
        # (Gemma: 262k entries a row), so this does as few full passes as it can.
        step = len(self.ids)
        logits = scores.float()
        lse, logp = log_probs(logits)
        p = logp.exp()  # shared by the entropy and the draw: one exp pass
        h = entropy_with_masked_tokens(entropy(logp, p), logp, p)
        u = self.uniforms[:, min(step, self.uniforms.shape[1] - 1)]
        if self.top_p < 1.0:
            chosen = _inverse_cdf(_nucleus(self._tempered(logits, p, None), self.top_p), u)
        else:
            # Rows at temperature 1 sample from p itself; only the others need their own softmax.
            chosen = _inverse_cdf(p, u)
            other = torch.nonzero(self.temperatures != 1.0).squeeze(1)
            if len(other):
                chosen[other] = _inverse_cdf(self._tempered(logits, p, other), u[other])
        top_values, top_ids = top_logits(logits, TOP_K)
        # The rank from the top k where the chosen token is in it: no extra pass for most rows.
        logprob, rank = target_stats(logits, lse, chosen, top=(top_values, top_ids))
        self.ids.append(chosen)
        self.logprobs.append(logprob)
        self.entropies.append(h)
        self.ranks.append(rank)
        self.topk_logprobs.append(top_values - lse[:, None])
        self.topk_ids.append(top_ids)
        if self.watches is not None:
            for row, token in enumerate(chosen.tolist()):
                if self.line_end_step[row] < 0 and self.watches[row].ends_line(self.piece(token)):
                    self.line_ended[row] = True
                    self.line_end_step[row] = step
        if self.on_step is not None:
            self.on_step(step + 1)
        # Greedy decoding takes the argmax: make it the chosen token, in place (no new [rows, vocab] tensor).
        return scores.scatter_(1, chosen[:, None], math.inf)

    def _tempered(self, logits: torch.Tensor, p: torch.Tensor, rows: torch.Tensor | None) -> torch.Tensor:
        """softmax(logits / T) of the given rows (None: all rows)."""
        if rows is None:
            if bool((self.temperatures == 1.0).all()):
                return p
            return torch.softmax(logits / self.temperatures[:, None], dim=-1)
        return torch.softmax(logits[rows] / self.temperatures[rows, None], dim=-1)

    def recorded(self, steps: int) -> "Recorded":
        """What the first `steps` steps chose and measured, as [rows, steps(, k)] arrays."""
        rows = len(self.temperatures)
        if not self.ids or steps == 0:
            empty = np.zeros((rows, 0))
            return Recorded(empty.astype(np.int64), empty, empty, empty, np.zeros((rows, 0, TOP_K)), np.zeros((rows, 0, TOP_K), np.int64))

        def stacked(parts, dtype=None):
            out = torch.stack(parts[:steps], 1)
            return (out.double() if dtype == "float" else out).cpu().numpy()

        return Recorded(
            ids=stacked(self.ids),
            logprobs=stacked(self.logprobs, "float"),
            entropies=stacked(self.entropies, "float"),
            ranks=stacked(self.ranks, "float"),
            topk_logprobs=stacked(self.topk_logprobs, "float"),
            topk_ids=stacked(self.topk_ids),
        )


@dataclasses.dataclass
class Recorded:
    ids: np.ndarray  # [rows, steps]
    logprobs: np.ndarray  # [rows, steps] nats, untempered
    entropies: np.ndarray  # [rows, steps] nats
    ranks: np.ndarray  # [rows, steps]
    topk_logprobs: np.ndarray  # [rows, steps, k]
    topk_ids: np.ndarray  # [rows, steps, k]


class LineEnded(StoppingCriteria):
    """Stops a row once its first line has ended (single-line answers): saves the decoding past it."""

    def __init__(self, sampler: RowSampler):
        self.sampler = sampler

    def __call__(self, input_ids, scores, **kwargs) -> torch.BoolTensor:
        return self.sampler.line_ended.clone()


def _nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of most likely tokens whose mass reaches top_p (at least one)."""
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    before = sorted_probs.cumsum(-1) - sorted_probs  # mass of the tokens ranked above
    sorted_probs = sorted_probs.masked_fill(before >= top_p, 0.0)
    return torch.zeros_like(probs).scatter_(1, order, sorted_probs)


def _inverse_cdf(probs: torch.Tensor, u: torch.Tensor, block: int = 1024) -> torch.Tensor:
    """[rows] token ids: for each row the first token whose cumulative probability exceeds u * total.

    Two levels, so that only one pass touches the whole vocabulary: float64
    sums of blocks of `block` tokens, a cumulative sum over the blocks, then a
    float64 cumulative sum inside the one block that holds the draw. (A single
    float64 cumsum over Gemma's 262k entries costs several passes; a float32
    one drifts by up to ~1% over that many terms and would bias the tail.)
    """
    rows, vocab = probs.shape
    pad = (-vocab) % block
    blocks = (torch.nn.functional.pad(probs, (0, pad)) if pad else probs).view(rows, -1, block)
    # A block's own sum in float32 (1024 terms: ~1e-7 relative error), the running sum in float64.
    cumulative = blocks.sum(-1).double().cumsum(-1)  # [rows, n_blocks]
    target = u.to(cumulative.dtype) * cumulative[:, -1]
    # right=True: the first position whose cumulative mass exceeds the target, which has p > 0.
    b = torch.searchsorted(cumulative, target[:, None], right=True).squeeze(1).clamp_(max=blocks.shape[1] - 1)
    before = torch.where(b > 0, cumulative.gather(1, (b - 1).clamp(min=0)[:, None]).squeeze(1), 0.0)
    inside = blocks[torch.arange(rows, device=probs.device), b].double().cumsum(-1)  # [rows, block]
    j = torch.searchsorted(inside, (target - before)[:, None], right=True).squeeze(1).clamp_(max=block - 1)
    chosen = (b * block + j).clamp_(max=vocab - 1)
    zero = probs.gather(1, chosen[:, None]).squeeze(1) == 0  # only by round-off at a block's end
    if zero.any():
        chosen[zero] = probs[zero].argmax(-1)
    return chosen

