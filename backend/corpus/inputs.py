"""Read texts from files or uploads: .txt, .md, .csv, .jsonl. Bad input raises InputError with one clear line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from backend.errors import InputError

SPLITS = ("none", "line", "paragraph")
TEXT_SUFFIXES = (".txt", ".md")
TABLE_SUFFIXES = (".csv", ".jsonl")


def decode_utf8(data: bytes, name: str) -> str:
    if b"\x00" in data[:8192]:
        raise InputError(f"{name} looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{name} is not valid UTF-8 text (bad byte at position {error.start})") from None


def split_text(text: str, split: str) -> list[str]:
    if split == "none":
        return [text]
    if split == "line":
        return [line for line in text.splitlines() if line.strip()]
    if split == "paragraph":
        return [p.strip("\n") for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    raise InputError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")


def table_columns(data: bytes, name: str) -> list[str]:
    """Columns of a .csv or .jsonl upload, so the user can pick the text column."""
    frame = _read_table(data, name)
    return [str(c) for c in frame.columns]


def read_texts(data: bytes, name: str, split: str = "none", text_column: str = "text") -> list[str]:
    """Texts from one file's bytes. Empty or whitespace-only texts are dropped; none left is an error."""
    suffix = Path(name).suffix.lower()
    if not data:
        raise InputError(f"{name} is empty")
    if suffix in TEXT_SUFFIXES:
        texts = split_text(decode_utf8(data, name), split)
    elif suffix in TABLE_SUFFIXES:
        frame = _read_table(data, name)
        if text_column not in frame.columns:
            columns = ", ".join(map(str, frame.columns)) or "none"
            raise InputError(f"{name} has no column {text_column!r} (columns: {columns})")
        column = frame[text_column]
        texts = [str(v) for v in column if isinstance(v, str)]
        if len(texts) < column.notna().sum():
            raise InputError(f"column {text_column!r} of {name} holds values that are not text")
    else:
        raise InputError(f"{name}: unsupported file type {suffix or '(none)'}; use .txt, .md, .csv or .jsonl")
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise InputError(f"{name} contains no text")
    return texts


def _read_table(data: bytes, name: str) -> pd.DataFrame:
    text = decode_utf8(data, name)
    suffix = Path(name).suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
    except (ValueError, pd.errors.ParserError) as error:
        raise InputError(f"{name} could not be parsed as {suffix[1:]}: {str(error).splitlines()[0]}") from None
    if not all(isinstance(r, dict) for r in records):
        raise InputError(f"{name}: every line of a .jsonl file must be a JSON object")
    return pd.DataFrame.from_records(records)


def check_texts(texts: list[str]) -> list[str]:
    """Texts that can be scored: at least one, none empty or whitespace-only."""
    if not texts:
        raise InputError("no text to score")
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"text {i + 1} is empty or only whitespace")
    return list(texts)
