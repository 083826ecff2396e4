"""The Sample and compare button's work, with progress: sample both models, embed the answers, keep the tables.

Only this runs models on the uncertainty page. Everything drawn afterwards (clusters, metrics, units, the
prompt in detail, exports) reads the UncertaintyResult kept in session_state.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from analysis import generations as gen
from analysis.uncertainty_result import UncertaintyResult
from backend.corpus.inputs import InputError
from backend.errors import user_message
from ui.markdown import literal
from ui.state import current_specs

NAMES = {"a": "A", "b": "B"}
RESULT = "unc_result"  # session_state key of the UncertaintyResult on screen
MEMO = "_unc_memo"  # session_state key of the tables derived from it (ui/uncertainty_clusters.py)


def kept_result() -> UncertaintyResult | None:
    return st.session_state.get(RESULT)


def _sample_both(specs: dict, prompts: list[str], settings, status, bar) -> tuple[dict, dict, dict]:
    """(results, errors, from_store) by side: each model sampled, or answered from the sample store."""
    from backend.models import resident
    from backend.store.samples import cached_sample_prompts

    n = len(prompts)
    results, errors, from_store = {}, {}, {}
    for index, (side, spec) in enumerate(specs.items()):
        status.update(label=f"Model {NAMES[side]} ({spec.label}): sampling {n} prompt{'s' if n != 1 else ''}…")

        def progress(done, total, _index=index, _side=side):
            bar.progress(min(1.0, (_index * total + done) / (2 * total)),
                         text=f"Model {NAMES[_side]}: {done:.1f} of {total} prompts "
                              f"({_index * total + done:.1f} of {2 * total} prompt × model)")

        def load(_spec=spec, _side=side):
            st.write(f"Loading model {NAMES[_side]}: {literal(_spec.label)}…")
            return resident.get_model(_spec)

        try:
            with st.spinner(f"Model {NAMES[side]}: {literal(spec.label)}", show_time=True):
                results[side], from_store[side] = cached_sample_prompts(
                    spec, load, prompts, settings, model=side, progress=progress)
            st.write(f"Model {NAMES[side]} ({literal(spec.label)}): "
                     + ("found in the sample store" if from_store[side] else "sampled"))
        except Exception as error:  # noqa: BLE001 - ModelLoadError, InputError, anything: one line
            errors[side] = f"{spec.label}: {user_message(error)}"
            st.error(f"Model {NAMES[side]}: {literal(errors[side])}")
    return results, errors, from_store


def _embed(samples: pd.DataFrame):
    """The answers' sentence embeddings, or None with the error shown (embedding clusters are then unavailable)."""
    from backend.models import resident

    try:
        with st.spinner("Embedding the answers with all-MiniLM-L6-v2…", show_time=True):
            return resident.get_sentence_encoder().embed(gen.answer_texts(samples))
    except Exception as error:  # noqa: BLE001 - clustering by embeddings is then unavailable
        st.error(f"The sentence encoder failed, so embedding clusters and embedding diversity are unavailable: "
                 f"{literal(user_message(error))}")
        return None


def run_sampling(prompts: list[str], raw_settings: dict, answers: list[str] | None = None) -> UncertaintyResult | None:
    """Sample both models, embed the answers, keep the tables. On failure say why; earlier results stay.

    answers: a gold answer per prompt (kept with the result for the correctness section; never shown to a model).
    """
    if not prompts:
        st.error("Nothing to sample: type at least one prompt (one per line) or upload a file.")
        return None
    try:
        specs = dict(zip("ab", current_specs()))
    except Exception as error:  # noqa: BLE001 - a bad spec string in the session
        st.error(f"Model choice is not valid: {literal(user_message(error))}")
        return None
    started = time.perf_counter()
    with st.status("Sampling…", expanded=True) as status:
        # Imported here, not at the top: torch takes seconds to import, and the page should draw at once;
        # the helpers above import the same modules again, then at no cost.
        with st.spinner("Starting the model runtime…", show_time=True):
            import backend.models.resident  # noqa: F401
            import backend.store.samples  # noqa: F401
            from backend.sampling.sampler import SampleSettings
        try:
            settings = SampleSettings(**raw_settings)
        except InputError as error:
            status.update(label="Settings are not valid", state="error")
            st.error(f"Sampling settings: {literal(error)}")
            return None
        bar = st.progress(0.0, text="Sampling…")
        results, errors, from_store = _sample_both(specs, prompts, settings, status, bar)
        if not results:
            status.update(label="Neither model could sample; the results below are unchanged", state="error")
            return None
        samples = pd.concat([r.samples for r in results.values()], ignore_index=True)
        bar.progress(1.0, text="Embedding the answers…")
        embeddings = _embed(samples)
        elapsed = time.perf_counter() - started
        status.update(label=f"Sampled in {elapsed:.1f} s" + (" (one model failed: see below)" if errors else ""),
                      state="complete", expanded=False)
    result = UncertaintyResult(
        prompts=list(prompts), samples=samples,
        tokens=pd.concat([r.tokens for r in results.values()], ignore_index=True),
        model_inputs=pd.concat([r.prompts for r in results.values()], ignore_index=True),
        embeddings=embeddings, labels=(specs["a"].label, specs["b"].label), specs=(str(specs["a"]), str(specs["b"])),
        settings=raw_settings, errors=errors, from_store=from_store, elapsed=elapsed,
        answers=None if answers is None else list(answers),
    )
    st.session_state[RESULT] = result
    st.session_state.pop(MEMO, None)
    return result
