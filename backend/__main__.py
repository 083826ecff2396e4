"""Headless CLI.

  python -m backend score --model-a SPEC --model-b SPEC --input FILE [--out OUT.parquet]
      [--split none|line|paragraph] [--text-column text] [--top-k 5] [--window N] [--stride N]
      [--compile-head auto|on|off]
      [--name NAME] [--no-save-run]

Saves the result in the run store (the dashboard's Runs page opens it) and, with
--out, writes the token table of both models (column model = a|b) to OUT.parquet and
the word-aligned table to OUT.words.parquet. Progress goes to stderr. Bad input
exits non-zero with one line on stderr.

  python -m backend score ... --engine ray --input FILE_OR_FOLDER --out OUT_FOLDER
      [--address ADDR] [--workers N] [--num-gpus-per-worker G] [--batch-tokens T]

The same scoring spread over a Ray cluster (backend/corpus/ray_engine.py); OUT_FOLDER
holds tokens/, words/, summary/ parquet parts (backend/store/corpus_output.py). Rerun the
same command to finish an interrupted job: only missing texts are scored.

  python -m backend import-run OUT_FOLDER [--name NAME]

Copies a finished OUT_FOLDER into the run store, where the dashboard's Runs page lists it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from backend.corpus.inputs import InputError  # light: no torch
from backend.models.specs import DEFAULT_PAIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend", description="Duet: score texts with two models.")
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser("score", help="score a corpus with model A and model B")
    score.add_argument("--model-a", default=DEFAULT_PAIR[0], help="model spec (see backend/models/specs.py)")
    score.add_argument("--model-b", default=DEFAULT_PAIR[1])
    score.add_argument("--input", required=True, help=".txt, .md, .csv or .jsonl")
    score.add_argument("--out", default=None, help="OUT.parquet (words go to OUT.words.parquet); ray: a folder (required)")
    score.add_argument("--name", default="", help="name of the run on the dashboard's Runs page")
    score.add_argument("--no-save-run", action="store_true",
                       help="local engine: do not add the result to the dashboard's runs (saved there by default)")
    score.add_argument("--split", default="none", choices=["none", "line", "paragraph"], help="for .txt input")
    score.add_argument("--text-column", default="text", help="for .csv and .jsonl input")
    score.add_argument("--top-k", type=int, default=5)
    score.add_argument("--window", type=int, default=None)
    score.add_argument("--stride", type=int, default=None)
    score.add_argument("--compile-head", default="auto", choices=["auto", "on", "off"],
                       help="torch.compile the head statistics: same numbers, faster after a compile of up to half a "
                            "minute once per process (bench/README.md); auto: on for 100k tokens or more")
    engine = score.add_argument_group("engine")
    engine.add_argument("--engine", default="local", choices=["local", "ray"], help="ray: --input may be a folder (and .parquet), --out is a folder")
    engine.add_argument("--address", default=None, help="ray: cluster address (host:6379); default RAY_ADDRESS, else a local instance")
    engine.add_argument("--workers", type=int, default=None, help="ray: actors, each holding both models; default one per GPU (one per node without GPUs)")
    engine.add_argument("--num-gpus-per-worker", type=float, default=None, help="ray: default 1 when the cluster has GPUs, else 0")
    engine.add_argument("--batch-tokens", type=int, default=None, help="ray: estimated tokens per unit of work (retry and resume); default 65536 on GPU, 8192 on CPU")
    import_run = commands.add_parser("import-run", help="add a finished --engine ray output folder to the dashboard's runs")
    import_run.add_argument("folder")
    import_run.add_argument("--name", default="")
    args = parser.parse_args(argv)
    try:
        from backend.store.paths import sweep_cache

        sweep_cache()  # crashed writers' temporaries, older than a few minutes
        if args.command == "import-run":
            return _import_run(args)
        if args.engine == "ray":
            return _score_ray(args)
        return _score(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # one clear line, never a traceback
        from backend.errors import user_message

        print(f"error: {user_message(error)}", file=sys.stderr)
        return 1


def _score(args) -> int:
    from tqdm import tqdm

    from backend.corpus.inputs import check_texts, read_texts
    from backend.models.loading import load_model
    from backend.scoring.pair import score_models
    from backend.models.specs import ModelSpec

    path = Path(args.input)
    if not path.is_file():
        raise FileNotFoundError(f"no input file at {path}")
    texts = check_texts(read_texts(path.read_bytes(), path.name, args.split, args.text_column))
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix != ".parquet":
        raise InputError(f"--out must end in .parquet, got {out.name}")
    if out is None and args.no_save_run:
        raise InputError("nowhere to put the result: give --out, or drop --no-save-run")
    specs = ModelSpec.parse(args.model_a), ModelSpec.parse(args.model_b)
    settings = _settings(args)
    say = lambda message: print(message, file=sys.stderr)  # noqa: E731
    bars: dict[str, tqdm] = {}

    def progress(model: str, done: int, total: int) -> None:
        bar = bars.setdefault(model, tqdm(total=total, desc=f"model {model}", unit="tok", file=sys.stderr))
        bar.update(done - bar.n)

    # Both models or nothing: a failed side raises its own error (one line, exit 1). A model is loaded
    # only when some text is not in the score cache.
    try:
        outcome = score_models(dict(zip("ab", specs)), texts, settings, progress, same_vocab=False,
                               load=lambda spec: load_model(spec, progress=say), need_both=True)
    finally:
        for bar in bars.values():
            bar.close()
    result = outcome.result()
    n_windows = int((result.tokens["context_tokens"] < result.tokens["position"]).sum())
    note = f"; {n_windows} tokens scored in sliding windows" if n_windows else ""
    # The run store first: it is what the dashboard opens, and a bad --out folder must not lose it.
    if not args.no_save_run:
        from backend.store.runs import RunStore

        saved = {**settings.to_dict(), "engine": "local", "source": str(path.resolve())}
        run_id = RunStore().save(result, str(specs[0]), str(specs[1]), saved,
                                 args.name or f"{path.name}: {len(texts)} text(s)")
        say(f"saved as run {run_id} (open it on the dashboard's Runs page)")
    where = ""
    if out is not None:
        from backend.store import atomic

        words_path = out.with_suffix(".words.parquet")
        atomic.sweep_leftovers(out.parent, recursive=False)
        # Each complete or absent; the tokens file goes last, so once it is there its words are too.
        from backend.store.topk_columns import columnar

        # top-k as Arrow fixed-size lists; pandas reads them as arrays (a row without context: None)
        atomic.write_parquets({words_path: result.words, out: columnar(result.tokens)})
        where = f" -> {out}, {len(result.words)} words -> {words_path}"
    say(f"scored {len(texts)} text(s): {len(result.tokens)} token rows{where}{note}")
    return 0


def _score_ray(args) -> int:
    if not args.out:
        raise InputError("--engine ray needs --out FOLDER (then `python -m backend import-run FOLDER` adds it to the runs)")
    from backend.corpus.ray_engine import RayOptions, score_corpus

    options = RayOptions(args.address, args.workers, args.num_gpus_per_worker, args.batch_tokens)
    settings = _settings(args)
    score_corpus(Path(args.input), Path(args.out), args.model_a, args.model_b, settings, args.split, args.text_column, options)
    return 0


def _settings(args):
    from backend.scoring.score import ScoreSettings

    return ScoreSettings(top_k=args.top_k, window=args.window, stride=args.stride,
                         compile_head={"auto": None, "on": True, "off": False}[args.compile_head])


def _import_run(args) -> int:
    from backend.store.corpus_output import import_corpus_run

    run_id = import_corpus_run(args.folder, name=args.name)
    print(f"imported {args.folder} as run {run_id}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
