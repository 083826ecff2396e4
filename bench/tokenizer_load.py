"""Tokenizer load time from the converted model cache: transformers AutoTokenizer against
PreTrainedTokenizerFast(tokenizer_file=...) (what backend/models/loading.py now does), side by side,
each in a fresh process (imports not timed), alternating A B A B; and whether they tokenise alike.

  DUET_MODEL_CACHE=.cache/models .venv/bin/python -m bench.tokenizer_load [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from backend.store.paths import model_cache_dir

CHILD = r"""
import json, sys, time, resource
folder, how = sys.argv[1], sys.argv[2]
from transformers import AutoTokenizer
from backend.models.loading import fast_tokenizer
cpu0, t0 = time.process_time(), time.perf_counter()
tokenizer = AutoTokenizer.from_pretrained(folder) if how == "auto" else fast_tokenizer(folder)
wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
texts = ["The quick brown fox.", "  x_1 = 2\n\n日本語 😀 über", "<bos>hi<eos>", ""]
enc = tokenizer(texts, return_offsets_mapping=True, add_special_tokens=False)
sig = [enc["input_ids"], [list(map(list, o)) for o in enc["offset_mapping"]], tokenizer.bos_token_id, tokenizer.eos_token_id,
       sorted(tokenizer.all_special_ids), len(tokenizer), tokenizer.decode(list(range(50))), tokenizer.is_fast,
       sorted(i for i, t in tokenizer.added_tokens_decoder.items() if t.special)]
print(json.dumps({"wall": wall, "cpu": cpu, "sig": sig}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    folders = sorted(p for p in model_cache_dir().iterdir() if (p / "tokenizer.json").is_file())
    rows = []
    for folder in folders:
        times = {"auto": [], "fast": []}
        sigs = {}
        for _ in range(args.repeats):
            for how in ("auto", "fast"):  # alternating A B A B
                out = subprocess.run([sys.executable, "-c", CHILD, str(folder), how], capture_output=True, text=True,
                                     check=True, cwd=Path(__file__).parent.parent)
                result = json.loads(out.stdout.strip().splitlines()[-1])
                times[how].append((result["wall"], result["cpu"]))
                sigs[how] = result["sig"]
        med = {h: sorted(t)[len(t) // 2] for h, t in times.items()}
        rows.append((folder.name, med["auto"], med["fast"], sigs["auto"] == sigs["fast"]))
    print("| model folder | AutoTokenizer wall s / CPU s | PreTrainedTokenizerFast wall s / CPU s | same tokens, offsets, specials |")
    print("| --- | ---: | ---: | --- |")
    for name, auto, fast, same in rows:
        print(f"| {name} | {auto[0]:.2f} / {auto[1]:.2f} | {fast[0]:.2f} / {fast[1]:.2f} | {'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
