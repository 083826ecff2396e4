"""The operator's job limits: max_concurrent_jobs queues a job across sessions (position, Cancel, automatic
start, the Runs page's list), max_tokens_per_job refuses before anything runs, and the model cache itself
refuses a spec the settings do not allow even when a page forgets to check."""

from __future__ import annotations

import threading
import time

import pytest
from app_helpers import APP, TIMEOUT, finish_jobs
from streamlit.testing.v1 import AppTest

from ui import job_queue


def settings(tmp_path, monkeypatch, text: str) -> None:
    path = tmp_path / "duet.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("DUET_CONFIG", str(path))


def session(tiny_a, tiny_b) -> AppTest:
    """Another browser session of the same server (the app fixture's environment holds)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["model_a"] = str(tiny_a)
    at.session_state["model_b"] = str(tiny_b)
    return at.run()


def press_score(at: AppTest, text: str) -> AppTest:
    at.text_area(key="input_text").input(text)
    at.button(key="score").click()
    return at.run()


def until(condition, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def held(monkeypatch):
    """Scoring jobs wait at their start until the event is set (set at the end of the test whatever happens)."""
    from ui import scoring

    until(lambda: job_queue.snapshot() == ([], []))  # no job of an earlier test holds a slot
    gate = threading.Event()
    real = scoring.score_job

    def score_job(job, *args):
        gate.wait(TIMEOUT)
        return real(job, *args)

    monkeypatch.setattr(scoring, "score_job", score_job)
    yield gate
    gate.set()
    until(lambda: job_queue.snapshot() == ([], []))


def texts(at: AppTest, kind) -> list[str]:
    return [e.value for e in getattr(at, kind)]


def test_a_job_beyond_the_slots_waits_its_turn_and_starts_by_itself(app, tiny_a, tiny_b, tmp_path, monkeypatch,
                                                                    held):
    settings(tmp_path, monkeypatch, "max_concurrent_jobs = 1\n")
    first = press_score(app.run(), "The first session's text.")
    assert first.session_state["_jobs"]["score"].state == "running"
    second = press_score(session(tiny_a, tiny_b), "The second session's text.")
    job = second.session_state["_jobs"]["score"]
    assert job.state == "queued" and not second.exception
    assert any("Queued: position 1 of 1" in t for t in texts(second, "info")), texts(second, "info")
    assert second.button(key="job_cancel_score").label == "Cancel"
    second = second.run()  # (the button was drawn before the click started the job)
    assert second.button(key="score").disabled  # one job per kind and session, queued included
    assert any("Queued: position 1 of 1" in t for t in texts(second, "info"))

    # The Runs page of a third session lists both, the running one with its progress, the queued one's place.
    runs = session(tiny_a, tiny_b)
    runs.switch_page("pages/runs.py").run()
    assert not runs.exception
    rows = " ".join(m.value for m in runs.markdown)
    assert "The first session" not in rows  # labels say what runs, not the text
    assert rows.count("**Scoring**") == 2
    assert any("Queued: position 1 of 1" in c.value for c in runs.caption)
    assert "1 running of 1 at a time, 1 queued" in runs.subheader[0].value
    assert len([b for b in runs.button if b.key.startswith("server_job_cancel_")]) == 2

    held.set()  # the first ends; its slot goes to the queued one, with no page asking
    until(lambda: job.state not in ("queued",))
    first = finish_jobs(first)
    second = finish_jobs(second)
    assert first.status[0].label.startswith("Scored in") and second.status[0].label.startswith("Scored in")
    assert second.session_state["result"].pair.texts == ["The second session's text."]


def test_cancel_takes_a_queued_job_out_of_the_queue(app, tiny_a, tiny_b, tmp_path, monkeypatch, held):
    settings(tmp_path, monkeypatch, "max_concurrent_jobs = 1\n")
    first = press_score(app.run(), "Holds the only slot.")
    second = press_score(session(tiny_a, tiny_b), "Waits, then changes its mind.")
    job = second.session_state["_jobs"]["score"]
    assert job_queue.position(job) == (1, 1)
    second.button(key="job_cancel_score").click()
    second = second.run()
    assert job.state == "cancelled" and job_queue.snapshot()[1] == []
    assert any("cancelled before any text was finished" in t for t in texts(second, "info"))
    assert not second.button(key="score").disabled
    held.set()
    assert finish_jobs(first).status[0].label.startswith("Scored in")


def test_scoring_over_max_tokens_per_job_is_refused_and_the_result_stays(app, tiny_a, tiny_b, tmp_path, monkeypatch):
    from backend.models.loading import load_model
    from backend.models.specs import ModelSpec
    from backend.store.runs import RunStore
    from app_helpers import score

    at = score(app.run(), "Kept on screen.")
    n_runs = len(RunStore().list())
    long_text = "A longer text that the operator's small limit does not let through. " * 3
    # The count is exact: each model's own tokenizer (byte-level BPE with a start token; sentencepiece-style without).
    expected = 0
    for folder in (tiny_a, tiny_b):
        loaded = load_model(ModelSpec(str(folder)))
        expected += len(loaded.tokenizer(long_text, add_special_tokens=False)["input_ids"]) + (loaded.bos_id is not None)
    settings(tmp_path, monkeypatch, f"max_tokens_per_job = {expected - 1}\n")
    at = finish_jobs(press_score(at, long_text))
    errors = texts(at, "error")
    assert any(e.startswith("Not scored") and f"{expected:,} tokens" in e and "max\\_tokens\\_per\\_job" in e
               for e in errors), errors
    assert at.session_state["result"].pair.texts == ["Kept on screen."]  # nothing already computed is lost
    assert len(RunStore().list()) == n_runs

    settings(tmp_path, monkeypatch, f"max_tokens_per_job = {expected}\n")  # exactly at the limit: scored
    at = finish_jobs(press_score(at, long_text))
    assert at.session_state["result"].pair.texts == [long_text]


def test_sampling_over_max_tokens_per_job_is_refused_before_it_starts(app, tmp_path, monkeypatch):
    settings(tmp_path, monkeypatch, "max_tokens_per_job = 100\n")
    at = app.run()
    at.switch_page("pages/uncertainty.py").run()
    at.text_area(key="unc_text").input("What is 1 + 2?\nName a fruit.")
    at.number_input(key="unc_n").set_value(4)
    at.number_input(key="unc_max_new").set_value(20)
    at.button(key="unc_run").click()
    at = at.run()
    errors = texts(at, "error")
    # 2 prompts × 5 answers (4 samples and the greedy one) × 20 new tokens × 2 models
    assert any(e.startswith("Not sampled") and "400 tokens" in e and "max\\_tokens\\_per\\_job" in e
               for e in errors), errors
    started = at.session_state["_jobs"] if "_jobs" in at.session_state else {}
    assert "sample" not in started


def test_the_model_cache_refuses_a_spec_even_when_the_page_forgot_to_check(app, monkeypatch):
    """The sidebar's check switched off: the refused spec reaches the Score button, and get_model refuses it."""
    from backend.models import resident

    real = resident._load
    loaded = []

    def load(spec_key):
        loaded.append(spec_key)
        return real(spec_key)

    monkeypatch.setattr(resident, "_load", load)
    monkeypatch.setattr("ui.sidebar.check_browser_spec", lambda *args: None)  # a page that forgets
    at = app.run()
    at.selectbox(key="_source_b").set_value("Other: hub id, folder or .gguf").run()
    at.text_input(key="_path_b").set_value("org/x?trust_remote_code=1").run()
    assert "trust_remote_code" in at.session_state["model_b"]
    at = finish_jobs(press_score(at, "Scored by model A only."))
    errors = texts(at, "error")
    assert any("Model B could not be loaded" in e and "allow\\_remote\\_code" in e for e in errors), errors
    assert loaded and not any("trust_remote_code" in key for key in loaded)
