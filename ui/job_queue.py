"""Server-wide job slots: at most max_concurrent_jobs jobs run at once across all sessions; the rest wait in order.

Every browser session shares the process's models and its CPU or GPU, so the limit is one queue per
process (module level), not per session. A job enters with a launch function: it launches at once
when a slot is free and nothing waits ahead of it, else it waits, first come first served, and
launches on the thread of the job whose end freed the slot. The limit is read from the operator's
settings at every change, so an edit of duet.toml takes effect without a restart. No streamlit here:
the pages draw positions from position() and snapshot().
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from backend.policy import OperatorSettings, SettingsError, load_settings

_lock = threading.Lock()
_running: list = []  # jobs holding a slot, in the order they got it
_waiting: list[tuple[Any, Callable[[Any], bool]]] = []  # (job, launch), first come first served
_last_limit = OperatorSettings().max_concurrent_jobs


def limit() -> int:
    """max_concurrent_jobs from the operator's settings (the last good value while the file is invalid)."""
    global _last_limit
    try:
        _last_limit = load_settings().max_concurrent_jobs
    except SettingsError:
        pass  # app.py stops the pages with the file's error; jobs already queued keep the last good limit
    return _last_limit


def submit(job, launch: Callable[[Any], bool]) -> bool:
    """Queue job; launch(job) is called once it has a slot (now, or when a running job ends). True: it launched now.

    launch only starts a thread and must not raise; it returns False when it could not (the slot is
    then free again). It runs under the queue's lock, so that a job is never both withdrawn and launched.
    """
    with _lock:
        _waiting.append((job, launch))
    _fill()
    with _lock:
        return any(j is job for j in _running)


def finished(job) -> None:
    """The job ended (any way): its slot goes to the next waiting job. A job never queued is ignored."""
    with _lock:
        for i, held in enumerate(_running):
            if held is job:
                del _running[i]
                break
    _fill()


def withdraw(job) -> bool:
    """Take a waiting job out of the queue (its Cancel). False when it is not waiting (it launched meanwhile)."""
    with _lock:
        for i, (waiting, _) in enumerate(_waiting):
            if waiting is job:
                del _waiting[i]
                return True
    return False


def position(job) -> tuple[int, int] | None:
    """(1-based place, number waiting) while job waits, else None."""
    with _lock:
        for i, (waiting, _) in enumerate(_waiting):
            if waiting is job:
                return i + 1, len(_waiting)
    return None


def snapshot() -> tuple[list, list]:
    """(running jobs, waiting jobs in queue order), copies taken under the lock."""
    with _lock:
        return list(_running), [job for job, _ in _waiting]


def _fill() -> None:
    n = limit()  # a file read: outside the lock
    with _lock:
        while _waiting and len(_running) < n:
            job, launch = _waiting.pop(0)
            _running.append(job)
            if not launch(job):
                _running.remove(job)
