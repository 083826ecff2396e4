"""A cached CLI rerun against the imports alone: the same `python -m backend score` twice on one short
text with the default pair (a fresh score cache; the first run loads and scores, the second finds every
text cached and loads no model), and a process that only imports what the CLI imports.

  DUET_MODEL_CACHE=.cache/models .venv/bin/python -m bench.cached_rerun [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parent.parent
IMPORTS = ("import backend.__main__, backend.corpus.inputs, backend.models.loading, backend.scoring.pair, "
           "backend.store.runs, tqdm")


def run(command: list[str], env: dict) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the child) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp) / "in.txt"
        text.write_text("The quick brown fox jumps over the lazy dog.\n")
        env = {**os.environ, "DUET_CACHE_DIR": str(Path(tmp) / "cache"), "PYTHONPATH": str(ROOT)}
        cli = [sys.executable, "-m", "backend", "score", "--input", str(text), "--no-save-run", "--out",
               str(Path(tmp) / "out.parquet")]
        first = run(cli, env)
        rows = {"first run (loads both models, scores)": [first], "cached rerun": [], "imports only": []}
        for _ in range(args.repeats):  # alternating
            rows["cached rerun"].append(run(cli, env))
            rows["imports only"].append(run([sys.executable, "-c", IMPORTS], env))
    print("| command | wall s | CPU s |")
    print("| --- | ---: | ---: |")
    for name, times in rows.items():
        walls, cpus = sorted(t[0] for t in times), sorted(t[1] for t in times)
        print(f"| {name} | {walls[len(walls) // 2]:.1f} | {cpus[len(cpus) // 2]:.1f} |")


if __name__ == "__main__":
    main()
