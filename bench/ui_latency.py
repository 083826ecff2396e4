"""Dashboard latency (issue 4): from pressing Score to both heatmaps shown, in a real browser.

  DUET_MODEL_CACHE=.cache/models .venv/bin/python -m bench.ui_latency [--repeats 3] [--words 300]

Starts `streamlit run app.py` on a free port with the embedded default pair
(smollm2-135m vs gemma3-270m) and a fresh score cache, drives it with Debian's
headless Chromium, and measures, each time in a new browser session (a new
Streamlit session; the models stay loaded in the server process, as for real users):

  warm   a 300-word text never scored before, both models already loaded
         (one warm-up scoring of another text loads them first; its time is reported too)
  cached the same texts again: the on-disk score cache answers, no model runs

Each time runs from the click on Score until both heatmap elements are visible.
The browser's own work (typing, layout) is outside the timed span. Prints a
markdown table and writes bench/results/ui_latency-<time>.json. A benchmark,
not a test: it needs the embedded models (make install) and takes a few minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]

SENTENCES = [
    "The river had risen overnight, and by morning the lower fields were a sheet of grey water.",
    "Mara walked to the end of the lane to see how far it had come.",
    "Her grandfather used to say that the river remembered every path it had ever taken.",
    "Nobody in the village had believed him, least of all the engineers who built the new embankment.",
    "Now the embankment stood half a mile away, useless, while the water crept toward the church.",
    "She counted the fence posts that still showed above the surface: eleven, then ten.",
    "A heron stood on the last dry hummock, perfectly still, as if it had been waiting for this all year.",
    "In the distance a tractor tried the road to the mill and thought better of it.",
    "The radio said the rain would stop by noon, and for once the radio was right.",
    "By evening the sky had cleared to a hard, bright blue that made the flood look almost beautiful.",
    "People came out of their houses with boots and buckets and the kind of cheerfulness that follows a fright.",
    "Someone had already started a list of the families who would need help with their cellars.",
    "Mara added her name to it and went home to find her own boots.",
    "On the way she noticed that the old ditch beside the school was running clear and fast.",
    "It had been dug two hundred years ago, her grandfather said, by people who knew where the water wanted to go.",
    "The council minutes from that time called it a folly and recorded the cost to the last penny.",
    "Tomorrow, she decided, she would find those minutes in the archive and read them properly.",
    "The light faded, the heron flew off toward the hills, and the water began, very slowly, to fall.",
]


def make_text(words: int, seed: int) -> str:
    rng = random.Random(seed)
    out: list[str] = []
    while len(" ".join(out).split()) < words:
        out.append(rng.choice(SENTENCES))
    return " ".join(" ".join(out).split()[:words]).rstrip(",;") + "."


def start_server(port: int, cache: Path) -> subprocess.Popen:
    env = dict(os.environ, DUET_CACHE_DIR=str(cache), HF_HUB_OFFLINE="1", BROWSER_PATH=CHROMIUM,
               TOKENIZERS_PARALLELISM="false")
    for key in ("DUET_DEFAULT_MODEL_A", "DUET_DEFAULT_MODEL_B"):
        env.pop(key, None)  # the embedded default pair
    log = open(cache / "streamlit.log", "wb")
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def wait_healthy(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("streamlit did not start")


def press_to_maps(browser, url: str, text: str, timeout_s: float) -> float:
    """One new session: type text, press Score, seconds until both heatmaps are visible."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(url)
        box = page.get_by_role("textbox", name="Text to score")
        box.wait_for(timeout=120_000)
        box.fill(text)
        box.press("Control+Enter")
        page.wait_for_timeout(700)  # let the app take the text in before the click
        started = time.perf_counter()
        page.get_by_role("button", name="Score", exact=True).click()
        page.locator("#duet-map-a-0").wait_for(state="visible", timeout=timeout_s * 1000)
        page.locator("#duet-map-b-0").wait_for(state="visible", timeout=timeout_s * 1000)
        return time.perf_counter() - started
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--words", type=int, default=300)
    parser.add_argument("--timeout", type=float, default=600, help="seconds per measurement (first loads convert GGUF)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    texts = [make_text(args.words, seed) for seed in range(1, args.repeats + 1)]
    warmup_text = make_text(args.words, 0)
    with tempfile.TemporaryDirectory(prefix="duet-ui-bench-") as folder:
        server = start_server(port, Path(folder))
        try:
            wait_healthy(url)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                warmup = press_to_maps(browser, url, warmup_text, args.timeout)
                print(f"warm-up (loads both models into the server, scores a first text): {warmup:.2f} s", flush=True)
                warm = []
                for i, text in enumerate(texts):
                    warm.append(press_to_maps(browser, url, text, args.timeout))
                    print(f"warm, new text {i + 1}: {warm[-1]:.2f} s", flush=True)
                cached = []
                for i, text in enumerate(texts):
                    cached.append(press_to_maps(browser, url, text, args.timeout))
                    print(f"cached rerun {i + 1}: {cached[-1]:.2f} s", flush=True)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    load = os.getloadavg()
    result = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "command": "DUET_MODEL_CACHE=" + os.environ.get("DUET_MODEL_CACHE", "~/.cache/duet/models")
        + " .venv/bin/python -m bench.ui_latency " + " ".join(sys.argv[1:]),
        "models": ["smollm2-135m", "gemma3-270m"],
        "words": args.words,
        "chars": [len(t) for t in texts],
        "cpus": os.cpu_count(),
        "loadavg_after": [round(x, 2) for x in load],
        "warmup_s": round(warmup, 3),
        "warm_s": [round(x, 3) for x in warm],
        "cached_s": [round(x, 3) for x in cached],
    }
    print()
    print(f"| {args.words}-word text, smollm2-135m vs gemma3-270m, {os.cpu_count()} CPUs | median | all |")
    print("|---|---|---|")
    print(f"| press Score → both heatmaps, models warm, new text | {statistics.median(warm):.2f} s | "
          + ", ".join(f"{x:.2f}" for x in warm) + " |")
    print(f"| press Score → both heatmaps, cached rerun (new session) | {statistics.median(cached):.2f} s | "
          + ", ".join(f"{x:.2f}" for x in cached) + " |")
    print(f"\nload average after the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (other work on the machine counts)")
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"ui_latency-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
