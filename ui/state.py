"""The contract between app.py's shared sidebar and the pages.

app.py's sidebar writes these session_state keys; pages only read them:
  "model_a", "model_b"  ModelSpec strings (backend/models/specs.py), default the embedded pair
                        (or DUET_DEFAULT_MODEL_A / DUET_DEFAULT_MODEL_B, e.g. tiny test models)
  "units"               "nats" | "bits" (storage is nats; convert only at display)
  "word_probability"    "corrected" (default) | "prefix": which word logprob every word-level view
                        shows (analysis/words.py: the end-of-word correction, or the plain token sums)
The token view and the runs page write, and every page may read:
  "result"              the ShownResult on screen: the last scoring or a reloaded run
  "loaded_specs"        {"a"|"b": (spec string asked for, resolved spec string)} of the
                        models loaded in this session (concrete device and dtype, for the sidebar)
"""

from __future__ import annotations

import dataclasses
import os

import streamlit as st

from analysis.words import with_word_probability
from backend.models.specs import DEFAULT_PAIR, ModelSpec


def default_pair() -> tuple[str, str]:
    """The pair a new session starts with; the environment can override it (tests, demos)."""
    return (
        os.environ.get("DUET_DEFAULT_MODEL_A") or DEFAULT_PAIR[0],
        os.environ.get("DUET_DEFAULT_MODEL_B") or DEFAULT_PAIR[1],
    )


def current_specs() -> tuple[ModelSpec, ModelSpec]:
    default_a, default_b = default_pair()
    a = st.session_state.get("model_a", default_a)
    b = st.session_state.get("model_b", default_b)
    return ModelSpec.parse(a), ModelSpec.parse(b)


def units() -> str:
    # A segmented control can be clicked off (None): fall back to the storage unit.
    return st.session_state.get("units") or "nats"


@dataclasses.dataclass
class ShownResult:
    """A scored pair as the views show it: tables only, no model needed to draw it again."""

    pair: object  # backend.scoring.pair.PairResult
    model_a: str  # spec strings as scored
    model_b: str
    settings: dict = dataclasses.field(default_factory=dict)
    errors: dict = dataclasses.field(default_factory=dict)  # "a" | "b" -> why that model has no results
    same_vocab: object = None  # DataFrame (schema.SAME_VOCAB_COLUMNS) when the models share a vocabulary
    run_id: str | None = None
    elapsed_s: float | None = None

    @property
    def labels(self) -> tuple[str, str]:
        return _label(self.model_a, "A"), _label(self.model_b, "B")


def _label(spec: str, fallback: str) -> str:
    try:
        return ModelSpec.parse(spec).label
    except Exception:  # a run saved by another version: show the raw string
        return spec or fallback


def word_probability() -> str:
    return st.session_state.get("word_probability") or "corrected"


def as_chosen(shown: ShownResult | None) -> ShownResult | None:
    """The result with its word table as the sidebar's word probability says (the same object each rerun)."""
    if shown is None or shown.pair is None or word_probability() == "corrected":
        return shown
    memo = st.session_state.setdefault("_prefix_views", {})
    if memo.get("of") is not shown:
        pair = dataclasses.replace(shown.pair, words=with_word_probability(shown.pair.words, "prefix"))
        memo.clear()
        memo.update(of=shown, view=dataclasses.replace(shown, pair=pair))
    return memo["view"]


def current_result() -> ShownResult | None:
    return as_chosen(st.session_state.get("result"))


def set_result(result: ShownResult) -> None:
    # A word marked in the old result (ui/focus.py) means nothing in another one.
    if st.session_state.get("result") is not result:
        st.session_state.pop("focus", None)
    st.session_state["result"] = result
