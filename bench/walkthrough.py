"""The issues' "done when" walkthroughs, as a user does them, in a real browser, timed, with screenshots.

  DUET_MODEL_CACHE=.cache/models .venv/bin/python -m bench.walkthrough uncertainty
  DUET_MODEL_CACHE=.cache/models .venv/bin/python -m bench.walkthrough differences --run-name NAME

Starts `streamlit run app.py` with the embedded default pair (smollm2-135m vs gemma3-270m) and
DUET_CACHE_DIR (default .cache/walkthrough, so runs scored beforehand with
`python -m backend score ... --name NAME` are there), drives Debian's headless Chromium, and saves
full-page screenshots under screenshots/walkthrough-*.png to be looked at.

  uncertainty  Uncertainty page: "Load five example questions", "Sample and compare", wait for the
               verdict; screenshots of the verdict, the per-prompt table and one prompt's clusters.
  differences  Differences page on the saved run NAME: leaderboards, groups, then BehaviorBox "Train"
               with the page's defaults; screenshots of each tab and the first feature cards.

Prints the seconds each step took. A benchmark-style script, not a test: it needs the embedded
models (make install) and minutes of CPU.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path

from bench.ui_latency import CHROMIUM, CHROMIUM_ARGS, REPO, wait_healthy

SHOTS = REPO / "screenshots"


def start_server(port: int, cache: Path):
    import subprocess

    env = dict(os.environ, DUET_CACHE_DIR=str(cache), HF_HUB_OFFLINE="1", BROWSER_PATH=CHROMIUM,
               TOKENIZERS_PARALLELISM="false")
    for key in ("DUET_DEFAULT_MODEL_A", "DUET_DEFAULT_MODEL_B"):
        env.pop(key, None)  # the embedded default pair
    cache.mkdir(parents=True, exist_ok=True)
    log = open(cache / "walkthrough-streamlit.log", "wb")
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def shot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the window to its height first."""
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"walkthrough-{name}.png"
    size = page.viewport_size
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], section.main, "
        "[data-testid=stAppViewContainer]')].map(e => e.scrollHeight), 0)")
    page.set_viewport_size({"width": size["width"], "height": int(min(max(height, size["height"]), 14000))})
    page.wait_for_timeout(1500)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    print(f"  screenshot {path.relative_to(REPO)} ({height} px tall)", flush=True)


def step(label: str, started: float) -> float:
    now = time.perf_counter()
    print(f"{label}: {now - started:.1f} s", flush=True)
    return now


def scroll_to(page, text: str) -> None:
    page.get_by_text(text, exact=True).first.scroll_into_view_if_needed()
    page.wait_for_timeout(800)


def uncertainty(page, url: str, timeout_ms: int) -> None:
    t = time.perf_counter()
    page.goto(f"{url}/uncertainty")
    page.get_by_role("button", name="Load five example questions").click()
    page.wait_for_timeout(1500)
    shot(page, "uncertainty-1-prompts")
    t = step("open the page, load five questions", t)
    page.get_by_role("button", name="Sample and compare").click()
    page.get_by_text("Which model is more uncertain, and which more diverse?").wait_for(timeout=timeout_ms)
    page.wait_for_timeout(3000)  # plots draw after the text
    t = step("Sample and compare → verdict shown (both models, 5 prompts × 11 answers)", t)
    shot(page, "uncertainty-2-result")


def differences(page, url: str, run_name: str, timeout_ms: int) -> None:
    t = time.perf_counter()
    page.goto(f"{url}/differences")
    run_box = page.locator('[data-testid="stMain"]').get_by_role("combobox").first
    run_box.wait_for(timeout=timeout_ms)
    if run_name not in (page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').first.inner_text()):
        run_box.click()
        page.get_by_role("option", name=run_name).first.click()
    page.get_by_role("tab", name="Leaderboards").wait_for(timeout=timeout_ms)
    page.wait_for_timeout(3000)
    t = step(f"open the Differences page on run {run_name!r}", t)
    shot(page, "differences-1-leaderboards")
    page.get_by_role("tab", name="Groups").click()
    page.wait_for_timeout(4000)
    shot(page, "differences-2-groups")
    page.get_by_role("tab", name="BehaviorBox").click()
    page.get_by_role("button", name="Train").click()
    page.get_by_text("Trained on", exact=False).first.wait_for(timeout=timeout_ms)
    page.wait_for_timeout(4000)
    step("BehaviorBox Train → feature cards (page defaults)", t)
    shot(page, "differences-3-behaviorbox")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", choices=["uncertainty", "differences"])
    parser.add_argument("--run-name", default=None, help="differences: the saved run to open (its name on the Runs page)")
    parser.add_argument("--cache", default=str(REPO / ".cache" / "walkthrough"))
    parser.add_argument("--timeout", type=float, default=3600, help="seconds for the slowest step")
    args = parser.parse_args()
    if args.which == "differences" and not args.run_name:
        parser.error("differences needs --run-name (score a corpus with `python -m backend score --name NAME` first)")

    from playwright.sync_api import sync_playwright

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = start_server(port, Path(args.cache))
    try:
        wait_healthy(url)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
            page.set_default_timeout(120_000)
            if args.which == "uncertainty":
                uncertainty(page, url, int(args.timeout * 1000))
            else:
                differences(page, url, args.run_name, int(args.timeout * 1000))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
