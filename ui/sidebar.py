"""The one shared sidebar: model A and model B pickers, device and dtype in use, units where no result view draws them.

It writes the ui/state contract keys ("model_a", "model_b", "units"). A spec
already in session_state (a test, or an earlier run) seeds the pickers the
first time they are drawn.
"""

from __future__ import annotations

import streamlit as st

from backend.errors import user_message
from backend.policy import check_browser_spec, load_settings
from backend.models.specs import DTYPES, EMBEDDED_ALIASES, RECOMMENDED_BOS, VARIANTS, ModelSpec
from ui.markdown import literal
from ui.state import current_result, default_pair

OTHER = "Other: hub id, folder or .gguf"
VARIANT_NAMES = {"none": "as is", "int8": "int8 (weight-only, per channel)", "int8-dynamic": "int8 (dynamic, whole model)", "prune": "pruned (magnitude)"}
DEVICES = ("auto", "cpu", "cuda")


def _seed(side: str, spec_text: str) -> None:
    """Set the picker widgets of one side from a spec string (only where they are not set yet)."""
    try:
        spec = ModelSpec.parse(spec_text)
    except Exception:  # noqa: BLE001 - a bad seed falls back to the default pair
        spec = ModelSpec.parse(default_pair()[0 if side == "a" else 1])
    state = st.session_state
    embedded = spec.source in EMBEDDED_ALIASES
    defaults = {
        f"_source_{side}": spec.source if embedded else OTHER,
        f"_path_{side}": "" if embedded else spec.source,
        f"_revision_{side}": spec.revision or "",
        f"_variant_{side}": spec.variant,
        f"_sparsity_{side}": spec.sparsity if spec.variant == "prune" else 0.5,
        f"_dtype_{side}": spec.dtype,
        f"_device_{side}": spec.device if spec.device in DEVICES else "auto",
        f"_remote_{side}": spec.trust_remote_code,
        f"_pickle_{side}": spec.allow_pickle,
        f"_bos_{side}": spec.bos,
    }
    for key, value in defaults.items():
        if key not in state:
            state[key] = value


def _source_changed(side: str) -> None:
    # A start token belongs to one vocabulary: picking another model resets it to that model's own.
    st.session_state[f"_bos_{side}"] = RECOMMENDED_BOS.get(st.session_state[f"_source_{side}"], "auto")
    # A variant (int8, pruned) was a choice about the model picked before: a new pick starts as is.
    st.session_state[f"_variant_{side}"] = "none"


def _picker(side: str) -> str | None:
    """Draw one side's picker; return its spec string, or None (with an error shown) when it is invalid."""
    name = side.upper()
    state = st.session_state
    _seed(side, state.get(f"model_{side}", default_pair()[0 if side == "a" else 1]))
    st.selectbox(f"Model {name}", list(EMBEDDED_ALIASES) + [OTHER], key=f"_source_{side}",
                 on_change=_source_changed, args=(side,),
                 help="The two embedded models ship with Duet; choose Other for a hub id, a folder saved with "
                      "save_pretrained, or a .gguf file.")
    if state[f"_source_{side}"] == OTHER:
        st.text_input("Hub id, local folder or .gguf path", key=f"_path_{side}",
                      placeholder="org/name, /path/to/folder or model.gguf")
    st.selectbox("Variant", VARIANTS, key=f"_variant_{side}", format_func=VARIANT_NAMES.get,
                 help="Compare a model with a compressed copy of itself: int8 stores the body's Linear weights in int8 per channel (head kept); int8-dynamic quantises every Linear per tensor, CPU only; "
                      "pruned zeroes the smallest weights.")
    if state[f"_variant_{side}"] == "prune":
        st.slider("Sparsity", 0.05, 0.95, step=0.05, key=f"_sparsity_{side}", help="Share of Linear weights set to zero.")
    with st.expander("Advanced", expanded=False):
        st.selectbox("dtype", DTYPES, key=f"_dtype_{side}", help="auto: bfloat16 on a GPU, float32 on CPU.")
        st.selectbox("device", DEVICES, key=f"_device_{side}", help="auto: the GPU when there is one.")
        if state[f"_source_{side}"] == OTHER:
            st.text_input("Revision (hub)", key=f"_revision_{side}", placeholder="main")
        operator = _operator_settings()
        st.checkbox("trust_remote_code", key=f"_remote_{side}", disabled=not operator.allow_remote_code,
                    help="Run code from the model's repository on this server. Only the operator can allow it "
                         "(allow_remote_code in duet.toml); the command line keeps it as an option.")
        st.checkbox("allow_pickle", key=f"_pickle_{side}", disabled=not operator.allow_pickle,
                    help="Load .bin/.pt checkpoints, which can run code when opened. Only the operator can allow "
                         "it (allow_pickle in duet.toml); the command line keeps it as an option.")
        st.text_input("Before each text (BOS)", key=f"_bos_{side}",
                      help="auto: the tokenizer's declared BOS token; none: nothing (the first token gets no score); "
                           "or a token of the vocabulary. SmolLM2-Instruct declares its chat-start token "
                           "<|im_start|>; <|endoftext|> is what began its pretraining documents.")
    source = state[f"_source_{side}"] if state[f"_source_{side}"] != OTHER else state[f"_path_{side}"].strip()
    if not source:
        st.warning(f"Model {name}: enter a hub id, a folder or a .gguf path.")
        return None
    variant = state[f"_variant_{side}"]
    try:
        typed = ModelSpec.parse(source) if "?" in source else None  # options typed after the path
        spec = ModelSpec(
            source=source,
            revision=(state[f"_revision_{side}"].strip() or None) if state[f"_source_{side}"] == OTHER else None,
            dtype=state[f"_dtype_{side}"],
            device=state[f"_device_{side}"],
            variant=variant,
            sparsity=float(state[f"_sparsity_{side}"]) if variant == "prune" else 0.0,
            trust_remote_code=bool(state[f"_remote_{side}"]),
            allow_pickle=bool(state[f"_pickle_{side}"]),
            bos=state[f"_bos_{side}"].strip() or "auto",
        ) if typed is None else typed
        check_browser_spec(spec, _operator_settings(), st.get_option("server.address"))
    except Exception as error:  # noqa: BLE001 - SpecError, ModelRefused and friends, shown in one line
        st.error(f"Model {name}: {literal(user_message(error))}")
        return None
    # A slot, so that the Score button (later in this same run) can show the device and dtype it loaded.
    _slots()[side] = st.empty()
    show_device(side, str(spec))
    return str(spec)


def _operator_settings():
    # Read on every run: a small file, and an operator's edit takes effect without a restart.
    # Invalid settings stop the app in app.py before the sidebar is drawn.
    return load_settings()


def _slots() -> dict:
    """This session's placeholders for the device captions (replaced on every run of the sidebar)."""
    return st.session_state.setdefault("_device_slots", {})


def show_device(side: str, spec_text: str) -> None:
    """Device and dtype for one side: the concrete ones once that spec has loaded, else what auto means."""
    slot = _slots().get(side)
    if slot is None:
        return
    requested, resolved_text = st.session_state.get("loaded_specs", {}).get(side, (None, None))
    if requested == spec_text:
        resolved = ModelSpec.parse(resolved_text)
        slot.caption(f"Runs on **{resolved.device}** · **{resolved.dtype}**{_start(resolved)}")
        return
    spec = ModelSpec.parse(spec_text)
    device = "GPU if available" if spec.device == "auto" else spec.device
    dtype = "bfloat16 on GPU, float32 on CPU" if spec.dtype == "auto" else spec.dtype
    slot.caption(f"Device: {device} · dtype: {dtype} (shown exactly once loaded){_start(spec)}")


def _start(spec: ModelSpec) -> str:
    # Said next to the device because it changes every score (see backend/models/specs.py's bos field).
    if spec.bos == "auto":
        return ""
    shown = "nothing" if spec.bos == "none" else literal(spec.bos)  # typed by the user: shown as typed
    return f" · texts start after {shown}"


def render_sidebar() -> None:
    with st.sidebar:
        st.markdown("### Models")
        for side in ("a", "b"):
            spec = _picker(side)
            if spec is not None:
                st.session_state[f"model_{side}"] = spec
            st.divider()
        linked = st.query_params.get("units")  # a shared link's units (ui/links.py), taken once per link
        if linked in ("bits", "nats") and st.session_state.get("_link_units") != linked:
            st.session_state["units"] = st.session_state["_link_units"] = linked
        seed_controls()
        if not _view_draws_units():
            unit_controls()
        # A slot, not a message: the Score button runs after the sidebar, in the same run, and
        # must be able to take the note back once the result on screen matches the pickers.
        _slots()["stale"] = st.empty()
        show_stale_note()


# Pages whose result view (ui/views.py) draws the units and word probability inside its fragment, so that a
# change redraws only the view, not the page; on the other pages the sidebar draws them.
VIEW_PAGES = ("token_view.py", "runs.py")

# (state key read by ui/state.py, label, options as shown, default, help)
CONTROLS = (
    ("units", "Units", ("bits", "nats"), "nats",
     "Surprisal, entropy and divergences in bits (log base 2) or nats (natural log). "
     "Switching never recomputes anything."),
    ("word_probability", "Word probability", ("corrected", "prefix"), "corrected",
     "corrected: the probability that the word ends where it does (Pimentel & Meister 2024's "
     "end-of-word correction); prefix: the plain product of its tokens' probabilities, which also "
     "counts longer words that start the same way (\" quick\" covers \" quickly\")."),
)


def _view_draws_units() -> bool:
    """Whether this run's page is one of VIEW_PAGES (st.navigation's choice, read from the run's page registry)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        return False
    manager = ctx.pages_manager
    page = manager.get_pages().get(manager.current_page_script_hash) or {}
    return str(page.get("script_path", "")).replace("\\", "/").endswith(tuple(f"pages/{p}" for p in VIEW_PAGES))


def control_key(name: str) -> str:
    """The widget key of a control of CONTROLS (tests set it)."""
    return f"{name}_control"


def unit_controls() -> None:
    """The units and word probability pickers, in the sidebar or a result view's fragment.

    The widgets copy a pick into the plain keys "units" and "word_probability" that every page reads
    (ui/state.py): Streamlit drops a widget's key at the end of a run that did not draw the widget (a
    page without a result view), and the choice must outlive it.
    """
    state = st.session_state
    seed_controls()
    for name, label, options, _, help_text in CONTROLS:
        state[control_key(name)] = state[name]
        st.segmented_control(label, list(options), key=control_key(name), selection_mode="single", help=help_text,
                             on_change=_picked, args=(name,))


def seed_controls() -> None:
    """Each control's choice in its plain key: the default where none (or an unknown one) is there."""
    for name, _, options, default, _ in CONTROLS:
        if st.session_state.get(name) not in options:
            st.session_state[name] = default


def _picked(name: str) -> None:
    value = st.session_state.get(control_key(name))
    if value is not None:  # clicked off: the choice stays (the picker shows it again on its next draw)
        st.session_state[name] = value


def show_stale_note() -> None:
    """Say when the result on screen was scored with other models than the sidebar's (or clear the note)."""
    slot = _slots().get("stale")
    if slot is None:
        return
    shown = current_result()
    if shown is not None and (shown.model_a, shown.model_b) != (st.session_state.get("model_a"), st.session_state.get("model_b")):
        slot.info("The results shown were scored with other models than these. "
                  "Press **Score** on the Token view to score the text with these.")
    else:
        slot.empty()
