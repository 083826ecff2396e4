"""The Score button's work, with progress: load both models, score, save a run, keep the tables in the session.

Only this runs models. Everything drawn afterwards (colourings, units,
windows, exports) reads the tables kept in session_state.
"""

from __future__ import annotations

import time

import streamlit as st

from backend.errors import user_message
from backend.corpus.inputs import InputError, check_texts
from ui.markdown import literal
from ui.sidebar import show_device, show_stale_note
from ui.state import ShownResult, current_specs, set_result

NAMES = {"a": "A", "b": "B"}


def run_scoring(texts: list[str], top_k: int = 5, window: int | None = None, text_meta=None) -> ShownResult | None:
    """Score texts with the sidebar's models. On failure, say why and leave the earlier result in place.
    text_meta: a table of metadata columns, one row per text, kept with the saved run."""
    try:
        texts = check_texts(texts)
    except InputError as error:
        st.error(f"Nothing to score: {error}. Type a text, load a sample or upload a file.")
        return None
    try:
        specs = dict(zip("ab", current_specs()))
    except Exception as error:  # noqa: BLE001 - a bad spec string in the session
        st.error(f"Model choice is not valid: {user_message(error)}")
        return None
    started = time.perf_counter()
    errors: dict[str, str] = {}
    models = {}
    with st.status("Loading models…", expanded=True) as status:
        # Imported here, not at the top: torch takes seconds to import, and the page
        # should draw at once; the status box shows this wait.
        with st.spinner("Starting the model runtime…", show_time=True):
            from backend.models.resident import get_model
            from backend.scoring.pair import score_models
            from backend.scoring.score import ScoreSettings
        settings = ScoreSettings(top_k=top_k, window=window)
        for side, spec in specs.items():
            status.update(label=f"Loading model {NAMES[side]}: {spec.label}…")
            with st.spinner(
                f"Loading model {NAMES[side]} ({spec.label}). A first load of an embedded model converts it "
                "once and can take a couple of minutes; later loads take seconds.",
                show_time=True,
            ):
                try:
                    models[side] = get_model(spec)
                except Exception as error:  # noqa: BLE001 - ModelLoadError and anything else, one line
                    errors[side] = f"{spec.label}: {user_message(error)}"
            if side in models:
                loaded_specs = st.session_state.setdefault("loaded_specs", {})
                loaded_specs[side] = (str(spec), str(models[side].spec))
                show_device(side, str(spec))
                st.write(f"Model {NAMES[side]} ready: {literal(spec.label)} on {models[side].device}, {models[side].spec.dtype}")
            else:
                st.error(f"Model {NAMES[side]} could not be loaded: {literal(errors[side])}")
        if not models:
            status.update(label="Neither model could be loaded", state="error")
            return None
        n_chars = sum(len(t) for t in texts)
        status.update(label=f"Scoring {len(texts)} text{'s' if len(texts) != 1 else ''} ({n_chars:,} characters)…")
        bar = st.progress(0.0, text="Scoring…")

        def progress(side: str, done: int, total: int) -> None:
            share = done / total if total else 1.0
            offset = 0.0 if side == "a" or len(models) == 1 else 0.5
            bar.progress(min(1.0, offset + share / max(1, len(models))),
                         text=f"Model {NAMES[side]}: {done:,} of {total:,} tokens")

        with st.spinner("Scoring…", show_time=True):
            outcome = score_models(models, texts, settings, progress, errors)
        bar.progress(1.0, text="Scored")
        if outcome.pair is None:
            status.update(label="Scoring failed", state="error")
            for side, line in outcome.errors.items():
                st.error(f"Model {NAMES.get(side, side)}: {literal(line)}")
            return None
        elapsed = time.perf_counter() - started
        run_id = None
        saved_settings = settings.to_dict()
        if outcome.errors:
            saved_settings["failed"] = {k: v for k, v in outcome.errors.items() if k in ("a", "b")}
        run_id = outcome.save_run(str(specs["a"]), str(specs["b"]), saved_settings,
                                  text_meta=text_meta)  # a failure: a warning, the results still show
        status.update(label=f"Scored in {elapsed:.1f} s" + (" (one model failed: see below)" if outcome.errors else ""),
                      state="complete", expanded=False)
    for line in outcome.warnings:  # outside the status box, which is collapsed by now
        st.warning(literal(line), icon=":material/warning:")
    shown = ShownResult(
        pair=outcome.pair, model_a=str(specs["a"]), model_b=str(specs["b"]), settings=saved_settings,
        errors=outcome.errors, same_vocab=outcome.same_vocab, run_id=run_id, elapsed_s=elapsed,
    )
    set_result(shown)
    show_stale_note()  # the sidebar, drawn before this result, may say it is stale
    return shown


