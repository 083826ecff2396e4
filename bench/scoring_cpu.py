"""Scoring-engine timings on this machine (issue 3): load, warm scoring, cached re-score.

  .venv/bin/python -m bench.scoring_cpu [--skip-first-load]

Measured side by side in one run; prints a markdown table. The first GGUF load
runs in a fresh process with an empty model cache; the warm load in another
fresh process reads the safetensors cache.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

TEXT = (
    "The history of the lighthouse is a history of people trying to make the dark a little less dangerous. "
    "Early lights were simple fires on hills; later, towers of stone carried oil lamps, and in 1822 Augustin "
    "Fresnel designed a lens that could throw a beam twenty miles out to sea. Keepers trimmed wicks, wound "
    "clockwork, and logged the weather every four hours. "
) * 6


def _load_in_fresh_process(alias: str, model_cache: str) -> float:
    code = (
        "import time,sys; t=time.perf_counter();"
        "from backend.models.loading import load_model; from backend.models.specs import ModelSpec;"
        f"load_model(ModelSpec.parse({alias!r})); print(time.perf_counter()-t)"
    )
    env = {**os.environ, "DUET_MODEL_CACHE": model_cache}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-first-load", action="store_true", help="skip the slow cold GGUF conversion")
    args = parser.parse_args()
    from backend.store.paths import model_cache_dir
    from backend.models.loading import load_model
    from backend.store.score_cache import cached_score_texts
    from backend.scoring.score import score_texts
    from backend.models.specs import DEFAULT_PAIR, ModelSpec

    rows = []
    for alias in DEFAULT_PAIR:
        row = {"model": alias}
        if not args.skip_first_load:
            with tempfile.TemporaryDirectory() as empty:
                row["first GGUF load s"] = _load_in_fresh_process(alias, empty)
        row["warm load (safetensors cache) s"] = _load_in_fresh_process(alias, str(model_cache_dir()))
        loaded = load_model(ModelSpec.parse(alias))
        n_tokens = len(loaded.tokenizer(TEXT)["input_ids"])
        score_texts(loaded, ["warm up"])
        start = time.perf_counter()
        score_texts(loaded, [TEXT])
        row["tokens"] = n_tokens
        row["warm score s"] = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as cache:
            os.environ["DUET_CACHE_DIR"] = cache
            cached_score_texts(loaded, [TEXT])
            start = time.perf_counter()
            cached_score_texts(loaded, [TEXT])
            row["cached re-score s"] = time.perf_counter() - start
        row["warm tokens/s"] = n_tokens / row["warm score s"]
        rows.append(row)
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for row in rows:
        print("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row.values()) + " |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
