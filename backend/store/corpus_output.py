"""A scored corpus on disk: the output folder of `score --engine ray`, written part by part.

  OUT/meta.json              models, settings, input, counts; "complete" once the row-count check passed
  OUT/texts.parquet          text_id, text, text_hash, file (the corpus, in corpus order)
  OUT/tokens/part-K.parquet  token table rows (analysis.schema.TOKEN_COLUMNS + model), plus text_hash
  OUT/words/part-K.parquet   word table rows (WORD_COLUMNS), plus text_hash
  OUT/summary/part-K.parquet summary rows (SUMMARY_COLUMNS), plus text_hash
  OUT/same_vocab/part-K.parquet  when both models share a vocabulary: the KL/JS/top-k divergences
                             (SAME_VOCAB_COLUMNS), plus text_hash
  OUT/done/part-K.json       the commit marker of part K: its text hashes, their text_ids and row counts
                             (per table it holds: same_vocab is there only when it was computed)

`pd.read_parquet(OUT / "tokens")` is the local engine's token table (in another
row order, with the extra text_hash column). Texts are keyed by content hash
(backend.store.score_cache.text_hash): a part is done when its marker exists and its
files hold the rows the marker counts; anything else is a remnant of a
crash and is deleted, so a rerun scores exactly the texts that are missing.
Each file is written whole or not at all (backend.store.atomic), and the
marker goes last, so a crash at any point leaves at worst an unfinished part.

text_id is the text's index in the current corpus. A rerun over a corpus that
grew or changed renumbers the parts it keeps (reconcile) instead of rescoring.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pandas as pd

from analysis.schema import MODEL_COLUMN, SAME_VOCAB_COLUMNS, SUMMARY_COLUMNS, TOKEN_COLUMNS, WORD_COLUMNS
from backend.corpus.inputs import InputError
from backend.store import atomic

FORMAT = "duet-corpus/1"
HASH_COLUMN = "text_hash"
TABLES = ("tokens", "words", "summary")  # in every part
OPTIONAL_TABLES = ("same_vocab",)  # in a part only when computed (a pair sharing a vocabulary)
SORT_KEYS = {"tokens": ["text_id", MODEL_COLUMN, "position"], "words": ["text_id", "word_index"], "summary": ["text_id", "model"],
             "same_vocab": ["text_id", "position"]}


class CorpusRunError(InputError):
    """An output folder that cannot be used as asked; the message names it, in one line."""


@dataclasses.dataclass
class Part:
    key: str
    ids_by_hash: dict[str, list[int]]  # text_hash -> the text_id(s) its rows carry
    rows: dict[str, int]  # table -> row count: TABLES, and OPTIONAL_TABLES the part holds


def part_key(hashes: list[str]) -> str:
    import hashlib

    return hashlib.sha256("|".join(hashes).encode()).hexdigest()[:16]


def assign_text_ids(table: pd.DataFrame, ids_by_hash: dict[str, list[int]], table_name: str) -> pd.DataFrame:
    """Rows keyed by text_hash, given the text_id(s) each hash has in the corpus, sorted like the local engine.

    A text that occurs twice in the corpus was scored once; its rows are repeated under both ids.
    """
    mapping = pd.DataFrame(
        [(h, i) for h, ids in ids_by_hash.items() for i in ids], columns=[HASH_COLUMN, "text_id"]
    ).astype({"text_id": "int64"})
    # One copy per hash first: a table being renumbered already holds a repeated text twice.
    table = table[table["text_id"] == table.groupby(HASH_COLUMN)["text_id"].transform("min")]
    out = table.drop(columns=["text_id"]).merge(mapping, on=HASH_COLUMN, how="inner")
    columns = list(table.columns)
    return out[columns].sort_values(SORT_KEYS[table_name], kind="stable").reset_index(drop=True)


def to_parquet_bytes(table: pd.DataFrame) -> bytes:
    return atomic.parquet_bytes(table)


class CorpusOutput:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    # --- set-up and resume ----------------------------------------------------
    def prepare(self, identity: dict) -> None:
        """Create the folder, or check that an existing one was scored with the same models and settings."""
        if self.folder.exists() and not self.folder.is_dir():
            raise CorpusRunError(f"--out {self.folder} is a file; the ray engine writes a folder")
        meta_path = self.folder / "meta.json"
        if meta_path.is_file():
            old = json.loads(meta_path.read_text())
            changed = [k for k, v in identity.items() if old.get(k) != v]
            if changed:
                raise CorpusRunError(
                    f"{self.folder} holds a corpus scored with other {', '.join(changed)}; pick another --out"
                )
        elif self.folder.is_dir() and any(self.folder.iterdir()):
            raise CorpusRunError(f"{self.folder} is not empty and is not a Duet corpus output; pick another --out")
        for name in TABLES + OPTIONAL_TABLES + ("done",):
            (self.folder / name).mkdir(parents=True, exist_ok=True)
        self.write_meta({"format": FORMAT, **identity, "complete": False})

    def done_parts(self) -> dict[str, Part]:
        """Parts whose marker and files agree; everything else in the folder is deleted."""
        parts: dict[str, Part] = {}
        for marker in sorted((self.folder / "done").glob("part-*.json")):
            key = marker.stem.removeprefix("part-")
            try:
                record = json.loads(marker.read_text())
                ids = {h: [int(i) for i in v] for h, v in zip(record["hashes"], record["text_ids"], strict=True)}
                part = Part(key=key, ids_by_hash=ids, rows=_marker_rows(record))
                ok = all(_row_count(self._path(t, key)) == n for t, n in part.rows.items())
            except (OSError, ValueError, KeyError, TypeError):
                ok = False
            if ok:
                parts[key] = part
            else:
                marker.unlink(missing_ok=True)
        for table in TABLES + OPTIONAL_TABLES:  # files of unfinished parts and temporary files of a crashed write
            if not (self.folder / table).is_dir():  # a folder written before the table existed
                continue
            for path in (self.folder / table).iterdir():
                key = path.stem.removeprefix("part-")
                if path.name.startswith(".") or key not in parts or table not in parts[key].rows:
                    path.unlink(missing_ok=True)
        for path in (self.folder / "done").iterdir():
            if path.name.startswith("."):
                path.unlink(missing_ok=True)
        return parts

    # --- writing ------------------------------------------------------------------
    def write_texts(self, texts: pd.DataFrame) -> None:
        atomic.write_bytes(self.folder / "texts.parquet", to_parquet_bytes(texts))

    def write_part(self, key: str, ids_by_hash: dict[str, list[int]], blobs: dict[str, bytes], rows: dict[str, int]) -> None:
        """blobs, rows: every table of TABLES, and those of OPTIONAL_TABLES the part holds."""
        tables = TABLES + tuple(t for t in OPTIONAL_TABLES if t in blobs)
        for table in tables:
            atomic.write_bytes(self._path(table, key), blobs[table])
        marker = {
            "hashes": list(ids_by_hash),
            "text_ids": [list(map(int, v)) for v in ids_by_hash.values()],
            "rows": {t: int(rows[t]) for t in tables},
        }
        atomic.write_bytes(self.folder / "done" / f"part-{key}.json", json.dumps(marker).encode())

    def write_meta(self, meta: dict) -> None:
        meta = {**meta, "updated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        atomic.write_bytes(self.folder / "meta.json", json.dumps(meta, indent=2).encode())

    def read_meta(self) -> dict:
        path = self.folder / "meta.json"
        if not path.is_file():
            raise CorpusRunError(f"{self.folder} is not a Duet corpus output (no meta.json)")
        return json.loads(path.read_text())

    # --- finishing ----------------------------------------------------------------
    def reconcile(self, texts: pd.DataFrame, parts: dict[str, Part]) -> dict[str, Part]:
        """Renumber kept parts to the current corpus; drop rows (and parts) of texts no longer in it."""
        ids_by_hash = texts.groupby(HASH_COLUMN, sort=False)["text_id"].apply(list).to_dict()
        kept: dict[str, Part] = {}
        for key, part in parts.items():
            current = {h: ids_by_hash[h] for h in part.ids_by_hash if h in ids_by_hash}
            if current == part.ids_by_hash:
                kept[key] = part
                continue
            tables = {t: pd.read_parquet(self._path(t, key)) for t in part.rows}
            (self.folder / "done" / f"part-{key}.json").unlink()  # the marker first: no moment looks done
            for t in tables:
                self._path(t, key).unlink()
            if current:
                fixed = {t: assign_text_ids(frame, current, t) for t, frame in tables.items()}
                new_key = part_key(list(current))
                rows = {t: len(frame) for t, frame in fixed.items()}
                self.write_part(new_key, current, {t: to_parquet_bytes(frame) for t, frame in fixed.items()}, rows)
                kept[new_key] = Part(new_key, current, rows)
        return kept

    def check(self, texts: pd.DataFrame, parts: dict[str, Part]) -> dict[str, int]:
        """The row-count check: every text once in the parts, every table's rows as the markers count."""
        scored = [h for part in parts.values() for h in part.ids_by_hash]
        missing = set(texts[HASH_COLUMN]) - set(scored)
        if missing or len(scored) != len(set(scored)):
            raise CorpusRunError(
                f"{self.folder}: row-count check failed: {len(missing)} text(s) not scored, "
                f"{len(scored) - len(set(scored))} scored twice"
            )
        counts = {}
        for table in TABLES:
            on_disk = sum(_row_count(path) for path in (self.folder / table).glob("part-*.parquet"))
            expected = sum(part.rows[table] for part in parts.values())
            if on_disk != expected:
                raise CorpusRunError(f"{self.folder}: row-count check failed: {table} has {on_disk} rows, parts say {expected}")
            counts[table] = on_disk
        for table in OPTIONAL_TABLES:
            holding = [part for part in parts.values() if table in part.rows]
            if holding:
                on_disk = sum(_row_count(self._path(table, part.key)) for part in holding)
                expected = sum(part.rows[table] for part in holding)
                if on_disk != expected:
                    raise CorpusRunError(f"{self.folder}: row-count check failed: {table} has {on_disk} rows, parts say {expected}")
                counts[table] = on_disk
        summary_ids = pd.read_parquet(self.folder / "summary", columns=["text_id"])["text_id"]
        if len(summary_ids) != 2 * len(texts) or set(summary_ids) != set(texts["text_id"]):
            raise CorpusRunError(f"{self.folder}: row-count check failed: the summary does not cover every text for both models")
        return counts

    def verify(self, texts: pd.DataFrame) -> None:
        """The row-count check of a finished folder, read only (import-run: nothing is deleted or
        rescored): every part's marker against its files, every text in a part. Raises
        CorpusRunError naming exactly what is missing or short."""
        problems: list[str] = []
        scored: set[str] = set()
        for marker in sorted((self.folder / "done").glob("part-*.json")):
            key = marker.stem.removeprefix("part-")
            try:
                record = json.loads(marker.read_text())
                rows = _marker_rows(record)
                scored.update(record["hashes"])
            except (OSError, ValueError, KeyError, TypeError) as error:
                problems.append(f"done/{marker.name} is unreadable ({error.__class__.__name__})")
                continue
            for table in rows:
                path = self._path(table, key)
                relative = f"{table}/{path.name}"
                if not path.is_file():
                    problems.append(f"{relative} is missing ({rows[table]} rows, {len(record['hashes'])} text(s))")
                    continue
                try:
                    found = _row_count(path)
                except Exception as error:  # noqa: BLE001 - a damaged parquet file
                    problems.append(f"{relative} is damaged ({error.__class__.__name__})")
                    continue
                if found != rows[table]:
                    problems.append(f"{relative} has {found} rows, its marker says {rows[table]}")
        unscored = texts.loc[~texts[HASH_COLUMN].isin(scored), "text_id"].tolist()
        if unscored:
            shown = ", ".join(map(str, unscored[:10])) + (", …" if len(unscored) > 10 else "")
            problems.append(f"{len(unscored)} text(s) in no part (text_id {shown})")
        if problems:
            raise CorpusRunError(f"{self.folder} is incomplete, not imported: {'; '.join(problems)}. "
                                 "Rerun the same score command to score what is missing")

    def _path(self, table: str, key: str) -> Path:
        return self.folder / table / f"part-{key}.parquet"


def open_corpus_run(folder: str | Path):
    """(PairResult, meta) of a complete corpus output folder, tables in the local engine's row order."""
    from backend.scoring.pair import PairResult

    output = CorpusOutput(Path(folder))
    meta = output.read_meta()
    if not meta.get("complete"):
        raise CorpusRunError(f"{folder} is not complete: rerun the same score command to finish it")
    texts = pd.read_parquet(output.folder / "texts.parquet").sort_values("text_id")
    output.verify(texts)
    schemas = {
        "tokens": {**TOKEN_COLUMNS, MODEL_COLUMN: "string"},
        "words": WORD_COLUMNS,
        "summary": SUMMARY_COLUMNS,
    }
    tables = {}
    for table in TABLES:
        frame = pd.read_parquet(output.folder / table).drop(columns=[HASH_COLUMN])
        frame = frame.sort_values(SORT_KEYS[table], kind="stable").reset_index(drop=True)
        schema = schemas[table]
        frame = frame[list(schema)].astype({c: t for c, t in schema.items() if t != "object"})
        for column in (c for c, t in schema.items() if t == "object"):  # parquet lists come back as arrays
            frame[column] = [list(v) for v in frame[column]]
        tables[table] = frame
    return PairResult(texts=texts["text"].tolist(), **tables), meta


def open_same_vocab(folder: str | Path) -> pd.DataFrame | None:
    """The same-vocabulary table of a complete corpus output (SAME_VOCAB_COLUMNS, sorted by text and
    position), or None when it has none: models of different vocabularies, or some part lacks it
    (scored before the engine computed it, or its comparison failed), so it would not cover the corpus."""
    output = CorpusOutput(Path(folder))
    if not output.read_meta().get("same_vocab"):
        return None
    frame = pd.read_parquet(output.folder / "same_vocab").drop(columns=[HASH_COLUMN])
    frame = frame.sort_values(SORT_KEYS["same_vocab"], kind="stable").reset_index(drop=True)
    return frame[list(SAME_VOCAB_COLUMNS)].astype(SAME_VOCAB_COLUMNS)


def import_corpus_run(folder: str | Path, name: str = "", store=None) -> str:
    """Copy a complete corpus output into the run store (the dashboard's Runs page); returns the run id."""
    from backend.store.runs import RunStore

    result, meta = open_corpus_run(folder)
    same_vocab = open_same_vocab(folder)
    store = store or RunStore()
    settings = {**meta.get("settings", {}), "engine": "ray", "source": str(Path(folder).resolve())}
    return store.save(result, meta["model_a"], meta["model_b"], settings,
                      name or f"corpus {Path(folder).name}: {len(result.texts)} text(s)", same_vocab=same_vocab)


def _marker_rows(record: dict) -> dict[str, int]:
    """table -> row count of a part's marker: every one of TABLES, and the OPTIONAL_TABLES it names."""
    counts = record["rows"]
    return {t: int(counts[t]) for t in TABLES + tuple(t for t in OPTIONAL_TABLES if t in counts)}


def _row_count(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows
