"""Metadata columns of a .csv or .jsonl corpus (domain, source, split...): one row per text that read_texts keeps."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from backend.corpus.inputs import TABLE_SUFFIXES, _read_table  # the same parser, so rows line up with the texts
from backend.errors import InputError


def read_metadata(data: bytes, name: str, text_column: str, columns: list[str]) -> pd.DataFrame:
    """`columns` of the rows whose text read_texts keeps (a string, not only whitespace), in file order,
    as strings (a missing value: NA). InputError for a column the file has not, or for a text file."""
    if Path(name).suffix.lower() not in TABLE_SUFFIXES:
        raise InputError(f"{name}: metadata columns need a .csv or .jsonl file")
    frame = _read_table(data, name)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns)) or "none"
        raise InputError(f"{name} has no column {missing[0]!r} (columns: {have})")
    if text_column in columns:
        raise InputError(f"{text_column!r} holds the texts; it cannot be a metadata column too")
    kept = frame[text_column].map(lambda v: isinstance(v, str) and bool(v.strip()))
    meta = frame.loc[kept.astype(bool), list(columns)].reset_index(drop=True)
    return meta.map(lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v)).astype("string")


def other_columns(columns: list[str], text_column: str | None) -> list[str]:
    """The columns an upload could keep as metadata: every one but the text column."""
    return [c for c in columns if c != text_column]
