"""The Sample and compare button's work, as a job: sample both models, embed the answers, keep the tables.

Only this runs models on the uncertainty page. The sampling runs on a job thread (ui/jobs.py) with its
progress, a rate, an ETA and Cancel; everything drawn afterwards (clusters, metrics, units, the prompt in
detail, exports) reads the UncertaintyResult kept in session_state. Each model's samples go to the sample
store as soon as that model is done, so a cancel during model B keeps model A's, shown as partial.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from analysis import generations as gen
from analysis.uncertainty_result import UncertaintyResult
from backend.corpus.inputs import InputError
from backend.errors import user_message
from backend.policy import JobTooLarge, check_job_tokens, load_settings
from ui import jobs, throughput
from ui.jobs import Cancelled, Job
from ui.markdown import literal
from ui.state import current_specs
from ui.user import current_user, operator_settings

NAMES = {"a": "A", "b": "B"}
KIND = "sample"
RESULT = "unc_result"  # session_state key of the UncertaintyResult on screen
MEMO = "_unc_memo"  # session_state key of the tables derived from it (ui/uncertainty_clusters.py)
CANCELLED = "cancelled before it finished"


def kept_result() -> UncertaintyResult | None:
    return st.session_state.get(RESULT)


def _sample_both(job: Job, specs: dict, prompts: list[str], settings,
                 owner: tuple[str, bool] | None = None) -> tuple[dict, dict, dict]:
    """(results, errors, from_store) by side: each model sampled, or answered from the sample store.
    owner: (user, share_runs) of who asked: the store answers from, and saves as, that user's samples."""
    from backend.models import resident
    from backend.store.samples import SampleStore, cached_sample_prompts

    store = SampleStore(user=owner[0], share=owner[1]) if owner else None

    n, rows = len(prompts), settings.n_samples + 1
    job.total = float(len(specs) * n * rows)
    results, errors, from_store = {}, {}, {}
    for index, (side, spec) in enumerate(specs.items()):
        job.note = f"Model {NAMES[side]} ({spec.label}): sampling {n} prompt{'s' if n != 1 else ''}"

        def progress(done, total, _index=index, _side=side, _spec=spec):
            job.report((_index * total + done) * rows,
                       note=f"Model {NAMES[_side]} ({_spec.label}): {done:.1f} of {total} prompts")

        def load(_spec=spec, _side=side):
            job.note = f"Loading model {NAMES[_side]}: {_spec.label}…"
            return resident.get_model(_spec)

        started = time.monotonic()
        try:
            results[side], from_store[side] = cached_sample_prompts(
                spec, load, prompts, settings, model=side, progress=progress, store=store)
            if not from_store[side]:
                throughput.record("sample", str(spec), n * rows * settings.max_new_tokens, time.monotonic() - started)
            job.lines.append(f"Model {NAMES[side]} ({spec.label}): "
                             + ("found in the sample store" if from_store[side] else "sampled"))
        except Cancelled:
            for rest in list(specs)[index:]:
                errors[rest] = f"{specs[rest].label}: {CANCELLED}"
            break
        except Exception as error:  # noqa: BLE001 - ModelLoadError, InputError, anything: one line
            errors[side] = f"{spec.label}: {user_message(error)}"
    return results, errors, from_store


def _work(job: Job, specs: dict, prompts: list[str], raw_settings: dict, settings,
          answers: list[str] | None = None, owner: tuple[str, bool] | None = None) -> UncertaintyResult | None:
    from backend.models import resident

    started = time.monotonic()
    results, errors, from_store = _sample_both(job, specs, prompts, settings, owner)
    if not results:
        job.error = "; ".join(errors.values())
        return None
    samples = pd.concat([r.samples for r in results.values()], ignore_index=True)
    embeddings = None
    if not job.cancelling:
        job.note = "Embedding the answers with all-MiniLM-L6-v2…"
        try:
            embeddings = resident.get_sentence_encoder().embed(gen.answer_texts(samples))
        except Exception as error:  # noqa: BLE001 - clustering by embeddings is then unavailable
            job.lines.append(f"The sentence encoder failed, so embedding clusters and embedding diversity are "
                             f"unavailable: {user_message(error)}")
    return UncertaintyResult(
        prompts=list(prompts), samples=samples,
        tokens=pd.concat([r.tokens for r in results.values()], ignore_index=True),
        model_inputs=pd.concat([r.prompts for r in results.values()], ignore_index=True),
        embeddings=embeddings, labels=(specs["a"].label, specs["b"].label), specs=(str(specs["a"]), str(specs["b"])),
        settings=raw_settings, errors=errors, from_store=from_store, elapsed=time.monotonic() - started,
        answers=None if answers is None else list(answers),
    )


def run_sampling(prompts: list[str], raw_settings: dict, answers: list[str] | None = None) -> bool:
    """Start sampling both models (or ask first when it should take over a minute). On a problem say why;
    earlier results stay. answers: a gold answer per prompt (kept with the result for the correctness
    section; never shown to a model)."""
    if not prompts:
        st.error("Nothing to sample: type at least one prompt (one per line) or upload a file.")
        return False
    try:
        specs = dict(zip("ab", current_specs()))
    except Exception as error:  # noqa: BLE001 - a bad spec string in the session
        st.error(f"Model choice is not valid: {literal(user_message(error))}")
        return False
    if jobs.running(KIND):
        st.warning("A sampling is already running: wait for it or cancel it first.")
        return False
    from backend.sampling.sampler import SampleSettings

    try:
        settings = SampleSettings(**raw_settings)
    except InputError as error:
        st.error(f"Sampling settings: {literal(error)}")
        return False
    tokens = len(prompts) * (settings.n_samples + 1) * settings.max_new_tokens
    try:
        # The most this can generate: answers stop early at an end token, but never go past max_new_tokens.
        check_job_tokens(tokens * len(specs), load_settings().max_tokens_per_job,
                         f"Sampling {len(prompts):,} prompts × {settings.n_samples + 1} answers × "
                         f"{settings.max_new_tokens:,} new tokens with both models")
    except JobTooLarge as error:
        st.error(f"Not sampled: {literal(str(error))}. The results below are unchanged.", icon=":material/block:")
        return False
    estimate = throughput.Estimate(0.0, True)
    for spec in specs.values():
        estimate = estimate.merge(throughput.estimate("sample", str(spec), tokens))
    n = len(prompts)
    label = f"Sampling {n} prompt{'s' if n != 1 else ''} × {settings.n_samples + 1} answers with both models"
    owner = (current_user(), operator_settings().share_runs)  # read here: the job's thread has no session
    return jobs.start_or_ask(KIND, label, lambda job: _work(job, specs, prompts, raw_settings, settings, answers, owner),
                             "samples", estimate, "This sampling",
                             "Prompts already in the sample store take no time.")


def sampling_area() -> None:
    """Under the button: the ask before long work, the running job's progress, and how the last one ended."""
    job = jobs.take(KIND)
    if job is not None:
        _show_end(job)
    jobs.area(KIND)


def _show_end(job: Job) -> None:
    result: UncertaintyResult | None = job.result
    if result is None:
        if job.state == "cancelled" and not job.error:
            st.info("Sampling cancelled before a model finished; the results below are unchanged.")
        else:
            st.error(f"Neither model could sample; the results below are unchanged. {literal(job.error or '')}")
        return
    cancelled = [side for side, line in result.errors.items() if line.endswith(CANCELLED)]
    finished = " and ".join(NAMES[side] for side in NAMES if side not in result.errors)
    head = (f"Cancelled — partial: model {finished} only, in {job.elapsed:.1f} s" if cancelled
            else f"Sampled in {job.elapsed:.1f} s")
    with st.status(head + (" (one model failed: see below)" if result.errors and not cancelled else ""),
                   state="complete", expanded=False):
        for line in job.lines:
            st.write(literal(line))
    for side, line in result.errors.items():
        if side not in cancelled:
            st.error(f"Model {NAMES[side]}: {literal(line)}")
    for line in job.lines:
        if line.startswith("The sentence encoder failed"):
            st.error(literal(line))
    st.session_state[RESULT] = result
    st.session_state.pop(MEMO, None)
