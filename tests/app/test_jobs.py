"""Long work as jobs (ui/jobs.py): state, cancel, the estimate asked before long work, chunked scoring."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest
from app_helpers import finish_jobs, maps, score

from ui import jobs, throughput
from ui.jobs import Cancelled, Job, _main


def run_job(work) -> Job:
    """A job run to its end on this thread (ui.jobs._main is the thread's body)."""
    job = Job(kind="test", label="test")
    _main(job, work)
    return job


def test_job_states_rate_and_eta():
    done = run_job(lambda job: 42)
    assert done.state == "done" and done.result == 42 and done.finished is not None
    failed = run_job(lambda job: 1 / 0)
    assert failed.state == "failed" and "division" in failed.error

    job = Job(kind="test", label="test", unit="steps")
    job.report(0, 100)
    job._counting -= 2.0  # two seconds ago
    job.report(50, note="half way")
    assert job.rate() == pytest.approx(25, rel=0.1) and job.eta_s() == pytest.approx(2, rel=0.1)
    text = job.progress_text()
    assert text.startswith("half way") and "50 of 100 steps" in text and "steps/s" in text and "left" in text


def test_cancel_stops_at_the_next_report_and_keeps_what_the_work_returns():
    started = threading.Event()

    def work(job):
        kept = []
        try:
            for step in range(10_000):
                kept.append(step)
                started.set()
                job.report(step, 10_000)
                time.sleep(0.001)
        except Cancelled:
            return kept  # what finished
        return kept

    job = Job(kind="test", label="test")
    thread = threading.Thread(target=_main, args=(job, work))
    thread.start()
    started.wait(5)
    job.cancel()
    thread.join(5)
    assert not thread.is_alive() and job.state == "cancelled" and 0 < len(job.result) < 10_000


def test_cancelled_is_not_caught_as_a_model_failure():
    """The backend catches Exception per model; a cancel must pass through it."""
    assert not issubclass(Cancelled, Exception)


def test_duration_reads_well():
    assert [jobs.duration(s) for s in (4.2, 75, 3725)] == ["4 s", "1 min 15 s", "1 h 02 min"]


def test_estimate_from_default_then_from_measured_throughput(isolated_cache):
    first = throughput.scoring_estimate(["a", "b"], 3_000)
    assert not first.measured and first.seconds == pytest.approx(2 * 3_000 / throughput.DEFAULTS["score"])
    throughput.record("score", "a", 10_000, 10.0)
    throughput.record("score", "b", 20_000, 10.0)
    measured = throughput.scoring_estimate(["a", "b"], 3_000)
    assert measured.measured and measured.seconds == pytest.approx(3_000 / 1_000 + 3_000 / 2_000)
    throughput.record("score", "a", 30_000, 10.0)  # blended with the earlier rate
    assert throughput.rate("score", "a") == pytest.approx(2_000)
    assert (isolated_cache / "throughput.json").is_file()
    (isolated_cache / "throughput.json").write_text("{not json")
    assert throughput.rate("score", "a") is None  # damaged: measured again, not fatal


def test_chunked_scoring_equals_one_call(tiny_a, tiny_b, isolated_cache, monkeypatch):
    """Texts scored in several chunks and joined give the same tables as one score_models call."""
    from backend.models.loading import load_model
    from backend.models.specs import ModelSpec
    from backend.scoring.pair import score_models
    from ui import scoring_work

    texts = ["The quick brown fox.", "def add(a, b):\n    return a + b\n", "Alice: How are you?", "Fine, thanks!"]
    specs = {"a": ModelSpec.parse(str(tiny_a)), "b": ModelSpec.parse(str(tiny_b))}
    models = {side: load_model(spec) for side, spec in specs.items()}
    expected = score_models(models, texts, cache=False).pair
    monkeypatch.setattr(scoring_work, "CHUNK_CHARS", 30)
    assert len(scoring_work.chunks(texts, 30)) > 2
    job = Job(kind="score", label="test")
    outcome = scoring_work.score_job(job, specs, texts, 5, None)
    assert not outcome.partial and outcome.run_id and job.done == job.total
    # The same rows, columns and dtypes; the numbers equal up to float32 rounding, as for any change of batch
    # (texts packed with other texts: tests/backend/test_packing.py). One chunk gives score_models' tables as they are.
    for name in ("tokens", "words", "summary"):
        pd.testing.assert_frame_equal(getattr(outcome.pair, name), getattr(expected, name), check_exact=False,
                                      atol=1e-4, rtol=1e-5)
    texts_one_chunk = texts[:2]
    job = Job(kind="score", label="test")
    monkeypatch.setattr(scoring_work, "CHUNK_CHARS", 20_000)
    one = scoring_work.score_job(job, specs, texts_one_chunk, 5, None).pair
    for name in ("tokens", "words", "summary"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(score_models(models, texts_one_chunk).pair, name))


def test_scoring_cancelled_midway_keeps_the_chunks_both_models_finished(tiny_a, tiny_b, isolated_cache, monkeypatch):
    from backend.models.specs import ModelSpec
    from ui import scoring_work

    texts = [f"Text number {i} with a few words." for i in range(6)]
    monkeypatch.setattr(scoring_work, "CHUNK_CHARS", 70)  # two texts per chunk
    job = Job(kind="score", label="test")
    real_report = job.report

    def report(done, total=None, note=None):
        real_report(done, total, note)
        if note and "texts 3–" in note:
            job.cancel()  # during the second chunk
            job.check()

    job.report = report
    specs = {"a": ModelSpec.parse(str(tiny_a)), "b": ModelSpec.parse(str(tiny_b))}
    _main(job, lambda j: scoring_work.score_job(j, specs, texts, 5, None))
    outcome = job.result
    assert job.state == "cancelled" and outcome.partial
    assert outcome.pair.texts == texts[:2] and outcome.settings["partial"] == "2 of 6 texts"
    assert set(outcome.pair.tokens["text_id"]) == {0, 1} and outcome.run_id


def test_long_scoring_asks_first_and_says_how_long(app, monkeypatch):
    monkeypatch.setattr(throughput, "CONFIRM_ABOVE_S", 0.0)
    at = app.run()
    at.text_area(key="input_text").input("A text that is expected to take a while.")
    at.button(key="score").click().run()
    assert not at.exception
    asked = " ".join(w.value for w in at.warning)
    assert "This scoring should take about" in asked and "first guess" in asked
    assert not at.session_state["_jobs"]  # nothing started yet
    at.button(key="job_go_score").click().run()
    at = finish_jobs(at)
    assert {"duet-map-a-0", "duet-map-b-0"} <= set(maps(at))
    assert at.status[0].label.startswith("Scored in")


def test_a_second_scoring_shows_its_progress_and_result(app):
    """The progress is not inside a status box (which a second scoring found collapsed): the result replaces."""
    at = score(app.run(), "First text.")
    at = score(at, "Second text, scored after the first.")
    assert at.session_state["result"].pair.texts == ["Second text, scored after the first."]
    assert at.status[0].label.startswith("Scored in")
    assert at.session_state["_jobs"]["score"].state == "done"


def test_the_server_wide_queue_is_first_come_first_served(tmp_path, monkeypatch):
    """ui/job_queue.py alone: slots from max_concurrent_jobs, places, withdraw, the next one launched at an end."""
    from ui import job_queue

    (tmp_path / "duet.toml").write_text("max_concurrent_jobs = 2\n", encoding="utf-8")
    monkeypatch.setenv("DUET_CONFIG", str(tmp_path / "duet.toml"))
    monkeypatch.setattr(job_queue, "_running", [])
    monkeypatch.setattr(job_queue, "_waiting", [])
    launched = []

    def launch(job):
        launched.append(job)
        return True

    a, b, c, d = (Job(kind="test", label=name) for name in "abcd")
    assert job_queue.submit(a, launch) and job_queue.submit(b, launch)
    assert not job_queue.submit(c, launch) and not job_queue.submit(d, launch)
    assert launched == [a, b] and job_queue.position(c) == (1, 2) and job_queue.position(d) == (2, 2)
    assert job_queue.withdraw(c) and not job_queue.withdraw(c) and job_queue.position(d) == (1, 1)
    job_queue.finished(a)
    assert launched == [a, b, d] and job_queue.snapshot() == ([b, d], [])
    job_queue.finished(a)  # twice, or a job never queued: nothing happens
    assert job_queue.snapshot() == ([b, d], [])


def test_cancel_of_a_queued_job_ends_it_without_running(monkeypatch):
    from ui import job_queue

    monkeypatch.setattr(job_queue, "_running", [object(), object()])  # both slots taken
    monkeypatch.setattr(job_queue, "_waiting", [])
    job = Job(kind="test", label="test", state="queued")
    assert not job_queue.submit(job, lambda j: pytest.fail("a cancelled job launched"))
    job.cancel()
    assert job.state == "cancelled" and job.finished is not None and job_queue.position(job) is None


def test_no_forced_full_gc_after_each_rerun():
    """The progress fragment reruns twice a second while a job works; a forced gc.collect(2) after each
    run held the GIL long enough to starve the job's thread (see .streamlit/config.toml)."""
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
    assert jobs.POLL_S <= 1.0  # why the forced collection mattered: it ran this often
