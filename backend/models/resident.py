"""The app's model cache: the only backend module that imports streamlit.

Loaded models are resources: one per process per ModelSpec string, shared by
every browser session (each LoadedModel carries a lock around model calls).
Every load through it comes from the browser, so get_model itself applies the
operator's check (backend/policy.py): a spec the sidebar would refuse cannot be
loaded by any page, even one that forgets to check (a saved run's spec, a link).
The command line loads through backend/models/loading.py and is not limited.
"""

from __future__ import annotations

import streamlit as st

from backend import threads
from backend.models.loading import LoadedModel, load_model
from backend.models.specs import ModelSpec
from backend.policy import check_browser_spec, load_settings


@st.cache_resource(show_spinner=False, max_entries=6)
def _load(spec_key: str) -> LoadedModel:
    threads.apply()
    return load_model(ModelSpec.parse(spec_key))


def get_model(spec: ModelSpec) -> LoadedModel:
    """The loaded model for spec, loading it the first time. Raises ModelRefused (one line naming the setting)
    when the operator's settings do not let the browser load it, before the cache is even looked at. A second
    caller asking for a spec that is loading (the background preload, another session) waits for that load
    instead of starting its own: st.cache_resource holds one lock per key while it computes."""
    # Settings read on every call, as the sidebar does: an operator's edit takes effect without a restart.
    check_browser_spec(spec, load_settings(), st.get_option("server.address"))
    return _load(str(spec))


@st.cache_resource(show_spinner=False, max_entries=1)
def get_sentence_encoder():
    """The embedded all-MiniLM-L6-v2 sentence encoder (backend/models/sentence_encoder.py), loaded once."""
    from backend.models.sentence_encoder import load_sentence_encoder

    threads.apply()
    return load_sentence_encoder()


@st.cache_resource(show_spinner=False, max_entries=2)
def get_nli(name: str):
    """An NLI cross-encoder by folder or hub id (backend/models/nli.py), loaded once per name."""
    from backend.models.nli import load_nli

    threads.apply()
    return load_nli(name)
