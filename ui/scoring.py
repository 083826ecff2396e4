"""The Score button: check the inputs, ask before long work, start the scoring job, and show how it ended.

The work itself (load, score, save a run) runs as a job (ui/jobs.py, ui/scoring_work.py) so the page
stays usable, shows its progress and can cancel it. Everything drawn afterwards (colourings, units,
windows, exports) reads the tables kept in session_state.
"""

from __future__ import annotations

import streamlit as st

from backend.corpus.inputs import InputError, check_texts
from backend.errors import user_message
from backend.policy import load_settings
from ui import jobs, throughput
from ui.markdown import literal
from ui.scoring_work import NAMES, ScoringOutcome, score_job
from ui.sidebar import show_device, show_stale_note
from ui.state import ShownResult, current_specs, set_result
from ui.user import current_user

KIND = "score"


def run_scoring(texts: list[str], top_k: int = 5, window: int | None = None, text_meta=None) -> bool:
    """Start scoring texts with the sidebar's models, or ask first when it should take over a minute.

    False, with the reason on the page, when nothing started; the result on screen stays.
    text_meta: a table of metadata columns, one row per text, kept with the saved run.
    """
    try:
        texts = check_texts(texts)
    except InputError as error:
        st.error(f"Nothing to score: {error}. Type a text, load a sample or upload a file.")
        return False
    try:
        specs = dict(zip("ab", current_specs()))
    except Exception as error:  # noqa: BLE001 - a bad spec string in the session
        st.error(f"Model choice is not valid: {user_message(error)}")
        return False
    if jobs.running(KIND):
        st.warning("A scoring is already running: wait for it or cancel it first.")
        return False
    n_chars = sum(len(t) for t in texts)
    estimate = throughput.scoring_estimate([str(s) for s in specs.values()], n_chars)
    label = f"Scoring {len(texts):,} text{'s' if len(texts) != 1 else ''} ({n_chars:,} characters) with both models"
    # Counted exactly in the job, with each model's own tokenizer once it is loaded, before anything is scored.
    max_tokens = load_settings().max_tokens_per_job
    owner = current_user()  # read here: the job's thread has no session to ask
    return jobs.start_or_ask(KIND, label,
                             lambda job: score_job(job, specs, texts, top_k, window, text_meta, max_tokens, owner),
                             "characters", estimate, "This scoring",
                             "Texts already in the score cache take no time.")


def scoring_area() -> None:
    """Under the Score button: the ask before long work, the running job's progress, how the last one ended."""
    finished = jobs.take(KIND)
    if finished is not None:
        _show_end(finished)
    jobs.area(KIND)


def _show_end(job: jobs.Job) -> ShownResult | None:
    """The finished job's result on screen (partial after a cancel), or why there is none."""
    outcome: ScoringOutcome | None = job.result
    if job.state == "failed" or outcome is None:
        if job.state == "failed":
            st.error(f"Scoring failed: {literal(job.error)}. The results below are unchanged.")
        else:
            st.info("Scoring cancelled before any text was finished; the results below are unchanged.")
        return None
    loaded_specs = st.session_state.setdefault("loaded_specs", {})
    for side, pair in outcome.loaded.items():
        loaded_specs[side] = pair
        show_device(side, pair[0])
    if outcome.refused:
        st.error(f"Not scored: {literal(outcome.refused)}. The results below are unchanged.", icon=":material/block:")
        return None
    if outcome.pair is None:
        st.status("Scoring failed" if outcome.loaded else "Neither model could be loaded", state="error")
        _errors(outcome)
        return None
    n_done = len(outcome.pair.texts)
    head = (f"Cancelled — partial: {n_done:,} of {outcome.n_texts:,} texts, scored in {job.elapsed:.1f} s"
            if outcome.partial else f"Scored in {job.elapsed:.1f} s")
    with st.status(head + (" (one model failed: see below)" if outcome.errors else ""), state="complete",
                   expanded=False):
        for line in job.lines:
            st.write(literal(line))
    _errors(outcome)
    if outcome.save_error:
        st.warning(f"Results not saved to the run history: {literal(outcome.save_error)}")
    for line in outcome.warnings:  # outside the status box, which is collapsed
        st.warning(literal(line), icon=":material/warning:")
    shown = ShownResult(
        pair=outcome.pair, model_a=outcome.specs["a"], model_b=outcome.specs["b"],
        settings=outcome.settings, errors=outcome.errors, same_vocab=outcome.same_vocab, run_id=outcome.run_id,
        elapsed_s=job.elapsed,
    )
    set_result(shown)
    show_stale_note()  # the sidebar, drawn before this result, may say it is stale
    return shown


def _errors(outcome: ScoringOutcome) -> None:
    for side in ("a", "b"):
        if side in outcome.errors:
            verb = "could not be loaded" if side not in outcome.loaded else "failed"
            st.error(f"Model {NAMES[side]} {verb}: {literal(outcome.errors[side])}")
