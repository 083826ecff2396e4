"""The BehaviorBox tab's training: a result saved with the run, or the settings form and a run with progress."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from analysis import behaviorbox as B
from backend.behaviorbox import run as R
from backend.errors import user_message
from ui import jobs, throughput
from ui.markdown import literal
from ui.state import ShownResult
from ui.user import run_store

FEW_WORDS = 1000  # below this, BehaviorBox rarely finds a feature that passes the selection (see the info)
KIND = "behaviorbox"


def _saved(shown: ShownResult, run_key: str, results: dict) -> Path | None:
    """The run's folder to save a training into (None for an unsaved result, or a colleague's shared run:
    only its owner may write into it); a result saved with the run goes into results."""
    folder = writable = None
    if shown.run_id:
        try:
            store = run_store()
            folder = R.run_folder_of(shown.run_id, store)
            writable = R.run_folder_of(shown.run_id, store, write=True)
        except Exception:  # noqa: BLE001 - deleted meanwhile, or another user's: train in memory only
            pass
    if run_key not in results and folder is not None:
        try:
            saved = R.load_behaviorbox(folder)
        except Exception as error:  # noqa: BLE001
            st.warning(f"The saved BehaviorBox result of this run could not be read: {literal(user_message(error))}")
            saved = None
        if saved is not None:
            results[run_key] = saved
    return writable


def may_save(bb: R.BehaviorBoxResult) -> bool:
    """Whether this user may write into the run a saved result belongs to (its folder is <run folder>/behaviorbox)."""
    if bb.folder is None:
        return False
    try:
        run_store().writable_folder(Path(bb.folder).parent.name)
    except Exception:  # noqa: BLE001 - NotOwner, or the run is gone
        return False
    return True


def _form(n_usable: int) -> R.BehaviorBoxSettings | None:
    """The settings form; BehaviorBoxSettings when Train was pressed, else None."""
    size, k = B.default_sae_size(n_usable)
    steps = R.default_steps(n_usable)
    with st.form("bb_form", border=True):
        st.markdown(f"**Train** on {n_usable:,} words. Defaults scale with the corpus: one feature per 30 words "
                    "(32 to 3,000), k = features / 60 (the paper's 3,000 and 50 from 90,000 words on), "
                    "at least 2,000 steps and 10 passes.")
        c1, c2, c3, c4 = st.columns(4)
        # Keys carry the corpus size: another run gets its own scaled defaults.
        dict_size = c1.number_input("Dictionary size", 8, 20000, size, step=8, key=f"bb_dict_{n_usable}")
        k_in = c2.number_input("k (active features per word)", 1, 500, k, key=f"bb_k_{n_usable}")
        steps_in = c3.number_input("Steps", 10, 200000, steps, step=100, key=f"bb_steps_{n_usable}")
        w = c4.slider("w (weight of the probabilities)", 0.0, 1.0, 0.7, 0.05, key="bb_w",
                      help="0: context only; 1: probabilities only. The paper uses 0.7.")
        with st.expander("More settings"):
            d1, d2, d3, d4 = st.columns(4)
            top = d1.number_input("Top words per feature", 5, 500, 50, key="bb_top")
            pct = d2.number_input("Keep above percentile", 0.0, 99.0, 25.0, key="bb_pct")
            min_frac = d3.number_input("…or this share of the max", 0.0, 1.0, 0.25, key="bb_min_frac")
            seed = d4.number_input("Seed", 0, 2**31 - 1, 0, key="bb_seed")
        train = st.form_submit_button("Train", type="primary", icon=":material/model_training:", key="bb_train")
    if not train:
        return None
    return R.BehaviorBoxSettings(
        dict_size=int(dict_size), k=int(min(k_in, dict_size)), steps=int(steps_in), w=float(w), top=int(top),
        pct=float(pct), min_frac=float(min_frac), seed=int(seed),
    )


def _work(job: jobs.Job, pair, settings: R.BehaviorBoxSettings, folder: Path | None) -> R.BehaviorBoxResult:
    """On the job thread: the sentence encoder, then training with progress per stage (Cancel between steps)."""
    job.note = "Loading the sentence encoder…"
    from backend.models.resident import get_sentence_encoder

    encoder = get_sentence_encoder()
    units = {"embedding": "windows", "training": "steps", "features": "features"}

    def progress(stage: str, done: int, total: int, note: str) -> None:
        if job.unit != units.get(stage, "units"):
            job.new_stage(units.get(stage, "units"))
        job.report(done, total, note)

    result = R.run_behaviorbox(pair, settings, progress, encoder=encoder, run_folder=folder)
    timings = getattr(result, "timings", {}) or {}
    if timings.get("embedding", 0) > 1:  # not reused from the run's folder
        throughput.record("bb_embed", "all-MiniLM-L6-v2", result.n_words, timings["embedding"])
    throughput.record("bb_step", "sae", settings.steps, timings.get("training", 0))
    return result


def _train(shown: ShownResult, settings: R.BehaviorBoxSettings, folder: Path | None, n_usable: int,
           run_key: str) -> None:
    """Start training as a job (or ask first when it should take over a minute)."""
    if jobs.running(KIND):
        st.warning("A BehaviorBox training is already running: wait for it or cancel it first.")
        return
    estimate = throughput.estimate("bb_embed", "all-MiniLM-L6-v2", n_usable).merge(
        throughput.estimate("bb_step", "sae", settings.steps))
    pair = shown.pair
    jobs.start_or_ask(KIND, f"Training BehaviorBox on {n_usable:,} words", lambda job: _work(job, pair, settings, folder),
                      "steps", estimate, "This training", tag=run_key)


def _show_end(job: jobs.Job, run_key: str, results: dict) -> None:
    """A finished training's result goes with its run; a failed or cancelled one says so, earlier results stay."""
    if job.state == "done" and job.result is not None:
        results[run_key] = job.result
        st.session_state.pop("_diff_sel", None)
    elif job.state == "failed":
        st.error(f"BehaviorBox training failed: {literal(job.error)}"
                 + (" The earlier result below is kept." if run_key in results else ""))
    elif job.state == "cancelled":
        st.info("BehaviorBox training cancelled." + (" The earlier result below is kept." if run_key in results else ""))


def trained(shown: ShownResult, run_key: str) -> R.BehaviorBoxResult | None:
    """This run's BehaviorBox result (saved, or trained now), or None with the reason on the page."""
    st.caption(
        "BehaviorBox (Tjuatja & Neubig, 2025): each word becomes its contextual embedding (all-MiniLM-L6-v2) joined "
        "with both models' probabilities; a sparse autoencoder splits these into features, and each feature's top "
        "words show a context where one model wins consistently."
    )
    results = st.session_state.setdefault("_diff_bb", {})
    folder = _saved(shown, run_key, results)
    n_usable = len(R.usable_words(shown.pair.words))
    if n_usable < FEW_WORDS:
        # Training still takes its 2,000 steps (minutes on a CPU), only to find nothing: say so first.
        st.info(f"Only {n_usable:,} words. BehaviorBox looks for contexts that recur across a corpus, and a feature "
                f"needs at least 10 example words; below about {FEW_WORDS:,} words expect few or no features. "
                "Score more text first: on the Token view, upload a file split into one text per paragraph, "
                "or use `python -m backend score`.", icon=":material/info:")
    settings = _form(n_usable)
    if settings is not None:
        _train(shown, settings, folder, n_usable, run_key)
    job = jobs.current(KIND)
    if (job is not None and job.tag == run_key) or jobs.pending(KIND, run_key):
        finished = jobs.take(KIND)
        if finished is not None:
            _show_end(finished, run_key, results)
        jobs.area(KIND)
    elif jobs.running(KIND):
        st.info("A BehaviorBox training of another run is under way; open that run to follow it.")
    bb = results.get(run_key)
    if bb is None:
        st.info("Press **Train** to find the contexts where one model beats the other. "
                "Training shows its progress and can be cancelled; when it should take over a minute, "
                "the page says how long first.")
    return bb
