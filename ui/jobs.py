"""Long work off the script thread: one job per session and kind, with progress, a rate, an ETA and Cancel.

A job runs its work on a daemon thread and never calls st.*: the page polls it from a small
fragment (st.fragment(run_every=...)), so only the progress area reruns while it works and the
rest of the page stays usable. Cancel sets an event; the work's progress callbacks call
Job.report, which raises Cancelled at the next batch, so a job stops within one batch and the
work keeps what it finished. A job whose tab is closed or refreshed is not orphaned: it runs to
its end and saves what it made (scores as a run on the Runs page, samples in the sample store,
BehaviorBox with its run), as it would with the tab open; nothing is left half-written.

Jobs of all sessions share max_concurrent_jobs slots (ui/job_queue.py): a job started while they are
all taken waits as "queued", shows its place in the queue with a Cancel that takes it out, and starts
by itself when a slot frees.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from typing import Any, Callable

import streamlit as st

from backend.errors import user_message
from ui import job_queue

POLL_S = 0.5  # how often the progress area reruns while a job works
JOBS = "_jobs"  # session_state key: {kind: Job}
ACTIVE = ("queued", "running")  # states of a job that has not ended
_ids = itertools.count(1)


class Cancelled(BaseException):
    """Raised in the work by Job.report after Cancel.

    A BaseException, not an Exception: the backend catches Exception per model (one model may fail and the
    other still run), and a cancel must stop both, not read as one model's failure.
    """


@dataclasses.dataclass(eq=False)
class Job:
    kind: str  # "score" | "sample" | "behaviorbox"
    label: str  # what it does, for the progress area ("Scoring 3 texts")
    unit: str = "units"  # what done and total count, in the user's words ("characters", "samples", "steps")
    done: float = 0.0
    total: float = 0.0
    note: str = ""  # the current stage, one line
    state: str = "running"  # queued (waiting for a server-wide slot) | running | done | cancelled | failed
    result: Any = None  # what the work returned (a partial result after a cancel), once it ends
    error: str | None = None  # one line, when the work failed
    lines: list = dataclasses.field(default_factory=list)  # notes for the summary box after the end
    started: float = dataclasses.field(default_factory=time.monotonic)
    finished: float | None = None
    taken: bool = False  # the page has shown its end once
    tag: str = ""  # what the work is for, when a page holds several (BehaviorBox: the run's key)
    session: str = ""  # the browser session that started it (the Runs page lists every session's jobs)
    user: str | None = None  # who started it, when the server has logins
    id: int = dataclasses.field(default_factory=lambda: next(_ids))
    _counting: float | None = None  # when done started counting (after model loads), for the rate
    _cancel: threading.Event = dataclasses.field(default_factory=threading.Event)

    def report(self, done: float, total: float | None = None, note: str | None = None) -> None:
        """Progress from the work (any thread); raises Cancelled once Cancel was pressed."""
        if self._counting is None:
            self._counting = time.monotonic()
        self.done = float(done)
        if total is not None:
            self.total = float(total)
        if note is not None:
            self.note = note
        self.check()

    def new_stage(self, unit: str) -> None:
        """The work moved to a stage counted in other units: its own rate and ETA from here."""
        self.unit, self._counting, self.done, self.total = unit, None, 0.0, 0.0

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def cancel(self) -> None:
        self._cancel.set()
        if job_queue.withdraw(self):  # still waiting for a slot: it ends here, without having run
            self.state, self.finished = "cancelled", time.monotonic()

    @property
    def cancelling(self) -> bool:
        return self._cancel.is_set()

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def rate(self) -> float | None:
        """Units per second since counting began; None before there is anything to divide."""
        if self._counting is None or self.done <= 0:
            return None
        seconds = time.monotonic() - self._counting
        return self.done / seconds if seconds > 0.2 else None

    def eta_s(self) -> float | None:
        rate = self.rate()
        if rate is None or self.total <= 0:
            return None
        return max(0.0, (self.total - self.done) / rate)

    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total > 0 else 0.0

    def progress_text(self) -> str:
        """One line: units done of total, rate, time left, and the current stage."""
        parts = []
        if self.total > 0:
            parts.append(f"{self.done:,.0f} of {self.total:,.0f} {self.unit}")
        rate, eta = self.rate(), self.eta_s()
        if rate is not None:
            parts.append(f"{rate:,.0f} {self.unit}/s" if rate >= 10 else f"{rate:,.1f} {self.unit}/s")
        if eta is not None:
            parts.append(f"about {duration(eta)} left")
        parts.append(f"{duration(self.elapsed)} so far")
        line = " · ".join(parts)
        return f"{self.note} — {line}" if self.note else line


def duration(seconds: float) -> str:
    """A short human duration: 45 s, 3 min 10 s, 1 h 05 min."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _registry() -> dict:
    return st.session_state.setdefault(JOBS, {})


def current(kind: str) -> Job | None:
    return _registry().get(kind)


def running(kind: str) -> bool:
    """Whether this session's job of kind has not ended yet (running, or queued for a slot)."""
    job = current(kind)
    return job is not None and job.state in ACTIVE


def start(kind: str, label: str, work: Callable[[Job], Any], unit: str = "units", tag: str = "") -> Job:
    """Run work(job) on a thread once a server-wide slot is free (at once when one is); the job replaces this
    session's earlier one of this kind (not one that has not ended)."""
    if running(kind):
        raise RuntimeError(f"a {kind} job is already running in this session")
    job = Job(kind=kind, label=label, unit=unit, tag=tag, state="queued", session=session_id(), user=current_user())
    _registry()[kind] = job
    job_queue.submit(job, lambda queued: _launch(queued, work))
    return job


def _launch(job: Job, work: Callable[[Job], Any]) -> bool:
    """Called by the queue when job has a slot: its thread starts. False (the job failed) when no thread could."""
    job.state, job.started = "running", time.monotonic()
    try:
        threading.Thread(target=_main, args=(job, work), name=f"duet-{job.kind}", daemon=True).start()
    except RuntimeError as error:  # the process cannot start another thread
        job.error, job.state, job.finished = user_message(error), "failed", time.monotonic()
        return False
    return True


def session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


def current_user() -> str | None:
    try:
        return st.user.get("email") if st.user.is_logged_in else None
    except Exception:  # noqa: BLE001 - no login configured on this server
        return None


def _main(job: Job, work: Callable[[Job], Any]) -> None:
    try:
        job.result = work(job)
        job.state = "cancelled" if job.cancelling else "done"
    except Cancelled:
        job.state = "cancelled"
    except Exception as error:  # noqa: BLE001 - shown on the page, one line
        job.error = user_message(error)
        job.state = "failed"
    finally:
        job.finished = time.monotonic()
        job_queue.finished(job)  # the next queued job (any session's) starts on this thread


def take(kind: str) -> Job | None:
    """A job of this kind that ended and has not been shown yet, once (the page then shows its result)."""
    job = current(kind)
    if job is None or job.state in ACTIVE or job.taken:
        return None
    job.taken = True
    return job


def wait(kind: str, timeout: float = 600.0) -> Job | None:
    """Block until this session's job of kind ends (scripts and tests; pages poll instead)."""
    job = current(kind)
    deadline = time.monotonic() + timeout
    while job is not None and job.state in ACTIVE and time.monotonic() < deadline:
        time.sleep(0.05)
    return job


def _pending_key(kind: str) -> str:
    return f"_job_pending_{kind}"


def start_or_ask(kind: str, label: str, work: Callable[[Job], Any], unit: str, estimate, what: str,
                 note: str = "", tag: str = "") -> bool:
    """Start the job, or, when estimate (ui/throughput.Estimate) is over a minute, ask first (area() draws the
    question). True when it started."""
    st.session_state.pop(_pending_key(kind), None)
    if estimate is not None and estimate.needs_confirmation:
        st.session_state[_pending_key(kind)] = dict(label=label, work=work, unit=unit, estimate=estimate, what=what,
                                                        note=note, tag=tag)
        return False
    start(kind, label, work, unit, tag)
    return True


def pending(kind: str, tag: str | None = None) -> bool:
    """Whether a job of kind (for tag, when given) waits for the user's go-ahead."""
    asked = st.session_state.get(_pending_key(kind))
    return asked is not None and (tag is None or asked["tag"] == tag)


def _go_on(kind: str) -> None:
    pending = st.session_state.pop(_pending_key(kind), None)
    if pending is not None and not running(kind):
        start(kind, pending["label"], pending["work"], pending["unit"], pending["tag"])


def _ask(kind: str) -> None:
    pending = st.session_state.get(_pending_key(kind))
    if pending is None:
        return
    estimate = pending["estimate"]
    basis = ("from this machine's measured speed of these models" if estimate.measured else
             "a cautious first guess: these models have not been timed on this machine yet")
    with st.container(border=True, key=f"job_ask_{kind}"):
        st.warning(f"{pending['what']} should take about **{duration(estimate.seconds)}** ({basis}). "
                   f"{pending['note']} You can cancel it at any point and keep what finished.".replace("  ", " "),
                   icon=":material/schedule:")
        with st.container(horizontal=True):
            st.button("Go on", key=f"job_go_{kind}", type="primary", on_click=_go_on, args=(kind,))
            st.button("Not now", key=f"job_not_now_{kind}",
                      on_click=lambda: st.session_state.pop(_pending_key(kind), None))


def area(kind: str) -> None:
    """The question before long work, then, while a job of kind runs, its progress bar (always open) and
    Cancel, polled alone rather than the page."""
    _ask(kind)
    if running(kind):
        st.fragment(_poll, run_every=POLL_S)(kind)


def _poll(kind: str) -> None:
    job = current(kind)
    if job is None:
        return
    if job.state not in ACTIVE:
        if not job.taken:
            st.rerun()  # the whole page, which takes the result and stops this polling
        return
    with st.container(border=True, key=f"job_{kind}"):
        st.markdown(f"**{job.label}**")
        if job.state == "queued":
            _queued(job, kind)
            return
        st.progress(job.fraction(), text=job.progress_text())
        if job.cancelling:
            st.caption("Cancelling: stopping after the current batch…")
        else:
            st.button("Cancel", key=f"job_cancel_{kind}", on_click=job.cancel, icon=":material/stop:",
                      help="Stop after the current batch; what finished is kept and shown as partial.")


def queue_text(job: Job) -> str:
    """Where a queued job stands, in one line."""
    place = job_queue.position(job)
    if place is None:
        return "Starting…"
    busy = job_queue.limit()
    return (f"Queued: position {place[0]} of {place[1]}. This server runs {busy} job{'s' if busy != 1 else ''} "
            f"at a time (max_concurrent_jobs); this one starts by itself when a slot frees.")


def _queued(job: Job, kind: str) -> None:
    st.info(queue_text(job), icon=":material/hourglass_top:")
    st.button("Cancel", key=f"job_cancel_{kind}", on_click=job.cancel, icon=":material/stop:",
              help="Take it out of the queue; nothing has run yet.")
