"""The background preload of the default pair: started once per process, filling the cache Score reads,
a Score during the preload waiting for it, and its status in the sidebar while it runs."""

from __future__ import annotations

import threading
import time

import pytest
from app_helpers import APP, TIMEOUT
from streamlit.testing.v1 import AppTest

from backend.models import resident
from backend.models.specs import DEFAULT_PAIR, ModelSpec
from ui import preload


@pytest.fixture
def fresh(monkeypatch):
    """No preload of this process yet, preloading on, and the model cache empty (restored after)."""
    monkeypatch.setattr(preload, "_preload", None)
    monkeypatch.setenv(preload.ENV, "1")
    resident._load.clear()
    yield
    if preload._preload is not None:
        preload._preload.wait(TIMEOUT)
    resident._load.clear()


@pytest.fixture
def counted(monkeypatch):
    """resident's loader, counting its loads by spec string; a gate the test opens to let loads finish."""
    from backend.models.loading import load_model

    calls: list[str] = []
    gate = threading.Event()
    gate.set()

    def load(spec, progress=None):
        calls.append(str(spec))
        assert gate.wait(TIMEOUT)
        return load_model(spec, progress)

    monkeypatch.setattr(resident, "load_model", load)
    yield calls, gate
    gate.set()  # a failed test must not leave the preload waiting


def test_one_preload_per_process_whoever_starts_it(fresh, monkeypatch, tiny_a, tiny_b):
    monkeypatch.setenv("DUET_DEFAULT_MODEL_A", str(tiny_a))
    monkeypatch.setenv("DUET_DEFAULT_MODEL_B", str(tiny_b))
    loads: list[str] = []
    monkeypatch.setattr(preload, "_resident_load", lambda spec: loads.append(str(spec)))
    started = []
    threads = [threading.Thread(target=lambda: started.append(preload.start())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(p) for p in started}) == 1 and preload.start() is started[0]
    assert started[0].wait(TIMEOUT)
    assert loads == [str(ModelSpec.parse(str(tiny_a))), str(ModelSpec.parse(str(tiny_b)))]  # A first, each once
    assert [step.state for step in started[0].steps] == ["ready", "ready"]


def test_switched_off(fresh, monkeypatch):
    monkeypatch.setenv(preload.ENV, "0")
    assert preload.start() is None and preload.current() is None


def test_get_model_after_the_preload_does_not_load_again(fresh, counted, tiny_a, tiny_b):
    calls, _ = counted
    specs = [ModelSpec.parse(str(tiny_a)), ModelSpec.parse(str(tiny_b))]
    loading = preload.Preload(specs)
    assert loading.start() and not loading.start()
    assert loading.wait(TIMEOUT)
    assert calls == [str(s) for s in specs]
    for spec in specs:
        assert resident.get_model(spec).tokenizer.is_fast
    assert calls == [str(s) for s in specs]  # no second load


def test_score_during_the_preload_waits_for_the_same_load(fresh, counted, tiny_a):
    calls, gate = counted
    gate.clear()  # the preload's load holds until the test opens the gate
    spec = ModelSpec.parse(str(tiny_a))
    loading = preload.Preload([spec])
    loading.start()
    deadline = time.monotonic() + TIMEOUT
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert loading.running and loading.current.state == "loading"
    assert loading.status_line().startswith(f"{spec.label} (1 of 1): loading")
    got = []
    score = threading.Thread(target=lambda: got.append(resident.get_model(spec)))  # what a Score click does
    score.start()
    time.sleep(0.3)
    assert not got  # waiting for the preload's load, not loading its own
    gate.set()
    score.join(TIMEOUT)
    assert loading.wait(TIMEOUT)
    assert calls == [str(spec)] and got[0] is resident.get_model(spec)


def test_a_score_job_says_it_waits_for_the_preload(fresh, monkeypatch, tiny_a, tiny_b):
    gate = threading.Event()
    spec = ModelSpec.parse(str(tiny_a))
    monkeypatch.setattr(preload, "_preload", preload.Preload([spec], load=lambda s: gate.wait(TIMEOUT),
                                                             needs_conversion=lambda s: False))
    preload._preload.start()
    assert "preparing in the background" in preload.waiting_note(spec, "A")
    assert preload.waiting_note(ModelSpec.parse(str(tiny_b)), "B") is None  # not the preload's model
    gate.set()
    assert preload._preload.wait(TIMEOUT) and preload.waiting_note(spec, "A") is None


def test_the_stage_says_when_a_first_load_converts(tiny_a):
    gate = threading.Event()
    converting = preload.Preload([ModelSpec.parse(str(tiny_a))], load=lambda spec: gate.wait(TIMEOUT),
                                 needs_conversion=lambda spec: True)
    converting.start()
    deadline = time.monotonic() + TIMEOUT
    while converting.current is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert preload.CONVERTING in converting.status_line()
    gate.set()
    assert converting.wait(TIMEOUT) and converting.status_line() == ""


def test_a_failed_preload_says_so_and_ends(fresh, tiny_a):
    def refuse(spec):
        raise FileNotFoundError("no model here")

    failing = preload.Preload([ModelSpec.parse(str(tiny_a))], load=refuse, needs_conversion=lambda spec: False)
    failing.start()
    assert failing.wait(TIMEOUT) and not failing.running
    assert failing.steps[0].state == "failed" and "no model here" in failing.steps[0].error


def test_the_sidebar_loads_what_the_preload_loaded(isolated_cache, monkeypatch):
    """The sidebar's default specs are the preload's cache keys, or Score would load a second copy."""
    monkeypatch.delenv("DUET_DEFAULT_MODEL_A", raising=False)
    monkeypatch.delenv("DUET_DEFAULT_MODEL_B", raising=False)
    monkeypatch.setattr("ui.router.use_router", lambda: None)  # see tests/app/conftest.py
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    for side, default in zip("ab", DEFAULT_PAIR):
        assert str(ModelSpec.parse(at.session_state[f"model_{side}"])) == str(ModelSpec.parse(default))


def test_the_sidebar_shows_the_preload_while_it_runs(fresh, counted, app):
    calls, gate = counted
    gate.clear()
    app.run()
    assert not app.exception
    assert preload.current() is not None and preload.current().running
    shown = " ".join(c.value for c in app.sidebar.caption)
    assert "Preparing the default models in the background" in shown
    gate.set()
    assert preload.current().wait(TIMEOUT)
    app.run()
    assert "Preparing the default models" not in " ".join(c.value for c in app.sidebar.caption)
    assert len(calls) == 2
