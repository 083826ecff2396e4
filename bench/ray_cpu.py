"""Corpus scoring throughput: the local engine vs the Ray engine with 1 and 2 workers (issue 8).

  .venv/bin/python -m bench.ray_cpu [--models smollm2-135m gemma3-270m] [--paragraphs 50] [--workers 1 2] [--rounds 1]

Each run is the real command in a fresh process (python -m backend score ...), so the times
include everything a user waits for: Python start, model loading, for Ray the local instance
and its actors. The corpus is ~50 English paragraphs (the standard library's own module
docs, so it is the same on every machine with this Python), split over 5 .txt files for Ray
and joined into one file for the local engine (--split paragraph: the same texts). Each run
has an empty score cache; converted models come from the usual model cache.

tokens/s counts scored token rows of both models over the command's wall time. "job s" is the
Ray job alone (reading, actors starting, scoring, writing, check), without starting Ray;
"scoring s" is the actors' time inside score_texts and combine, per worker. With --rounds N
the configurations run interleaved N times (local, ray 1, ray 2, local, ...), so that other
work on the machine slows each of them alike; every round is a row.
The last column checks the result: the largest logprob difference from the local engine's, over
the same (model, text, position) rows. Prints a markdown table; writes bench/results/ray_cpu-<time>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import inspect
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC_MODULES = ("json", "csv", "argparse", "collections", "logging", "subprocess", "threading", "pathlib",
               "unittest", "email", "sqlite3", "zipfile", "tarfile", "heapq", "bisect", "decimal", "fractions",
               "statistics", "textwrap", "difflib", "string", "re", "datetime", "calendar", "shutil", "tempfile")


def paragraphs(count: int) -> list[str]:
    """Prose paragraphs from module and class docstrings of the standard library, in a fixed order."""
    found: list[str] = []
    for name in DOC_MODULES:
        module = importlib.import_module(name)
        docs = [inspect.getdoc(module) or ""]
        docs += [inspect.getdoc(obj) or "" for _, obj in sorted(vars(module).items()) if inspect.isclass(obj) and obj.__module__ == name]
        for doc in docs:
            for block in doc.split("\n\n"):
                block = " ".join(block.split())
                if len(block) >= 200 and not block.startswith((">>>", "-", "*")) and block not in found:
                    found.append(block)
    if len(found) < count:
        raise SystemExit(f"only {len(found)} paragraphs found; ask for fewer")
    return found[:count]


def run(argv: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "backend", *argv], env=env, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    return wall, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs=2, default=["smollm2-135m", "gemma3-270m"])
    parser.add_argument("--paragraphs", type=int, default=50)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    import pandas as pd

    texts = paragraphs(args.paragraphs)
    load_before = os.getloadavg()[0]  # other work on the machine slows every row alike, but not steadily
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = tmp / "corpus"
        folder.mkdir()
        per_file = max(1, len(texts) // 5)
        for i in range(0, len(texts), per_file):
            (folder / f"part-{i // per_file:02d}.txt").write_text("\n\n".join(texts[i : i + per_file]))
        (tmp / "all.txt").write_text("\n\n".join(texts))
        models = ["--model-a", args.models[0], "--model-b", args.models[1], "--split", "paragraph"]

        n_tokens = 0
        for round_ in range(1, args.rounds + 1):
            env = {**os.environ, "DUET_CACHE_DIR": str(tmp / f"cache-local-{round_}")}
            wall, _ = run(["score", *models, "--input", str(tmp / "all.txt"), "--out", str(tmp / "local.parquet")], env)
            local = pd.read_parquet(tmp / "local.parquet")
            n_tokens = int(local["logprob"].notna().sum())
            rows.append({"round": round_, "engine": "local", "workers": "-", "wall s": wall, "job s": None, "scoring s": None,
                         "tokens/s": n_tokens / wall, "load": os.getloadavg()[0], "max |Δ logprob|": None})
            print(rows[-1], file=sys.stderr, flush=True)  # each row as it comes: a long run stopped early still tells
            for workers in args.workers:
                env = {**os.environ, "DUET_CACHE_DIR": str(tmp / f"cache-ray{workers}-{round_}")}
                out = tmp / f"ray{workers}-{round_}"
                argv = ["score", *models, "--input", str(folder), "--out", str(out), "--engine", "ray", "--workers", str(workers)]
                wall, _ = run(argv, env)
                last = json.loads((out / "meta.json").read_text())["last_run"]
                keys = ["model", "text_id", "position"]
                ray_table = pd.read_parquet(out / "tokens", columns=keys + ["logprob"]).sort_values(keys, ignore_index=True)
                local_table = local[keys + ["logprob"]].sort_values(keys, ignore_index=True)
                assert ray_table[keys].equals(local_table[keys]), "the Ray engine scored other tokens than the local engine"
                diff = float((ray_table["logprob"] - local_table["logprob"]).abs().max())
                rows.append({"round": round_, "engine": "ray", "workers": str(workers), "wall s": wall, "job s": last["seconds"],
                             "scoring s": last["scoring_seconds"] / workers, "tokens/s": n_tokens / wall, "load": os.getloadavg()[0],
                             "max |Δ logprob|": diff})
                print(rows[-1], file=sys.stderr, flush=True)

    command = "python -m bench.ray_cpu " + " ".join(sys.argv[1:])
    print(f"`{command}` — {len(texts)} paragraphs, {n_tokens} scored tokens (both models), models {' / '.join(args.models)}, "
          f"{os.cpu_count()} CPU cores, load average before {load_before:.1f}, Python {platform.python_version()}\n")
    print("| round | engine | workers | wall s | job s | scoring s | tokens/s | load avg after | max abs Δ logprob vs local |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        job = "-" if row["job s"] is None else f"{row['job s']:.1f}"
        scoring = "-" if row["scoring s"] is None else f"{row['scoring s']:.1f}"
        diff = "-" if row["max |Δ logprob|"] is None else f"{row['max |Δ logprob|']:.1e}"
        print(f"| {row['round']} | {row['engine']} | {row['workers']} | {row['wall s']:.1f} | {job} | {scoring} | {row['tokens/s']:.0f} | {row['load']:.1f} | {diff} |")
    results = REPO / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (results / f"ray_cpu-{stamp}.json").write_text(json.dumps({"command": command, "tokens": n_tokens, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
