"""Load the default model pair in the background once per server process, so the first Score finds it loaded.

The first script run of the first session starts one daemon thread; it loads model A, then model B,
through backend/models/resident.get_model, the same cache the Score button reads. A Score clicked
meanwhile asks that cache for the same spec and waits for this load (one lock per key there)
instead of loading a second copy. The sidebar shows which model loads, its stage and the time so
far, polled in a fragment only while the preload runs. DUET_PRELOAD=0 turns it off (the tests do).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from typing import Callable

import streamlit as st

from backend.errors import user_message
from backend.models.specs import ModelSpec
from backend.policy import check_browser_spec, load_settings
from ui.jobs import duration
from ui.state import default_pair

ENV = "DUET_PRELOAD"
# How often the sidebar status reruns while the preload works. Every rerun costs the server some CPU
# (about 50 ms on a starved 2-core machine, by its threads' CPU times), which the load itself then lacks.
POLL_S = 2.0
# What a first conversion costs, measured on the 2-core machine: about 40 s for SmolLM2, 2 min for Gemma.
CONVERTING = "converting (first time on this machine, ~2.5 min)"
LOADING = "loading"


@dataclasses.dataclass(eq=False)
class Step:
    """One model of the preload."""

    spec: ModelSpec
    state: str = "waiting"  # waiting | converting | loading | ready | failed
    started: float | None = None
    finished: float | None = None
    error: str | None = None

    @property
    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started


class Preload:
    """Loads specs one after the other on a daemon thread; start() runs it once, whoever calls it."""

    def __init__(self, specs: list[ModelSpec], load: Callable[[ModelSpec], object] | None = None,
                 needs_conversion: Callable[[ModelSpec], bool] | None = None):
        self.steps = [Step(spec) for spec in specs]
        self._load = load or _resident_load
        self._needs_conversion = needs_conversion or _needs_conversion
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Start the loading thread unless it was started before; True when this call started it."""
        with self._lock:
            if self._thread is not None:
                return False
            self._thread = threading.Thread(target=self._run, name="duet-preload", daemon=True)
            self._thread.start()
            return True

    def _run(self) -> None:
        for step in self.steps:
            step.started = time.monotonic()
            try:
                step.state = "converting" if self._needs_conversion(step.spec) else "loading"
                self._load(step.spec)
                step.state = "ready"
            except Exception as error:  # noqa: BLE001 - shown in the sidebar; a Score click retries and says why
                step.error, step.state = user_message(error), "failed"
            finally:
                step.finished = time.monotonic()

    def wait(self, timeout: float = 600.0) -> bool:
        """Block until the preload ends (tests, scripts); True when it did."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    @property
    def running(self) -> bool:
        """Started, and some model is not ready or failed yet."""
        return self._thread is not None and any(step.state in ("waiting", "converting", "loading")
                                                for step in self.steps)

    @property
    def current(self) -> Step | None:
        return next((step for step in self.steps if step.state in ("converting", "loading")), None)

    def status_line(self) -> str:
        """One line for the model now loading: which, its stage, the time so far (empty when none is)."""
        step = self.current
        if step is None:
            return ""
        position = f"{self.steps.index(step) + 1} of {len(self.steps)}"
        stage = CONVERTING if step.state == "converting" else LOADING
        return f"{step.spec.label} ({position}): {stage} — {duration(step.elapsed)} so far"


def waiting_note(spec: ModelSpec, name: str) -> str | None:
    """What a Score job says while it waits for the preload's load of spec; None when the preload is not
    loading it (done, not started, or another model)."""
    preload = _preload
    if preload is None:
        return None
    pending = ("waiting", "converting", "loading")
    if not any(str(step.spec) == str(spec) and step.state in pending for step in preload.steps):
        return None
    return f"Waiting for model {name} ({spec.label}), which the server is preparing in the background (see the sidebar)…"


def _resident_load(spec: ModelSpec):
    from backend.models.resident import get_model

    return get_model(spec)


def _needs_conversion(spec: ModelSpec) -> bool:
    from backend.models.loading import needs_conversion

    return needs_conversion(spec)


def enabled() -> bool:
    return os.environ.get(ENV, "1").strip() != "0"


_lock = threading.Lock()
_preload: Preload | None = None  # the one of this server process


def start() -> Preload | None:
    """Start the preload of the default pair the first time any session runs the app in this process;
    later calls return the same one. None when DUET_PRELOAD=0 or the default pair does not parse."""
    global _preload
    if not enabled():
        return None
    with _lock:
        if _preload is None:
            _preload = Preload(_allowed_defaults())
            _preload.start()
    return _preload


def _allowed_defaults() -> list[ModelSpec]:
    """The default pair, less what does not parse or what the operator's settings refuse from the browser
    (the sidebar says why for those; loading them here would only cost memory)."""
    specs = []
    for text in default_pair():
        try:
            spec = ModelSpec.parse(text)
            check_browser_spec(spec, load_settings(), st.get_option("server.address"))
        except Exception:  # noqa: BLE001 - SpecError, ModelRefused, SettingsError: the sidebar shows them
            continue
        specs.append(spec)
    return specs


def current() -> Preload | None:
    return _preload


def status_area() -> None:
    """While the preload runs: a small status box that polls alone; after, a line for a model that failed."""
    preload = _preload
    if preload is None:
        return
    if preload.running:
        st.fragment(_poll, run_every=POLL_S)(preload)
        return
    for step in preload.steps:
        if step.state == "failed":
            st.caption(f"Preloading {step.spec.label} failed: {step.error} It loads when you score.")


def _poll(preload: Preload) -> None:
    if not preload.running:
        st.rerun()  # the whole page once, which stops this polling
        return
    with st.container(border=True, key="preload_status"):
        st.caption(":material/downloading: Preparing the default models in the background; the page stays usable "
                   "and Score waits for them.")
        st.caption(preload.status_line() or "Starting…")
