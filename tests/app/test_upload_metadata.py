"""Metadata columns of an upload (domain, source...) are offered, kept with the saved run, and line up with the texts."""

from __future__ import annotations

import pandas as pd
from app_helpers import press


def test_upload_keeps_the_chosen_metadata_columns_with_the_run(app):
    from backend.store.runs import RunStore

    at = app.run()
    at.radio(key="input_mode").set_value("Upload files").run()
    at.file_uploader(key="uploads").set_value([
        ("c.csv", b"text,domain,id\nGreat little phone.,reviews,1\n ,empty,2\ndef f(x): return x,code,3\n", "text/csv"),
        ("notes.txt", b"A note.", "text/plain"),
    ]).run()
    assert not at.exception
    keep = at.multiselect(key="meta_0_c.csv")
    assert keep.options == ["domain", "id"] and keep.value == ["domain"]  # the text column is not offered
    at = press(at, "score")
    assert not at.exception and not at.error
    shown = at.session_state["result"]
    assert len(shown.pair.texts) == 3
    meta = RunStore().optional(shown.run_id)["text_meta"]
    assert meta["domain"].tolist()[:2] == ["reviews", "code"] and pd.isna(meta["domain"].iloc[2])
