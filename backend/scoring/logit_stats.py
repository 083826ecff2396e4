"""Next-token statistics of float32 logits (logprob, entropy, rank, top-k): the one place they are computed.

The scorer's head (backend/scoring/head.py, eager and torch.compile'd), the sampler
(backend/sampling/row_sampler.py) and the same-vocabulary divergences (backend/scoring/same_vocab.py)
all call these functions, so the same logits give the same bits on every path: a sampled token's
logprob, entropy and rank are the ones the scorer gives it (tests/backend/test_sampling.py).

Shapes: logits [n, vocab] float32, after the head's scale and soft-capping, one row per position;
targets [n] token ids. The next-token shift is the caller's. Units: nats.
"""

from __future__ import annotations

import torch


def scaled_logits(logits: torch.Tensor, scale: float, softcap: float | None) -> torch.Tensor:
    """A head's raw output -> the logits the model samples from (Cohere/Granite scale, Gemma 2 soft-capping)."""
    if scale != 1.0:
        logits = logits * scale
    if softcap is not None:
        logits = torch.tanh(logits / softcap) * softcap
    return logits


def log_probs(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(log-sum-exp [n], log p [n, vocab]) with log p = logit - lse.

    Not torch.log_softmax: the target's logprob is taken as its logit - lse without the
    [n, vocab] log p (see logit_stats), and the two must agree to the bit with log p here.
    """
    lse = torch.logsumexp(logits, dim=-1)
    return lse, logits - lse[:, None]


def entropy(logp: torch.Tensor, p: torch.Tensor | None = None) -> torch.Tensor:
    """[n] nats, H = -sum p log p from log p (p = exp(log p), passed in when the caller already has it).

    Not lse - sum(softmax * logit): that form subtracts two numbers near the largest logit, and
    with float32 softmax weights it was off by up to 1e-3 (SmolLM2) and 4e-3 nats (Gemma, logits
    down to -120) against float64 maths on the same logits; this form stays within 2e-5
    (tests/backend/test_head_stats.py).
    """
    if p is None:
        p = logp.exp()
    return -(p * logp).sum(-1)


def entropy_with_masked_tokens(h: torch.Tensor, logp: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """entropy() where a row's logits had -inf entries: there p log p is 0 * -inf = NaN; 0 log 0 = 0 instead.

    Only a logits processor's mask makes -inf logits (a model's head does not), so the sampler calls
    this and the scorer does not; rows without -inf keep their bits.
    """
    bad = torch.isnan(h)
    if bad.any():
        h = h.clone()
        h[bad] = -(p[bad] * logp[bad].masked_fill(p[bad] == 0, 0.0)).sum(-1)
    return h


def target_stats(logits: torch.Tensor, lse: torch.Tensor, targets: torch.Tensor,
                 top: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(logprob [n] nats, rank [n]) of each row's target; rank = 1 + tokens with a strictly higher logit.

    top: (values, ids) of top_logits(); where a target is among them its rank is counted there
    (every token above it is too), so only the other rows need a pass over the vocabulary. Same
    numbers with or without it; the scorer leaves it out (no data-dependent branch to compile).
    """
    target_logit = logits.gather(1, targets[:, None]).squeeze(1)
    if top is None:
        rank = (logits > target_logit[:, None]).sum(-1) + 1
    else:
        top_values, top_ids = top
        rank = (top_values > target_logit[:, None]).sum(-1) + 1
        outside = torch.nonzero(~(top_ids == targets[:, None]).any(-1)).squeeze(1)
        if len(outside):
            rows = logits[outside]
            rank[outside] = (rows > target_logit[outside, None]).sum(-1) + 1
    return target_logit - lse, rank


def top_logits(logits: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(values [n, k], ids [n, k]) of the k largest logits, best first; logprobs are values - lse."""
    return logits.topk(min(k, logits.shape[-1]), dim=-1)


def word_start_logprob(logits: torch.Tensor, lse: torch.Tensor, word_start: torch.Tensor | None) -> torch.Tensor:
    """[n] nats, log Σ p(t) over the word-starting tokens (ids `word_start`, backend/scoring/word_start.py).

    One log-sum-exp over those columns: a [n, |word_start|] temporary, never [n, vocab] beside the
    logits. NaN for every row when no ids are given.
    """
    if word_start is None:
        return torch.full_like(lse, float("nan"))
    return torch.logsumexp(logits.index_select(1, word_start), dim=-1) - lse


def logit_stats(logits: torch.Tensor, targets: torch.Tensor, top_k: int, word_start: torch.Tensor | None = None):
    """(logprob [n], entropy [n], rank [n], top-k logprobs [n, k], top-k ids [n, k], word-start logprob [n]).

    One [n, vocab] temporary at a time besides the logits (log p is freed before the rank pass).
    """
    lse, logp = log_probs(logits)
    h = entropy(logp)
    del logp
    logprob, rank = target_stats(logits, lse, targets)
    top_values, top_ids = top_logits(logits, top_k)
    return logprob, h, rank, top_values - lse[:, None], top_ids, word_start_logprob(logits, lse, word_start)


def linear_chunk_stats(hidden, targets, weight, bias, scale: float, softcap: float | None, top_k: int, word_start=None):
    """logit_stats of one chunk of hidden states through a plain Linear head (float32 maths).

    The function backend/scoring/compiled_head.py compiles; eager, Head.logits then logit_stats do the same.
    """
    logits = scaled_logits(torch.nn.functional.linear(hidden.float(), weight, bias), scale, softcap)
    return logit_stats(logits, targets, top_k, word_start)
