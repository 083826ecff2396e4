"""A real `streamlit run app.py` on a free port, driven by Debian's headless Chromium through Playwright.

The default pair is pointed at the tiny test models (DUET_DEFAULT_MODEL_A/B) so the
browser tests take seconds; scores and runs go to a temporary cache folder.
Screenshots (browser_helpers.shot) land in screenshots/, git-ignored: look at them.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]

if not os.path.exists(CHROMIUM):
    pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package (requirements.txt)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not become healthy in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def running_app(tiny_a, tiny_b, folder: Path):
    """`streamlit run app.py` on a free port with the tiny pair as defaults; yields its URL."""
    port = free_port()
    log = folder / "streamlit.log"
    env = dict(
        os.environ,
        DUET_DEFAULT_MODEL_A=str(tiny_a),
        DUET_DEFAULT_MODEL_B=str(tiny_b),
        DUET_CACHE_DIR=str(folder / "cache"),
        HF_HUB_OFFLINE="1",
        BROWSER_PATH=CHROMIUM,
        TOKENIZERS_PARALLELISM="false",
    )
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def server(tiny_a, tiny_b, tmp_path_factory):
    with running_app(tiny_a, tiny_b, tmp_path_factory.mktemp("e2e")) as url:
        yield url


@pytest.fixture
def fresh_server(tiny_a, tiny_b, tmp_path):
    """A server no session has opened yet (for what only the first session of a process sees)."""
    with running_app(tiny_a, tiny_b, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser session (its own Streamlit session) that records every dialog a page tries to open."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.dialogs = []

    def on_dialog(dialog):
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.set_default_timeout(60_000)
    yield page
    context.close()
