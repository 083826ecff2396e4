"""`make run` serves this machine only: its streamlit command line binds 127.0.0.1, checked on the real socket."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def listening_addresses(port: int) -> set[str]:
    """Local addresses of sockets listening on `port`, read from the kernel's tables (IPv4 and IPv6)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if int(port_hex, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                raw = bytes.fromhex(address)
                if width == 8:
                    found.add(socket.inet_ntop(socket.AF_INET, raw[::-1]))
                else:
                    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                    found.add(socket.inet_ntop(socket.AF_INET6, words))
    return found


def test_make_run_binds_to_localhost(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    plan = subprocess.run(["make", "-n", "run", f"PORT={port}"], cwd=REPO, capture_output=True, text=True, check=True)
    line = next(l for l in plan.stdout.splitlines() if "streamlit run app.py" in l)
    assert "--server.address 127.0.0.1" in line
    assert any("backend.policy" in l for l in plan.stdout.splitlines())  # settings checked before the server
    argv = shlex.split(line)
    argv[0] = str(REPO / argv[0])
    env = dict(os.environ, DUET_CACHE_DIR=str(tmp_path), HF_HUB_OFFLINE="1")
    process = subprocess.Popen(argv + ["--server.headless", "true"], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not listening_addresses(port) and time.monotonic() < deadline:
            assert process.poll() is None, "streamlit exited"
            time.sleep(0.3)
        assert listening_addresses(port) == {"127.0.0.1"}
    finally:
        process.terminate()
        process.wait(timeout=15)
