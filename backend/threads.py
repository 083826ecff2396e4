"""How many threads torch computes with in the app and the CLI: one, unless DUET_TORCH_THREADS says otherwise.

Why one: on a small machine shared with other work (2 cores, other jobs running) two torch threads
took 5-7x the CPU seconds and 2.5-7x the wall time of one for the same scoring, each spinning while
waiting for the other (bench/README.md, "Fair harness and the thread policy"). A quiet or bigger
machine may do better with more: DUET_TORCH_THREADS=N sets N, DUET_TORCH_THREADS=auto keeps torch's
own choice (one per core). The thread count does not change a score: each token's numbers come
from the same operations whichever thread runs them (tests/backend/test_threads.py checks it).

When: before the first model loads (backend/models/resident.py, the CLI). torch fixes a thread's count
the first time that thread computes, from the count last set; the app's scoring and sampling threads
first compute after their models load, so they run with it.
"""

from __future__ import annotations

import os
import threading

from backend.errors import DuetError

ENV = "DUET_TORCH_THREADS"
DEFAULT = 1

_lock = threading.Lock()
_applied: int | None = None  # what apply() set, once per process


def torch_threads() -> int | None:
    """The thread count the policy asks for; None: leave torch's own choice."""
    raw = os.environ.get(ENV, "").strip().lower()
    if not raw:
        return DEFAULT
    if raw == "auto":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise DuetError(f"{ENV} must be a whole number of threads or 'auto', not {raw!r}") from None
    if value < 1:
        raise DuetError(f"{ENV} must be at least 1 (or 'auto'), not {value}")
    return value


def apply() -> int:
    """Set torch's thread count from the policy, the first time in this process; return the count in use.
    Later calls change nothing, so a caller that chose its own count afterwards (a benchmark) keeps it."""
    global _applied
    import torch

    with _lock:
        if _applied is None:
            wanted = torch_threads()
            if wanted is not None:
                torch.set_num_threads(wanted)
            _applied = torch.get_num_threads()
        return _applied
