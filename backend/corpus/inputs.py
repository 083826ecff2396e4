"""Read texts from files or uploads: .txt, .md, .csv, .jsonl. Bad input raises InputError with one clear line."""

from __future__ import annotations

import dataclasses
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


@dataclasses.dataclass
class TextRows:
    """The texts of one file, each with where it came from, and what was left out and why."""

    texts: list[str]
    source_rows: list[int]  # 1-based: the line (.jsonl, .txt split by line), row after the header (.csv) or paragraph
    skipped: dict[str, list[int]] = dataclasses.field(default_factory=dict)  # reason -> source rows left out

    def skipped_note(self, name: str) -> str:
        """One line for the user, or "" when nothing was left out."""
        if not self.skipped:
            return ""
        parts = []
        for reason, rows in self.skipped.items():
            shown = ", ".join(map(str, rows[:10])) + (", …" if len(rows) > 10 else "")
            parts.append(f"{len(rows)} {reason} ({UNITS.get(Path(name).suffix.lower(), 'row')} {shown})")
        total = sum(len(rows) for rows in self.skipped.values())
        return f"{name}: skipped {total} row(s): {'; '.join(parts)}"


UNITS = {".jsonl": "line", ".csv": "row", ".txt": "line", ".md": "line"}


def read_texts(data: bytes, name: str, split: str = "none", text_column: str = "text") -> list[str]:
    """Texts from one file's bytes. Empty or whitespace-only texts are dropped; none left is an error."""
    return read_rows(data, name, split, text_column).texts


def read_rows(data: bytes, name: str, split: str = "none", text_column: str = "text") -> TextRows:
    """read_texts with each text's source row, and the rows left out (no text, empty) counted by reason."""
    suffix = Path(name).suffix.lower()
    if not data:
        raise InputError(f"{name} is empty")
    if suffix in TEXT_SUFFIXES:
        candidates = _numbered_split(decode_utf8(data, name), split)
    elif suffix in TABLE_SUFFIXES:
        frame = _read_table(data, name)
        if text_column not in frame.columns:
            columns = ", ".join(map(str, frame.columns)) or "none"
            raise InputError(f"{name} has no column {text_column!r} (columns: {columns})")
        column = frame[text_column]
        rows = frame.attrs.get("source_rows") or list(range(1, len(frame) + 1))
        if any(not isinstance(v, str) for v in column[column.notna()]):
            raise InputError(f"column {text_column!r} of {name} holds values that are not text")
        candidates = [(v if isinstance(v, str) else None, row) for v, row in zip(column, rows)]
    else:
        raise InputError(f"{name}: unsupported file type {suffix or '(none)'}; use .txt, .md, .csv or .jsonl")
    out = TextRows([], [])
    for text, row in candidates:
        reason = "with no text (null or missing)" if text is None else ("empty" if not text.strip() else None)
        if reason is None:
            out.texts.append(text)
            out.source_rows.append(row)
        elif suffix in TABLE_SUFFIXES:  # a split .txt drops its blank lines by design: nothing to report
            out.skipped.setdefault(reason, []).append(row)
    if not out.texts:
        raise InputError(f"{name} contains no text")
    return out


def _numbered_split(text: str, split: str) -> list[tuple[str, int]]:
    """split_text's texts with their 1-based line (split by line) or paragraph number."""
    if split == "line":
        return [(line, i) for i, line in enumerate(text.splitlines(), 1) if line.strip()]
    return [(t, i) for i, t in enumerate(split_text(text, split), 1)]


def _read_table(data: bytes, name: str) -> pd.DataFrame:
    text = decode_utf8(data, name)
    suffix = Path(name).suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        numbered = [(i, line) for i, line in enumerate(text.splitlines(), 1) if line.strip()]
        records = [json.loads(line) for _, line in numbered]
    except (ValueError, pd.errors.ParserError) as error:
        raise InputError(f"{name} could not be parsed as {suffix[1:]}: {str(error).splitlines()[0]}") from None
    if not all(isinstance(r, dict) for r in records):
        raise InputError(f"{name}: every line of a .jsonl file must be a JSON object")
    frame = pd.DataFrame.from_records(records)
    frame.attrs["source_rows"] = [i for i, _ in numbered]  # a .jsonl row is its line in the file
    return frame


def check_texts(texts: list[str]) -> list[str]:
    """Texts that can be scored: at least one, none empty or whitespace-only."""
    if not texts:
        raise InputError("no text to score")
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"text {i + 1} is empty or only whitespace")
    return list(texts)
