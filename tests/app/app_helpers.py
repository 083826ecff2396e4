"""AppTest helpers: find the heatmaps and the legend, type and score, read a map's visible text."""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
TIMEOUT = 120  # the first run of a session imports torch and loads the tiny models


def maps(at: AppTest) -> dict[str, str]:
    """The heatmaps on the page, by element id ("duet-map-a-0"...) -> their HTML."""
    found = {}
    for element in at.get("html"):
        body = element.value
        if 'id="duet-map-' in body:  # a model's map (duet-map-a-0) or a joint one (duet-map-delta-0)
            start = body.index('id="duet-map-') + 4
            found[body[start:body.index('"', start)]] = body
    return found


def legend(at: AppTest) -> str:
    return next(e.value for e in at.get("html") if "duet-legend" in e.value)


def finish_jobs(at: AppTest, timeout: float = TIMEOUT) -> AppTest:
    """Wait for the session's jobs (ui/jobs.py: scoring, sampling, training on a thread) and run the page again.

    In a browser the progress fragment polls and reruns the page when a job ends; AppTest does not
    poll, so a test waits here, then runs the page that shows the result.
    """
    jobs = at.session_state["_jobs"] if "_jobs" in at.session_state else {}
    pending = [job for job in jobs.values() if not job.taken]  # started by this run, not shown yet
    deadline = time.monotonic() + timeout
    while any(job.state in ("queued", "running") for job in pending) and time.monotonic() < deadline:
        time.sleep(0.05)
    return at.run() if pending else at


def press(at: AppTest, key: str) -> AppTest:
    """Click a button that starts a job, run, and wait for the job's end."""
    at.button(key=key).click()
    return finish_jobs(at.run())


def score(at: AppTest, text: str) -> AppTest:
    """Type text (the app must have run once), press Score and wait for the scoring to end."""
    at.text_area(key="input_text").input(text)
    return press(at, "score")


def visible_text(body: str) -> str:
    """The text a reader sees in a heatmap: tags dropped, entities decoded, glyphs and style left out."""
    from html_text import visible_text as read

    return read(body)
