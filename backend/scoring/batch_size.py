"""The largest batch that fits on the GPU, measured rather than guessed.

The first batch of a scoring call runs at FIRST_BATCH_TOKENS_GPU tokens (longest rows first, so
it is the most demanding shape). Its peak memory above what was allocated before it gives the
bytes a token needs; the rest of the call is re-planned to fill MEMORY_MARGIN of the memory still
free. Out-of-memory still halves a batch and retries it (backend/scoring/score.py), so a wrong estimate
costs a retry, never a result.
"""

from __future__ import annotations

import torch

FIRST_BATCH_TOKENS_GPU = 65536
MAX_BATCH_TOKENS = 2**18  # 256 rows of 1,024 tokens; beyond this a GPU gains nothing from size
MEMORY_MARGIN = 0.8  # of the free memory: allocator fragmentation and shapes that differ a little


def fit_batch_tokens(peak_bytes: int, free_bytes: int, tokens: int, floor: int,
                     cap: int = MAX_BATCH_TOKENS, margin: float = MEMORY_MARGIN) -> int:
    """Tokens per batch that fit, given a batch of `tokens` that needed `peak_bytes` above the
    baseline and `free_bytes` the device can still give; never below floor (what already ran)."""
    if peak_bytes <= 0 or tokens <= 0:
        return floor
    per_token = peak_bytes / tokens
    return int(max(floor, min(cap, margin * free_bytes / per_token)))


class CudaMemoryProbe:
    """Peak memory of one batch above the baseline, and the memory left for a batch."""

    def __init__(self, device: str):
        self.device = torch.device(device)
        self.baseline = 0

    def start(self) -> None:
        torch.cuda.reset_peak_memory_stats(self.device)
        self.baseline = torch.cuda.memory_allocated(self.device)

    def reading(self) -> tuple[int, int]:
        """(peak bytes above the baseline, bytes a batch can use: free on the device + cached by torch)."""
        peak = torch.cuda.max_memory_allocated(self.device) - self.baseline
        free, _ = torch.cuda.mem_get_info(self.device)
        cached = torch.cuda.memory_reserved(self.device) - torch.cuda.memory_allocated(self.device)
        return peak, free + cached
