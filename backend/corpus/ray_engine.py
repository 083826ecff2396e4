"""Corpus scoring on Ray Data: the same scoring as the local engine, spread over a Ray cluster.

  read     a Dataset of the corpus files -> map_batches(parse) -> one row per text
           (backend.corpus.readers.parse_file, so the texts are those the local engine reads);
           gathered on the driver, where each text gets its text_id (corpus order) and text_hash
  resume   texts whose hash is already in a finished part of OUT are not scored again
  score    a Dataset of work units (texts of about --batch-tokens tokens) -> map_batches over an
           actor pool: each actor loads model A and model B once and scores each unit with
           backend.scoring.pair.score_models (the app's and the CLI's path, without the score cache), with the
           same-vocabulary divergences when both models share a vocabulary; Ray restarts an actor
           that dies and retries its unit, so a crash costs that unit
  write    the driver writes each finished unit as one part of OUT (backend.store.corpus_output) as it arrives,
           so no shared file system is needed, and a stopped job keeps every finished part
  check    every text in exactly one part; rows on disk = rows the parts count

Units, not single texts, go to the actors: a forward pass is worth it only
over many tokens, and a unit is the granularity of retry and resume.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import Callable

import pandas as pd

from backend.corpus.readers import corpus_files, parse_file
from backend.store.corpus_output import (
    HASH_COLUMN,
    OPTIONAL_TABLES,
    TABLES,
    CorpusOutput,
    CorpusRunError,
    assign_text_ids,
    part_key,
    to_parquet_bytes,
)
from backend.corpus.inputs import InputError
from backend.store.score_cache import text_hash
from backend.scoring.score import SCORER_VERSION, ScoreSettings

REPO = Path(__file__).resolve().parents[1]
CHARS_PER_TOKEN = 4  # to size units before any tokenizer is loaded; a unit's size only moves speed
UNITS_PER_WORKER = 4  # a small corpus is cut finer so that every worker gets work
FILES_PER_READ_TASK = 16  # a task costs a worker start; many small files share one
PASSED_ENV = ("DUET_CACHE_DIR", "DUET_MODEL_CACHE", "HF_HOME", "HF_HUB_OFFLINE", "TOKENIZERS_PARALLELISM", "DUET_RAY_CRASH_ONCE")

Say = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class RayOptions:
    address: str | None = None  # None: the RAY_ADDRESS cluster if set, else a local instance
    workers: int | None = None  # actors, one model pair each; None: one per GPU, or one per node without GPUs
    num_gpus_per_worker: float | None = None  # None: 1 when the cluster has GPUs, else 0
    batch_tokens: int | None = None  # estimated tokens per unit; None: 65536 on GPU, 8192 on CPU


def runtime_env() -> dict:
    """What workers of an existing cluster need to run Duet's code: our two packages, shipped, and the cache settings."""
    return {
        "py_modules": [str(REPO / "backend"), str(REPO / "analysis")],
        "env_vars": passed_env(),
    }


def passed_env() -> dict:
    return {name: os.environ[name] for name in PASSED_ENV if name in os.environ}


def connect(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Join the cluster at address (or RAY_ADDRESS), else start a local instance; True when this call started Ray.

    A local instance's workers inherit this process's environment, so putting the repository on
    PYTHONPATH is enough (and saves every worker unpacking a runtime environment); the workers of
    an existing cluster get our packages shipped as py_modules.
    """
    import ray

    if ray.is_initialized():
        return False
    common = dict(logging_level=logging.WARNING, include_dashboard=False)
    if address or os.environ.get("RAY_ADDRESS"):
        ray.init(address=address, runtime_env=runtime_env(), **common)
    else:
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        # address="local": always a fresh instance of our own, never a cluster some other
        # process on this machine happened to start (ray.init() would silently join it).
        ray.init(address="local", num_cpus=num_cpus, **common)
    return True


# --- read ---------------------------------------------------------------------------
def read_corpus_dataset(root: Path, split: str = "none", text_column: str = "text"):
    """The corpus as a Ray Dataset: rows file_index, index, file, text, error (one row per bad file).

    Files are read by tasks pinned to this node, so the corpus needs to be on the driver's
    machine only. A bad file becomes an error row rather than a task failure, so the error
    that reaches the user is the first bad file in corpus order, in one line.
    """
    import ray
    import ray.data

    files = corpus_files(root)
    items = [{"file_index": i, "file": name, "path": str(path)} for i, (name, path) in enumerate(files)]
    here = {"ray.io/node-id": ray.get_runtime_context().get_node_id()}
    blocks = max(1, min(len(items), math.ceil(len(items) / FILES_PER_READ_TASK), 64))
    return ray.data.from_items(items, override_num_blocks=blocks).map_batches(
        _parse_files, batch_format="pandas", fn_kwargs={"split": split, "text_column": text_column}, label_selector=here
    )


def _parse_files(batch: pd.DataFrame, split: str, text_column: str) -> pd.DataFrame:
    rows = []
    for file_index, name, path in zip(batch["file_index"], batch["file"], batch["path"]):
        try:
            data = Path(path).read_bytes()
            texts, error = parse_file(data, name, split, text_column), ""
        except OSError as failure:
            texts, error = [], f"{name} cannot be read: {failure.strerror or failure}"
        except InputError as failure:
            texts, error = [], str(failure)
        rows += [(file_index, i, name, text, "") for i, text in enumerate(texts)]
        if error:
            rows.append((file_index, -1, name, "", error))
    return pd.DataFrame(rows, columns=["file_index", "index", "file", "text", "error"])


def read_corpus_table(root: Path, split: str = "none", text_column: str = "text") -> pd.DataFrame:
    """texts.parquet: text_id, text, text_hash, file, in corpus order. Raises InputError naming a bad file."""
    rows = read_corpus_dataset(root, split, text_column).to_pandas()
    rows = rows.sort_values(["file_index", "index"], kind="stable")
    errors = rows[rows["error"] != ""]
    if len(errors):
        raise InputError(errors["error"].iloc[0])
    if not len(rows):
        raise InputError(f"{root} contains no text")
    return pd.DataFrame(
        {
            "text_id": range(len(rows)),
            "text": rows["text"].tolist(),
            HASH_COLUMN: [text_hash(t) for t in rows["text"]],
            "file": rows["file"].tolist(),
        }
    ).astype({"text_id": "int64"})


# --- units ------------------------------------------------------------------------------
def plan_units(texts: pd.DataFrame, done: set[str], unit_tokens: int, workers: int) -> list[dict]:
    """Work units over the texts not yet done: each unique text once, in corpus order, about unit_tokens each."""
    todo = texts[~texts[HASH_COLUMN].isin(done)]
    ids_by_hash = todo.groupby(HASH_COLUMN, sort=False)["text_id"].apply(list).to_dict()
    first = todo.drop_duplicates(HASH_COLUMN)
    sizes = [max(1, len(t) // CHARS_PER_TOKEN) for t in first["text"]]
    target = min(unit_tokens, max(1, math.ceil(sum(sizes) / (workers * UNITS_PER_WORKER))))
    units, current, tokens = [], [], 0
    for (hash_, text), size in zip(zip(first[HASH_COLUMN], first["text"]), sizes):
        if current and tokens + size > target:
            units.append(current)
            current, tokens = [], 0
        current.append((hash_, text))
        tokens += size
    if current:
        units.append(current)
    return [
        {
            "key": part_key([h for h, _ in unit]),
            "hashes": [h for h, _ in unit],
            "texts": [t for _, t in unit],
            "text_ids": [ids_by_hash[h] for h, _ in unit],
        }
        for unit in units
    ]


# --- score ------------------------------------------------------------------------------
class PairScorer:
    """One actor: model A and model B loaded once, then unit after unit through score_models."""

    def __init__(self, model_a: str, model_b: str, settings: ScoreSettings, threads: int | None = None):
        import torch

        from backend.models.loading import load_model
        from backend.models.specs import ModelSpec

        from transformers.utils import logging as transformers_logging

        if threads:
            torch.set_num_threads(threads)
        transformers_logging.disable_progress_bar()  # a bar per actor per model would bury the job's progress
        self.models = [load_model(ModelSpec.parse(spec)) for spec in (model_a, model_b)]
        self.settings = settings

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame([self.score_unit(*row) for row in zip(batch["key"], batch["hashes"], batch["texts"], batch["text_ids"])])

    def score_unit(self, key: str, hashes, texts, text_ids) -> dict:
        from backend.scoring.pair import score_models

        started = time.perf_counter()
        hashes, texts = list(hashes), list(texts)
        _crash_once_for_tests(key)
        # No score cache: the output folder is this engine's cache (resume), and a corpus would fill
        # the cache with a file per text. A failed side raises, so Ray retries the unit. A failed
        # same-vocabulary comparison is an extra view lost, as in the CLI: the part is written without it.
        models = dict(zip("ab", self.models))
        outcome = score_models(models, texts, self.settings, cache=False)
        result = outcome.result()
        ids_by_hash = {h: [int(i) for i in ids] for h, ids in zip(hashes, text_ids)}
        row = {"key": key, "n_texts": len(texts), "n_tokens": int(result.tokens["logprob"].notna().sum()),
               "same_vocab_error": outcome.errors.get("same_vocab", "")}
        frames = {name: getattr(result, name) for name in TABLES}
        if outcome.same_vocab is not None:
            frames["same_vocab"] = outcome.same_vocab
        for name in TABLES + OPTIONAL_TABLES:
            # An absent table is b"" and -1 rows rather than None, so every block has one column type.
            row[name], row[f"rows_{name}"] = b"", -1
            if name in frames:
                frame = frames[name].assign(**{HASH_COLUMN: [hashes[i] for i in frames[name]["text_id"]]})
                frame = assign_text_ids(frame, ids_by_hash, name)
                row[name], row[f"rows_{name}"] = to_parquet_bytes(frame), len(frame)
        row["seconds"] = time.perf_counter() - started
        return row


def _crash_once_for_tests(key: str) -> None:
    """Test-only fault point (tests/backend/test_ray_engine.py, resume after a worker crash): with
    DUET_RAY_CRASH_ONCE=FOLDER set, the worker process dies on the first unit it sees while
    FOLDER/crashed does not exist (made here, so Ray's retry goes through). Unset, it does nothing."""
    folder = os.environ.get("DUET_RAY_CRASH_ONCE")
    if folder:
        marker = Path(folder) / "crashed"
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, key.encode())
        os.close(fd)
        os._exit(1)


def _resources(options: RayOptions) -> tuple[int, float, float, int]:
    """(workers, GPUs per worker, CPUs per worker, unit tokens) for this cluster."""
    import ray

    total = ray.cluster_resources()
    gpus = float(total.get("GPU", 0))
    per_gpu = options.num_gpus_per_worker if options.num_gpus_per_worker is not None else (1.0 if gpus else 0.0)
    if per_gpu > 0 and gpus < per_gpu:
        raise CorpusRunError(f"--num-gpus-per-worker {per_gpu:g} asked for, but the cluster has {gpus:g} GPU(s)")
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    biggest_node = max((n["Resources"].get("CPU", 0) for n in nodes), default=1)
    workers = options.workers or (max(1, int(gpus // per_gpu)) if per_gpu else len(nodes) or 1)
    if per_gpu:
        cpus = 1.0
    else:  # torch threads: the cluster's cores shared among the workers, never more than a node has
        cpus = float(max(1, min(int(total.get("CPU", 1)) // workers, int(biggest_node))))
    unit_tokens = options.batch_tokens or (65536 if per_gpu else 8192)
    return workers, per_gpu, cpus, unit_tokens


def score_corpus(
    input_path: Path,
    out: Path,
    model_a: str,
    model_b: str,
    settings: ScoreSettings = ScoreSettings(),
    split: str = "none",
    text_column: str = "text",
    options: RayOptions = RayOptions(),
    say: Say | None = None,
) -> dict:
    """Score a corpus file or folder into the output folder out; returns its meta (counts included)."""
    from backend.models.specs import ModelSpec

    say = say or (lambda message: print(message, file=sys.stderr))
    parsed = [ModelSpec.parse(spec) for spec in (model_a, model_b)]  # a bad spec fails here, not in the actors
    if not (options.address or os.environ.get("RAY_ADDRESS")):
        from backend.models.loading import _check_folder

        for spec in parsed:  # on this machine the actors see our files: say now, not after Ray has started
            if spec.kind == "folder":
                _check_folder(Path(spec.source).expanduser(), spec)
    specs = [str(spec) for spec in parsed]
    started_ray = connect(options.address)
    try:
        return _score_corpus(Path(input_path), CorpusOutput(Path(out)), specs, settings, split, text_column, options, say)
    except Exception as error:
        raise _unwrap(error) from None
    finally:
        if started_ray:
            import ray

            ray.shutdown()


def _score_corpus(input_path, output, specs, settings, split, text_column, options, say) -> dict:
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # one job-wide bar below instead of one per operator
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    started = time.perf_counter()
    texts = read_corpus_table(input_path, split, text_column)
    identity = {
        "model_a": specs[0],
        "model_b": specs[1],
        "settings": settings.to_dict(),
        "scorer_version": SCORER_VERSION,  # parts scored by an older scorer are not resumed into this one
    }
    output.prepare(identity)
    output.write_texts(texts)
    parts = output.reconcile(texts, output.done_parts())
    done = {h for part in parts.values() for h in part.ids_by_hash}
    workers, per_gpu, cpus, unit_tokens = _resources(options)
    units = plan_units(texts, done, unit_tokens, workers)
    n_files = texts["file"].nunique()
    todo = sum(len(u["texts"]) for u in units)
    device = f"{per_gpu:g} GPU each" if per_gpu else f"{cpus:g} CPU each"
    already = int(texts[HASH_COLUMN].isin(done).sum())
    say(
        f"corpus: {len(texts)} text(s) in {n_files} file(s), {already} already scored in {output.folder}; "
        f"scoring {todo} in {len(units)} unit(s) on {min(workers, len(units) or 1)} worker(s) ({device})"
    )
    scored_tokens, busy = 0, 0.0
    if units:
        scored_tokens, busy = _run_units(units, output, specs, settings, workers, per_gpu, cpus, say)
    parts = output.done_parts()
    counts = output.check(texts, parts)
    same_vocab = _same_vocab_coverage(parts, say)
    elapsed = time.perf_counter() - started
    meta = {
        **output.read_meta(),
        "engine": "ray",
        "input": str(input_path),
        "split": split,
        "text_column": text_column,
        "n_texts": len(texts),
        "n_files": int(n_files),
        **{f"n_{t}_rows": n for t, n in counts.items()},
        "same_vocab": same_vocab,  # same_vocab/ covers every text (backend.store.corpus_output.open_same_vocab)
        "complete": True,
        # this run alone: what a resumed run had left to do
        "last_run": {"texts_scored": todo, "units": len(units), "tokens_scored": scored_tokens, "seconds": round(elapsed, 2),
                     "scoring_seconds": round(busy, 2), "workers": workers},  # scoring_seconds: summed over actors
    }
    output.write_meta(meta)
    say(
        f"scored {todo} text(s) ({scored_tokens} tokens) in {elapsed:.1f} s; check ok: {len(texts)} texts, "
        f"{counts['tokens']} token rows, {counts['words']} words -> {output.folder}"
    )
    return meta


def _same_vocab_coverage(parts: dict, say: Say) -> bool:
    """True when every part holds its same-vocabulary table; a note when only some do (parts scored
    before the engine computed it, or whose comparison failed): the table is then left out of the run."""
    holding = sum("same_vocab" in part.rows for part in parts.values())
    if 0 < holding < len(parts):
        say(f"note: same-vocabulary divergences are in {holding} of {len(parts)} part(s) only, so they are left out; "
            "score into a new --out to have them for the whole corpus")
    return bool(parts) and holding == len(parts)


def _run_units(units, output: CorpusOutput, specs, settings, workers, per_gpu, cpus, say) -> int:
    import ray.data
    from tqdm import tqdm

    dataset = ray.data.from_items(units, override_num_blocks=len(units)).map_batches(
        PairScorer,
        batch_size=1,  # one unit per call: a unit is already many texts
        batch_format="pandas",
        fn_constructor_kwargs={"model_a": specs[0], "model_b": specs[1], "settings": settings, "threads": None if per_gpu else int(cpus)},
        compute=ray.data.ActorPoolStrategy(size=min(workers, len(units))),
        num_gpus=per_gpu or None,
        num_cpus=cpus,
        runtime_env={"env_vars": passed_env()},  # as they are now, not as they were when Ray started
    )
    total_texts = sum(len(u["texts"]) for u in units)
    ids = {u["key"]: dict(zip(u["hashes"], u["text_ids"])) for u in units}
    tokens, busy = 0, 0.0
    same_vocab_errors: set[str] = set()
    t0 = time.perf_counter()
    with tqdm(total=total_texts, desc="scoring", unit="text", file=sys.stderr, mininterval=1.0) as bar:
        for row in dataset.iter_rows():
            key = row["key"]
            held = [t for t in TABLES + OPTIONAL_TABLES if row[f"rows_{t}"] >= 0]
            output.write_part(key, ids[key], {t: row[t] for t in held}, {t: row[f"rows_{t}"] for t in held})
            if row["same_vocab_error"]:
                same_vocab_errors.add(row["same_vocab_error"])
            tokens += int(row["n_tokens"])
            busy += float(row["seconds"])
            bar.update(int(row["n_texts"]))
            bar.set_postfix_str(f"{tokens / max(time.perf_counter() - t0, 1e-9):.0f} tok/s (both models)", refresh=False)
    for message in sorted(same_vocab_errors):
        say(f"warning: same-vocabulary comparison unavailable: {message}")
    return tokens, busy


def _unwrap(error: BaseException) -> BaseException:
    """The user's error inside Ray's wrappers (a model that cannot load in an actor, say), as its own type."""
    import re

    from backend.models.loading import ModelLoadError
    from backend.scoring.score import OutOfMemory
    from backend.models.specs import SpecError

    kinds = {"ModelLoadError": ModelLoadError, "InputError": InputError, "OutOfMemory": OutOfMemory, "SpecError": SpecError}
    if not type(error).__module__.startswith("ray"):
        return error
    found = re.findall(rf"({'|'.join(kinds)}): ([^\n]+)", str(error))
    if found:
        kind, message = found[-1]
        return kinds[kind](message)
    return error
