"""One chunk's head statistics (backend/scoring/logit_stats.py linear_chunk_stats) as one torch.compile'd function.

Eager, the chunk's float32 logits are read about eight times after the matmul (log-sum-exp, the
target's logit, log p, p log p, the rank comparison, top-k), each pass a kernel and a temporary as
large as the logits. Compiled, inductor fuses the elementwise work into the reductions, so the
logits are read two or three times and no [positions, vocab] temporary besides them is written.
Measured on this CPU (bench/README.md) the chunk statistics ran about 3x faster; on a GPU the
same fusion is what the memory-bound part of the head needs (bench.harness --compile-head).

One compile per process and head shape: the number of positions is marked dynamic, so the last,
shorter chunk of a call reuses the same code (a chunk of one position is padded to two, because
torch specialises sizes 0 and 1). Where compiling is impossible (no C++ compiler, no Triton),
the first call warns once and the caller goes on eagerly with the same numbers.
"""

from __future__ import annotations

import functools
import warnings

import torch

from backend.scoring.logit_stats import linear_chunk_stats


@functools.cache
def _compiled():
    return torch.compile(linear_chunk_stats)


_broken: list[str] = []  # why compiling failed in this process, if it did


def compiled_chunk_stats():
    """A function like linear_chunk_stats that returns None where compiling failed."""
    if _broken:
        return None
    return _call


def _call(hidden, targets, weight, bias, scale, softcap, top_k, word_start=None):
    n = hidden.shape[0]
    if n == 1:  # sizes 0 and 1 are always specialised: pad to 2 rather than compile again
        hidden, targets = hidden.repeat(2, 1), targets.repeat(2)
    torch._dynamo.mark_dynamic(hidden, 0)
    torch._dynamo.mark_dynamic(targets, 0)
    try:
        out = _compiled()(hidden, targets, weight, bias, scale, softcap, top_k, word_start)
    except Exception as error:  # noqa: BLE001 - any compiler failure falls back to eager
        if isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower():
            raise  # the caller halves the batch
        _broken.append(f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
        warnings.warn(f"the compiled head could not be built here ({_broken[0]}); using the eager head", stacklevel=2)
        return None
    return tuple(column[:n] for column in out)
