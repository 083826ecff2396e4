"""Headless CLI.

  python -m backend score --model-a SPEC --model-b SPEC --input FILE [--out OUT.parquet]
      [--split none|line|paragraph] [--text-column text] [--meta-columns domain,source] [--top-k 5]
      [--window N] [--stride N]
      [--compile-head auto|on|off]
      [--name NAME] [--no-save-run]

Saves the result in the run store (the dashboard's Runs page opens it) and, with
--out, writes the token table of both models (column model = a|b) to OUT.parquet and
the word-aligned table to OUT.words.parquet (and, when both models share a vocabulary,
the KL/JS/top-k divergences to OUT.same_vocab.parquet). Progress goes to stderr. Bad input
exits non-zero with one line on stderr, before any model loads where it can be told (numbers,
specs, an --out that cannot be written). A cache or run store that cannot be written is a
"warning:" line; --out is written all the same.

  python -m backend score ... --engine ray --input FILE_OR_FOLDER --out OUT_FOLDER
      [--address ADDR] [--workers N] [--num-gpus-per-worker G] [--batch-tokens T]

The same scoring spread over a Ray cluster (backend/corpus/ray_engine.py); OUT_FOLDER
holds tokens/, words/, summary/ parquet parts, and same_vocab/ when both models share a
vocabulary (backend/store/corpus_output.py). Rerun the
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


class _Parser(argparse.ArgumentParser):
    """argparse, with a refused argument said in one line (exit 2), like every other CLI error."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m backend", description="Duet: score texts with two models.")
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
    score.add_argument("--meta-columns", default="",
                       help="local engine, .csv/.jsonl input: comma-separated columns kept with the run (e.g. "
                            "domain,source,split); the dashboard ranks and fits per domain with them")
    score.add_argument("--top-k", type=_positive, default=5, help="alternatives kept per token (1 or more)")
    score.add_argument("--window", type=_positive, default=None)
    score.add_argument("--stride", type=_positive, default=None)
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
            if args.meta_columns:
                raise InputError("--meta-columns works with the local engine only for now")
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

    from backend.corpus.inputs import check_texts, read_rows
    from backend.models.loading import load_model
    from backend.scoring.pair import score_models
    from backend.models.specs import ModelSpec

    path = Path(args.input)
    if path.is_dir():
        raise InputError(f"{path} is a folder: the local engine reads one file; use --engine ray to score a folder")
    if not path.is_file():
        raise FileNotFoundError(f"no input file at {path}")
    rows = read_rows(path.read_bytes(), path.name, args.split, args.text_column)
    texts = check_texts(rows.texts)
    meta = None
    if args.meta_columns:
        from backend.corpus.metadata import read_metadata

        meta = read_metadata(path.read_bytes(), path.name, args.text_column,
                             [c.strip() for c in args.meta_columns.split(",") if c.strip()])
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix != ".parquet":
        raise InputError(f"--out must end in .parquet, got {out.name}")
    if out is None and args.no_save_run:
        raise InputError("nowhere to put the result: give --out, or drop --no-save-run")
    if out is not None:
        _check_writable(out)  # before any model loads: a bad --out must not cost the scoring
    specs = ModelSpec.parse(args.model_a), ModelSpec.parse(args.model_b)
    settings = _settings(args)
    from backend import threads

    threads.apply()  # one torch thread unless DUET_TORCH_THREADS says otherwise (backend/threads.py)
    say = lambda message: print(message, file=sys.stderr)  # noqa: E731
    if rows.skipped:
        say(f"warning: {rows.skipped_note(path.name)}; the run's texts table keeps each text's source_row")
    bars: dict[str, tqdm] = {}

    def progress(model: str, done: int, total: int) -> None:
        bar = bars.setdefault(model, tqdm(total=total, desc=f"model {model}", unit="tok", file=sys.stderr))
        bar.update(done - bar.n)

    # Both models or nothing: a failed side raises its own error (one line, exit 1). A model is loaded
    # only when some text is not in the score cache. Same-vocabulary divergences come too when both
    # models share a vocabulary (a model and its int8 copy, say).
    try:
        outcome = score_models(dict(zip("ab", specs)), texts, settings, progress,
                               load=lambda spec: load_model(spec, progress=say), need_both=True)
    finally:
        for bar in bars.values():
            bar.close()
    result = outcome.result()
    n_windows = int((result.tokens["context_tokens"] < result.tokens["position"]).sum())
    note = f"; {n_windows} tokens scored in sliding windows" if n_windows else ""
    if "same_vocab" in outcome.errors:
        outcome.warnings.append(f"same-vocabulary comparison unavailable: {outcome.errors['same_vocab']}")
    # The run store and --out each on their own: a failure of one (a full disk, a damaged catalog)
    # is a warning, and the other is still written.
    if not args.no_save_run:
        saved = {**settings.to_dict(), "engine": "local", "source": str(path.resolve())}
        run_id = outcome.save_run(str(specs[0]), str(specs[1]), saved, args.name or f"{path.name}: {len(texts)} text(s)",
                                  source_rows=rows.source_rows, text_meta=meta)
        if run_id is not None:
            say(f"saved as run {run_id} (open it on the dashboard's Runs page)")
    for line in outcome.warnings:  # each on its own line, after the progress bars are closed
        say(f"warning: {line}")
    where = ""
    if out is not None:
        from backend.store import atomic

        words_path = out.with_suffix(".words.parquet")
        atomic.sweep_leftovers(out.parent, recursive=False)
        from backend.store.topk_columns import columnar

        files = {words_path: result.words}
        if outcome.same_vocab is not None:
            files[out.with_suffix(".same_vocab.parquet")] = outcome.same_vocab
        # Each complete or absent; the tokens file goes last, so once it is there the others are too.
        # Top-k as Arrow fixed-size lists; pandas reads them as arrays (a row without context: None).
        try:
            atomic.write_parquets({**files, out: columnar(result.tokens)})
        except OSError as error:  # checked before scoring, so rare: the disk filled up meanwhile
            from backend.errors import user_message

            raise InputError(f"cannot write --out {out}: {user_message(error)}") from None
        where = f" -> {out}, {len(result.words)} words -> {words_path}"
        if outcome.same_vocab is not None:
            where += f", same-vocabulary divergences -> {out.with_suffix('.same_vocab.parquet')}"
    say(f"scored {len(texts)} text(s): {len(result.tokens)} token rows{where}{note}")
    return 0


def _positive(value: str) -> int:
    """An argparse type: a whole number of at least 1 (refused before any model loads)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {number}")
    return number


def _check_writable(out: Path) -> None:
    """--out's folder exists (or can be made) and takes a new file; else one line, before any scoring."""
    from backend.store import atomic

    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name ending in .parquet")
    try:
        atomic.probe_writable(out)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        where = error.filename if error.filename and atomic.TEMP_PREFIX not in str(error.filename) else out.parent
        raise InputError(f"cannot write --out {out}: {reason} ({where})") from None


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
