"""The Score button's work, on a job thread (ui/jobs.py): load both models, score in chunks of texts, save a run.

No st.* call here: the page polls the Job for progress and shows what this returns. Texts go to
score_models in chunks, so a Cancel keeps every chunk both models finished: the partial result is
the texts scored by both before the cancel. One chunk (most token-view scorings) gives exactly
score_models' result; several are joined by text (every table is per text, so the join equals one
call's tables, tested).

Before the first chunk, the texts are counted with each loaded model's own tokenizer (the tokens
scoring will read, exactly) and a job over the operator's max_tokens_per_job ends there, refused.
"""

from __future__ import annotations

import dataclasses
import time

import pandas as pd

from backend.errors import user_message
from backend.policy import JobTooLarge, check_job_tokens
from ui import preload, throughput
from ui.jobs import Cancelled, Job

NAMES = {"a": "A", "b": "B"}
# Characters per chunk: a few CPU batches (8,192 tokens of ~4 characters each, with window overlap), so
# the per-call overhead stays small and a cancel loses at most one chunk (seconds to a minute on a CPU).
CHUNK_CHARS = 20_000


@dataclasses.dataclass
class ScoringOutcome:
    pair: object  # PairResult of the texts both models finished (all of them unless cancelled), or None
    errors: dict
    same_vocab: object
    settings: dict  # as saved with the run
    loaded: dict  # side -> (spec asked for, resolved spec), for the sidebar
    n_texts: int  # texts asked for
    specs: dict = dataclasses.field(default_factory=dict)  # side -> spec string as asked for
    run_id: str | None = None
    save_error: str | None = None
    warnings: list = dataclasses.field(default_factory=list)  # the cache or store could not keep something
    refused: str | None = None  # over max_tokens_per_job: why nothing was scored, one line

    @property
    def partial(self) -> bool:
        return self.pair is not None and len(self.pair.texts) < self.n_texts


def chunks(texts: list[str], limit: int) -> list[tuple[int, int]]:
    """(start, end) ranges of texts, each up to limit characters (a longer text is a chunk of its own)."""
    ranges, start, size = [], 0, 0
    for i, text in enumerate(texts):
        if i > start and size + len(text) > limit:
            ranges.append((start, i))
            start, size = i, 0
        size += len(text)
    if start < len(texts):
        ranges.append((start, len(texts)))
    return ranges


def join(parts: list[tuple[int, object, object]]):
    """One (PairResult, same-vocabulary table) from (first text id, PairResult, same_vocab) of consecutive chunks."""
    from backend.scoring.pair import PairResult

    if len(parts) == 1 and parts[0][0] == 0:
        return parts[0][1], parts[0][2]

    def stack(tables: list[tuple[int, pd.DataFrame]]) -> pd.DataFrame:
        return pd.concat([t.assign(text_id=t["text_id"] + offset) for offset, t in tables], ignore_index=True)

    tokens = stack([(o, p.tokens) for o, p, _ in parts])
    # combine() puts model A's rows before model B's (the summary too): keep that order across chunks.
    tokens = tokens.sort_values("model", kind="stable").reset_index(drop=True)
    summary = stack([(o, p.summary) for o, p, _ in parts]).sort_values("model", kind="stable").reset_index(drop=True)
    pair = PairResult(texts=[t for _, p, _ in parts for t in p.texts], tokens=tokens,
                      words=stack([(o, p.words) for o, p, _ in parts]), summary=summary)
    same = [(o, s) for o, _, s in parts if s is not None]
    return pair, (stack(same) if len(same) == len(parts) else None)


def scored_tokens(models: dict, texts: list[str]) -> int:
    """Tokens the models will score, summed over models: each text as backend/scoring/tokens.py splits it
    (no special tokens, special-token strings as plain text), plus the start token where the spec puts one."""
    total = 0
    for loaded in models.values():
        ids = loaded.tokenizer(list(texts), add_special_tokens=False, split_special_tokens=True)["input_ids"]
        total += sum(len(row) for row in ids) + (len(texts) if loaded.bos_id is not None else 0)
    return total


def score_job(job: Job, specs: dict, texts: list[str], top_k: int, window: int | None,
              text_meta=None, max_tokens: int | None = None, owner: str | None = None) -> ScoringOutcome:
    """Everything the Score button starts; Cancel (via job.report) keeps the chunks already done.
    max_tokens: the operator's max_tokens_per_job (None: no limit), checked before anything is scored.
    owner: the user who pressed Score (ui/user.py), recorded with the saved run ("local" when None)."""
    job.note = "Starting the model runtime…"
    from backend.models.resident import get_model
    from backend.scoring.pair import score_models
    from backend.scoring.score import ScoreSettings
    from backend.store.catalog import LOCAL
    from backend.store.runs import RunStore

    settings = ScoreSettings(top_k=top_k, window=window)
    errors: dict[str, str] = {}
    models, loaded = {}, {}
    for side, spec in specs.items():
        job.note = (preload.waiting_note(spec, NAMES[side])
                    or f"Loading model {NAMES[side]} ({spec.label}); a first load converts it once (minutes)…")
        job.check()
        try:
            models[side] = get_model(spec)
        except Exception as error:  # noqa: BLE001 - ModelLoadError and anything else, one line
            errors[side] = f"{spec.label}: {user_message(error)}"
            job.lines.append(f"Model {NAMES[side]} could not be loaded: {errors[side]}")
            continue
        loaded[side] = (str(spec), str(models[side].spec))
        job.lines.append(f"Model {NAMES[side]} ready: {spec.label} on {models[side].device}, {models[side].spec.dtype}")
    saved_settings = settings.to_dict()
    outcome = ScoringOutcome(None, errors, None, saved_settings, loaded, len(texts),
                             {side: str(spec) for side, spec in specs.items()})
    if not models:
        return outcome
    if max_tokens is not None:
        job.note = "Counting tokens…"
        job.check()
        n_tokens = scored_tokens(models, texts)
        both = "the two models" if len(models) > 1 else "the model that loaded"
        try:
            check_job_tokens(n_tokens, max_tokens, f"Scoring these texts with {both}")
        except JobTooLarge as error:
            outcome.refused = str(error)
            return outcome
        job.lines.append(f"{n_tokens:,} tokens to score, within this server's {max_tokens:,} per job")

    n_chars = sum(len(t) for t in texts)
    job.total, job.unit = float(n_chars * len(models)), "characters"
    parts, done_chars = [], 0
    try:
        for start, end in chunks(texts, CHUNK_CHARS):
            chunk = texts[start:end]
            size = sum(len(t) for t in chunk)
            sides = list(models)
            clock = {"t": time.monotonic()}  # when the side now scoring began (sides run one after the other)

            def progress(side: str, done: int, total: int, _base=done_chars, _size=size, _sides=sides,
                         _start=start, _end=end, _clock=clock) -> None:
                if done >= total:
                    if total > 1:  # scored by the model, not read from the score cache (which reports 1 of 1)
                        throughput.record("score", str(specs[side]), _size, time.monotonic() - _clock["t"])
                    _clock["t"] = time.monotonic()
                share = done / total if total else 1.0
                job.report((_base + _size * (_sides.index(side) + share)),
                           note=f"Model {NAMES[side]}: {done:,} of {total:,} tokens of texts {_start + 1:,}–{_end:,} "
                                f"of {len(texts):,}")

            result = score_models(models, chunk, settings, progress, errors)
            errors.update(result.errors)
            outcome.warnings.extend(w for w in result.warnings if w not in outcome.warnings)
            for side in [s for s in models if s in result.errors]:
                models.pop(side)  # failed on this chunk: it would fail on the next ones too
            if result.pair is None:
                break
            parts.append((start, result.pair, result.same_vocab))
            done_chars += size * len(sides)
            if not models:
                break
    except Cancelled:
        pass  # keep the chunks both models finished
    if not parts:
        return outcome
    outcome.pair, outcome.same_vocab = join(parts)
    outcome.errors = errors
    if errors:
        saved_settings["failed"] = {k: v for k, v in errors.items() if k in ("a", "b")}
    if outcome.partial:
        saved_settings["partial"] = f"{len(outcome.pair.texts)} of {len(texts)} texts"
    job.note = "Saving the run…"
    meta = None if text_meta is None else text_meta.iloc[: len(outcome.pair.texts)]
    store = None
    try:
        store = RunStore(user=owner or LOCAL)
        outcome.run_id = store.save(outcome.pair, str(specs["a"]), str(specs["b"]), saved_settings,
                                    same_vocab=outcome.same_vocab, text_meta=meta)
    except Exception as error:  # noqa: BLE001 - the results still show; only the history misses them
        outcome.save_error = user_message(error)
    outcome.warnings.extend(getattr(store, "notes", ()))  # a catalog rebuilt on the way
    return outcome
