"""The contract between app.py's shared sidebar and the pages.

app.py's sidebar writes these session_state keys; pages only read them:
  "model_a", "model_b"  ModelSpec strings (backend/specs.py), default the embedded pair
  "units"               "nats" | "bits" (storage is nats; convert only at display)
"""

from __future__ import annotations

import streamlit as st

from backend.specs import DEFAULT_PAIR, ModelSpec


def current_specs() -> tuple[ModelSpec, ModelSpec]:
    a = st.session_state.get("model_a", DEFAULT_PAIR[0])
    b = st.session_state.get("model_b", DEFAULT_PAIR[1])
    return ModelSpec.parse(a), ModelSpec.parse(b)


def units() -> str:
    return st.session_state.get("units", "nats")
