"""What to score: a typed or pasted text, sample texts, or uploaded files (.txt, .md, .csv, .jsonl)."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pandas as pd
import streamlit as st

from backend.errors import user_message
from backend.corpus.inputs import SPLITS, TABLE_SUFFIXES, InputError, read_texts, table_columns
from ui.markdown import literal
from ui.samples import SAMPLES

META_GUESSES = ("domain", "source", "split")  # offered ticked when an upload has them

UPLOAD_TYPES = ["txt", "md", "csv", "jsonl"]
MODES = ("Type or paste", "Upload files")
SPLIT_NAMES = {"none": "whole file", "line": "one text per line", "paragraph": "one text per paragraph"}


@dataclasses.dataclass
class Upload:
    name: str
    data: bytes


def upload_limit_mb() -> int:
    return int(st.get_option("server.maxUploadSize"))


def texts_from_upload(upload: Upload, split: str, column: str | None, limit_mb: int) -> list[str]:
    """Texts from one uploaded file; InputError with a clear one-line reason when it cannot give any."""
    size_mb = len(upload.data) / 2**20
    if size_mb > limit_mb:
        raise InputError(f"{upload.name} is {size_mb:.1f} MB; the upload limit is {limit_mb} MB")
    if column is None and Path(upload.name).suffix.lower() in TABLE_SUFFIXES and upload.data:
        columns = ", ".join(table_columns(upload.data, upload.name)) or "none"
        raise InputError(f"{upload.name} has no column 'text' (columns: {columns}): pick the column that holds the texts")
    return read_texts(upload.data, upload.name, split=split, text_column=column or "text")


def _load_sample(name: str) -> None:
    st.session_state["input_text"] = SAMPLES[name]
    st.session_state["input_mode"] = MODES[0]


def _samples() -> None:
    st.caption("or load a sample:")
    for name in SAMPLES:
        st.button(name, key=f"sample_{name}", on_click=_load_sample, args=(name,), type="tertiary",
                  help=f"Load the {name.lower()} sample into the text box")


def _typed() -> list[str]:
    # Widget state is dropped when the user visits another page; keep the text across pages.
    if "input_text" not in st.session_state:
        st.session_state["input_text"] = st.session_state.get("_kept_text", "")
    st.text_area(
        "Text to score", key="input_text", height=120,
        placeholder="Type or paste any text: both models read it, token by token.",
    )
    st.session_state["_kept_text"] = st.session_state["input_text"]
    text = st.session_state["input_text"]
    return [text] if text else []


def _uploaded() -> tuple[list[str], list[str]]:
    """Texts from every uploaded file, and one error line per file that gave none."""
    files = st.file_uploader(
        f"Upload .txt, .md, .csv or .jsonl (up to {upload_limit_mb()} MB each)",
        type=UPLOAD_TYPES, accept_multiple_files=True, key="uploads",
    )
    texts: list[str] = []
    errors: list[str] = []
    metas: list = []  # one metadata table per file that gave texts (no columns for text files), kept with the run
    seen: dict[str, str] = {}  # content hash -> name of the first file with that content
    for i, file in enumerate(files or []):
        upload = Upload(file.name, file.getvalue())
        # The uploader lists a file added twice twice (it cannot drop one entry): read it once, by content,
        # so its texts are not scored twice, and say why the second entry gives nothing.
        digest = hashlib.sha256(upload.data).hexdigest()
        if digest in seen:
            first = seen[digest]
            same = "" if first == file.name else f" (same content as {literal(first)})"
            st.caption(f"{literal(file.name)}: already added{same}, read once.")
            continue
        seen[digest] = file.name
        suffix = Path(file.name).suffix.lower()
        column = None
        split = "none"
        try:
            if suffix in TABLE_SUFFIXES:
                if len(upload.data) / 2**20 > upload_limit_mb() or not upload.data:
                    columns = []
                else:
                    columns = table_columns(upload.data, upload.name)
                if columns:
                    # No guessing: without a "text" column the user says which column holds the texts.
                    default = columns.index("text") if "text" in columns else None
                    column = st.selectbox(f"Text column of {literal(file.name)}", columns, index=default,
                                          placeholder="pick the column that holds the texts", key=f"column_{i}_{file.name}")
            else:
                split = st.radio(f"Split {literal(file.name)} into", SPLITS, format_func=SPLIT_NAMES.get, horizontal=True,
                                 key=f"split_{i}_{file.name}")
            found = texts_from_upload(upload, split, column, upload_limit_mb())
            metas.append(_metadata(upload, i, column, columns if suffix in TABLE_SUFFIXES else [], len(found)))
            texts.extend(found)
            st.caption(f"{literal(file.name)}: {len(found)} text{'s' if len(found) != 1 else ''}, "
                       f"{sum(len(t) for t in found):,} characters")
        except Exception as error:  # noqa: BLE001 - InputError and parser errors, one line each
            errors.append(user_message(error) if isinstance(error, InputError) else f"{file.name}: {user_message(error)}")
    for line in errors:
        st.error(literal(line))  # the line names the file: its name is user text, shown as typed
    kept = [m for m in metas if len(m.columns)]
    st.session_state["input_meta"] = pd.concat(metas, ignore_index=True) if kept else None
    return texts, errors


def _metadata(upload: Upload, i: int, column: str | None, columns: list[str], n_texts: int):
    """The metadata columns the user keeps from one table upload, one row per text it gave."""
    from backend.corpus.metadata import other_columns, read_metadata

    others = other_columns(columns, column)
    if not others or column is None:
        return pd.DataFrame(index=range(n_texts))
    keep = st.multiselect(f"Metadata columns of {literal(upload.name)} to keep with the run", others,
                          default=[c for c in others if c in META_GUESSES], key=f"meta_{i}_{upload.name}",
                          help="e.g. domain, source or split: the Differences page ranks and fits per value")
    return read_metadata(upload.data, upload.name, column, keep) if keep else pd.DataFrame(index=range(n_texts))


def input_texts() -> tuple[list[str], list[str]]:
    """Draw the input area; return (texts to score, error lines to block scoring with)."""
    # One compact row: the input mode, then (when typing) the samples, one click each.
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        mode = st.radio("Input", MODES, key="input_mode", horizontal=True, label_visibility="collapsed", width="content")
        if mode == MODES[0]:
            _samples()
    if mode == MODES[0]:
        st.session_state["input_meta"] = None
        return _typed(), []
    return _uploaded()
