"""Server time per view toggle on a 300-word result, in a real browser: does a toggle rerun the page or its view?

  DUET_MODEL_CACHE=.cache/models .venv/bin/python -m bench.ui_toggle [--repo PATH] [--repeats 3] [--embedded]

Starts `streamlit run app.py` from --repo (default: this checkout; pass an older checkout for "before"),
scores one 300-word text (the tiny test models by default: a toggle draws from the result's tables and
never runs a model, so only the token counts matter; --embedded for the default pair), then clicks each
view control in turn, alternating between two values, --repeats times each. For every click it reads
the Streamlit protocol on the page's websocket:

  run     "full" when the whole page script ran, "fragment" when only the control's view did
  server  seconds from the run's start (new_session message) to its end (script_finished): the
          server's script time, without the browser's drawing
  click   seconds from the click to script_finished (adds the round trip and the browser's send)
  cpu     CPU seconds the server process used for the click (/proc/<pid>/stat; an idle server uses ~0):
          the measure least disturbed by other jobs on a shared machine and by the relay of large frames
          from the browser to this script, which inflates the wall times of big views

Prints a markdown table (medians) and writes bench/results/ui_toggle-<time>.json. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.ui_latency import CHROMIUM, CHROMIUM_ARGS, make_text, wait_healthy

REPO = Path(__file__).resolve().parents[1]

# (name, how to click value 1, how to click value 2): locators on the token view after scoring.
TOGGLES = [
    ("colouring", ("text", "Entropy"), ("text", "Surprisal")),
    ("level", ("text", "Words (shared by both)"), ("text", "Tokens (each model's own)")),
    ("units", ("radio", "bits"), ("radio", "nats")),
    ("word probability", ("radio", "prefix"), ("radio", "corrected")),
    ("rolling window", ("slider", "ArrowRight"), ("slider", "ArrowLeft")),
    ("tab", ("tab", "Distributions"), ("tab", "Traces")),
]


def tiny_pair(folder: Path) -> tuple[str, str]:
    sys.path.insert(0, str(REPO / "tests"))
    from tiny_models import build_tiny_model

    a = build_tiny_model(folder / "tiny_a", kind="llama", tokenizer="bytelevel", seed=0)
    b = build_tiny_model(folder / "tiny_b", kind="gpt_neox", tokenizer="metaspace", seed=1, bos=False)
    return str(a), str(b)


def start_server(repo: Path, port: int, folder: Path, pair: tuple[str, str] | None) -> subprocess.Popen:
    env = dict(os.environ, DUET_CACHE_DIR=str(folder / "cache"), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    for key, value in zip(("DUET_DEFAULT_MODEL_A", "DUET_DEFAULT_MODEL_B"), pair or (None, None)):
        env.pop(key, None)
        if value:
            env[key] = value
    log = open(folder / "streamlit.log", "wb")
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(repo / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


class Runs:
    """Script runs seen on the page's websocket: (start time, end time, full or fragment)."""

    def __init__(self, page):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.ForwardMsg = ForwardMsg
        self.started: float | None = None
        self.done: list[tuple[float, float, str]] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self.on_frame))

    def on_frame(self, payload) -> None:
        if isinstance(payload, str):
            return
        now = time.perf_counter()
        try:
            msg = self.ForwardMsg.FromString(payload)
        except Exception:  # noqa: BLE001 - not a ForwardMsg
            return
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.started = now
        elif kind == "script_finished" and msg.script_finished in (
                self.ForwardMsg.FINISHED_SUCCESSFULLY, self.ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
            run = "full" if msg.script_finished == self.ForwardMsg.FINISHED_SUCCESSFULLY else "fragment"
            self.done.append((self.started or now, now, run))


def click(page, how: tuple[str, str]) -> None:
    kind, name = how
    if kind == "text":
        page.get_by_text(name, exact=True).first.click()
    elif kind == "radio":
        page.get_by_role("radio", name=name, exact=True).click()
    elif kind == "tab":
        page.get_by_role("tab", name=name).click()
    else:
        page.get_by_role("slider").first.press(name)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(page, runs: Runs, how, pid: int, timeout_s: float = 20) -> dict:
    seen = len(runs.done)
    cpu = cpu_seconds(pid)
    clicked = time.perf_counter()
    click(page, how)
    deadline = time.monotonic() + timeout_s
    while len(runs.done) == seen and time.monotonic() < deadline:
        page.wait_for_timeout(10)
    page.wait_for_timeout(400)  # a run that follows (none expected) would show here
    new = runs.done[seen:]
    cpu = cpu_seconds(pid) - cpu
    if not new:  # e.g. a tab switch where every tab was built on every run: no server work at the switch
        return {"server": 0.0, "click": 0.0, "cpu": cpu, "run": "none"}
    start, end, _ = new[0]
    return {"server": end - start, "click": end - clicked, "cpu": cpu, "run": "+".join(r for _, _, r in new)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose app.py is served (before/after)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--words", type=int, default=300)
    parser.add_argument("--embedded", action="store_true", help="the default embedded pair, not the tiny models")
    parser.add_argument("--score-timeout", type=float, default=600,
                        help="seconds to wait for the first maps (model loads included; minutes on a busy machine)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    rows = []
    with tempfile.TemporaryDirectory(prefix="duet-ui-toggle-") as name:
        folder = Path(name)
        pair = None if args.embedded else tiny_pair(folder)
        server = start_server(args.repo.resolve(), port, folder, pair)
        try:
            wait_healthy(url)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                runs = Runs(page)
                page.goto(url)
                box = page.get_by_role("textbox", name="Text to score")
                box.wait_for(timeout=120_000)
                box.fill(make_text(args.words, 0))
                box.press("Control+Enter")
                page.wait_for_timeout(700)
                page.get_by_role("button", name="Score", exact=True).click()
                page.locator("#duet-map-a-0").wait_for(state="visible", timeout=args.score_timeout * 1000)
                page.wait_for_timeout(2000)
                for name_, first, second in TOGGLES:
                    times = [measure(page, runs, how, server.pid) for _ in range(args.repeats) for how in (first, second)]
                    rows.append({
                        "toggle": name_, "run": sorted({t["run"] for t in times}),
                        "server_s": statistics.median(t["server"] for t in times),
                        "click_s": statistics.median(t["click"] for t in times),
                        "cpu_s": statistics.median(t["cpu"] for t in times), "all": times,
                    })
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"\nrepo: {args.repo.resolve()}  ({'embedded pair' if args.embedded else 'tiny models'}, {args.words} words)\n")
    print("| toggle | run | server CPU s | server s | click to done s |\n| --- | --- | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['toggle']} | {', '.join(row['run'])} | {row['cpu_s']:.3f} | {row['server_s']:.3f} "
              f"| {row['click_s']:.3f} |")
    print("\nmedians over the clicks (two values, alternated, --repeats times each)")
    out = REPO / "bench" / "results" / f"ui_toggle-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"repo": str(args.repo.resolve()), "embedded": args.embedded, "words": args.words,
                               "rows": rows}, indent=1))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
