"""A corpus: one file or a folder of files, read into texts in a fixed order.

The order is the contract between engines and between runs: files sorted by
their path relative to the corpus root (folders recursed), and inside a file
the order backend.corpus.inputs.read_texts gives. Text formats (.txt, .md) and tables
(.csv, .jsonl) go through read_texts itself, so a file yields exactly the
texts the local engine would score; .parquet tables follow the same rules
(the text column, strings only, empty or whitespace-only values dropped).

Names starting with "." or "_" are skipped (hidden files, _SUCCESS and
.crc files that Spark and Arrow leave beside parquet parts); any other file
must be readable, so a stray file is an error naming it rather than a silently
smaller corpus.
"""

from __future__ import annotations

import io
from pathlib import Path

from backend.corpus.inputs import TABLE_SUFFIXES, TEXT_SUFFIXES, InputError, read_texts

PARQUET_SUFFIXES = (".parquet",)
CORPUS_SUFFIXES = TEXT_SUFFIXES + TABLE_SUFFIXES + PARQUET_SUFFIXES


def corpus_files(root: Path) -> list[tuple[str, Path]]:
    """(name, path) of every file of the corpus, in corpus order; name is the path relative to root."""
    root = Path(root)
    if root.is_file():
        return [(root.name, root)]
    if not root.is_dir():
        raise FileNotFoundError(f"no input file or folder at {root}")
    files = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if any(part.startswith((".", "_")) for part in relative.parts) or path.is_dir():
            continue
        if path.suffix.lower() not in CORPUS_SUFFIXES:
            raise InputError(f"{relative.as_posix()}: unsupported file type {path.suffix or '(none)'}; use .txt, .md, .csv, .jsonl or .parquet")
        files.append((relative.as_posix(), path))
    if not files:
        raise InputError(f"{root} holds no .txt, .md, .csv, .jsonl or .parquet file")
    return sorted(files)


def read_file(path: Path, name: str, split: str = "none", text_column: str = "text") -> list[str]:
    """Texts of one corpus file; InputError naming the file when it cannot be read."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise InputError(f"{name} cannot be read: {error.strerror or error}") from None
    return parse_file(data, name, split, text_column)


def parse_file(data: bytes, name: str, split: str = "none", text_column: str = "text") -> list[str]:
    if Path(name).suffix.lower() in PARQUET_SUFFIXES:
        return _read_parquet(data, name, text_column)
    return read_texts(data, name, split, text_column)


def read_corpus(root: Path, split: str = "none", text_column: str = "text") -> tuple[list[str], list[str]]:
    """(texts, file name of each text) of the whole corpus, in corpus order, in this process."""
    texts, names = [], []
    for name, path in corpus_files(root):
        file_texts = read_file(path, name, split, text_column)
        texts += file_texts
        names += [name] * len(file_texts)
    return texts, names


def _read_parquet(data: bytes, name: str, text_column: str) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not data:
        raise InputError(f"{name} is empty")
    try:
        schema = pq.read_schema(io.BytesIO(data))
        if text_column not in schema.names:
            columns = ", ".join(schema.names) or "none"
            raise InputError(f"{name} has no column {text_column!r} (columns: {columns})")
        column = pq.read_table(io.BytesIO(data), columns=[text_column]).column(0)
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{name} could not be parsed as parquet: {str(error).splitlines()[0]}") from None
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type) or pa.types.is_null(column.type)):
        raise InputError(f"column {text_column!r} of {name} holds values that are not text ({column.type})")
    texts = [t for t in column.to_pylist() if t is not None and t.strip()]
    if not texts:
        raise InputError(f"{name} contains no text")
    return texts
