"""Long work in a real browser: a scoring cancelled midway shows its partial result and the server goes idle;
a colouring, units or word-probability toggle reruns only its fragment, never the whole page."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from browser_helpers import shot

pytestmark = pytest.mark.e2e

# About 90,000 characters: several chunks (ui/scoring_work.CHUNK_CHARS), few enough texts that the per-text
# work (cache files, word alignment) stays small.
N_TEXTS = 90


def server_pid(url: str) -> int:
    """The `streamlit run` process serving url (tests/e2e/conftest.py passes its port on the command line)."""
    port = url.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(args) and port.encode() in args:
            return int(entry.name)
    raise LookupError(f"no streamlit process on port {port}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process, all its threads (the job threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def full_and_fragment_runs(page) -> dict:
    """Counts of finished script runs the server sends this page: whole page, or fragment only."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    counts = {"full": 0, "fragment": 0}

    def on_frame(payload):
        if isinstance(payload, str):
            return
        try:
            msg = ForwardMsg.FromString(payload)
        except Exception:  # noqa: BLE001 - not a ForwardMsg
            return
        if msg.WhichOneof("type") == "script_finished":
            if msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                counts["full"] += 1
            elif msg.script_finished == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                counts["fragment"] += 1

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return counts


def test_cancel_keeps_the_partial_result_and_the_server_goes_idle(server, page):
    page.goto(server)
    page.get_by_role("textbox", name="Text to score").wait_for()
    page.get_by_text("Upload files").click()
    lines = "\n".join(f"Line {i}: " + "the quick brown fox jumps over the lazy dog, again and again. " * 16
                      for i in range(N_TEXTS))
    page.locator("input[type=file]").set_input_files(
        [{"name": "many.txt", "mimeType": "text/plain", "buffer": lines.encode()}])
    page.get_by_text("one text per line").click()
    page.get_by_text(f"many.txt: {N_TEXTS} texts").wait_for()
    page.get_by_role("button", name="Score", exact=True).click()

    # Over a minute expected (the first estimate is a cautious default): the page asks first.
    page.get_by_text("This scoring should take about").wait_for()
    page.get_by_role("button", name="Go on").click()

    # Progress with units, a rate and an ETA, always open; wait until the second chunk of texts is under way.
    progress = page.locator(".st-key-job_score")
    progress.wait_for(state="visible", timeout=120_000)
    page.wait_for_function(
        "() => { const m = /of texts ([0-9,]+)–/.exec(document.querySelector('.st-key-job_score')?.innerText || '');"
        " return m !== null && m[1] !== '1'; }", timeout=300_000)
    text = progress.inner_text()
    assert "characters" in text and "left" in text and "characters/s" in text, text
    shot(page, "e2e_jobs_01_progress")
    pressed = time.perf_counter()
    page.get_by_role("button", name="Cancel").click()

    status = page.get_by_text(re.compile(rf"Cancelled — partial: [0-9,]+ of {N_TEXTS} texts"))
    status.wait_for(timeout=60_000)
    stopped = time.perf_counter() - pressed
    print(f"Cancel to partial result: {stopped:.1f} s")
    done = int(re.search(r"partial: ([0-9,]+) of", status.inner_text()).group(1).replace(",", ""))
    assert 0 < done < N_TEXTS
    page.get_by_text(f"Partial result: {done} of {N_TEXTS} texts").wait_for()
    page.locator("#duet-map-a-0").wait_for(state="visible")
    assert not progress.is_visible()
    shot(page, "e2e_jobs_02_partial", full=True)

    # Nothing keeps working once the job ended: no scoring thread, no polling of the progress area.
    pid = server_pid(server)
    page.wait_for_timeout(2000)
    before = cpu_seconds(pid)
    page.wait_for_timeout(5000)
    used = cpu_seconds(pid) - before
    print(f"server CPU over 5 s after the cancel: {used:.2f} s")
    assert used < 0.5, used


def test_toggling_the_colouring_reruns_only_its_view(server, page):
    runs = full_and_fragment_runs(page)
    page.goto(server)
    box = page.get_by_role("textbox", name="Text to score")
    box.fill("A short text whose colouring is toggled back and forth without rerunning the page.")
    box.press("Control+Enter")
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Score", exact=True).click()
    page.locator("#duet-map-a-0").wait_for(state="visible", timeout=120_000)
    page.wait_for_timeout(1500)  # the page's last run has finished
    full_before, fragments_before = runs["full"], runs["fragment"]

    for label, shown in (("Difference A − B (words)", "#duet-map-delta-0"), ("Surprisal", "#duet-map-a-0"),
                         ("Entropy", "#duet-map-a-0")):
        page.get_by_text(label, exact=True).click()
        page.locator(shown).wait_for(state="visible")
        page.wait_for_timeout(500)
    # Units and word probability sit in the result view's fragment: the views redraw, the page does not.
    for name in ("bits", "prefix", "nats", "corrected"):
        page.get_by_role("radio", name=name, exact=True).click()
        page.wait_for_timeout(800)
    page.locator("#duet-map-a-0").wait_for(state="visible")
    page.wait_for_timeout(1000)
    assert runs["fragment"] >= fragments_before + 7, runs
    assert runs["full"] == full_before, runs  # no whole-page run: only the views' fragments reran
    # A page without a result view draws them in the sidebar, with the choice made in the view.
    page.get_by_role("link", name="Differences").click()
    page.locator('[data-testid="stSidebar"]').get_by_role("radio", name="nats", exact=True).wait_for(timeout=60_000)
    shot(page, "e2e_jobs_03_toggled")
