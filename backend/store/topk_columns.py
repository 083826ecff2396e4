"""The token table's top-k columns on disk as Arrow fixed-size lists, and back to what pandas code reads.

In memory the scorer gives three object columns of Python lists per token (ids, pieces, logprobs:
about 690 bytes per token). On disk each becomes one Arrow fixed_size_list<k> column: k values
back to back, no per-row list object, no offsets; a row without a score (no context: an empty
list) is null. Reading gives every consumer what a parquet list column always gave it: an object
column of numpy arrays, an empty one where the row has no top-k. Old files (plain list columns)
read through the same path unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

VALUE_TYPES = {"topk_token_ids": pa.int64(), "topk_tokens": pa.string(), "topk_logprobs": pa.float64()}
FILLER = {pa.int64(): 0, pa.string(): "", pa.float64(): 0.0}
EMPTY = {"topk_token_ids": np.zeros(0, dtype=np.int64), "topk_tokens": np.zeros(0, dtype=object),
         "topk_logprobs": np.zeros(0, dtype=np.float64)}


class ArrowTable:
    """A pyarrow Table that backend.store.atomic's parquet writers can write (they call to_parquet)."""

    def __init__(self, table: pa.Table):
        self.table = table

    def to_parquet(self, path, index: bool = False) -> None:
        pq.write_table(self.table, path)

    def __len__(self) -> int:
        return self.table.num_rows


def columnar(frame: pd.DataFrame) -> ArrowTable | pd.DataFrame:
    """The table to write: its top-k columns as fixed-size lists (a table without them as it is)."""
    present = [c for c in frame.columns if c in VALUE_TYPES]
    if not present:
        return frame
    table = pa.Table.from_pandas(frame.drop(columns=present), preserve_index=False)
    for name in present:
        table = table.add_column(list(frame.columns).index(name), name, fixed_size(frame[name], VALUE_TYPES[name]))
    return ArrowTable(table)


def fixed_size(values: pd.Series, value_type: pa.DataType) -> pa.Array:
    """A column of lists as fixed_size_list<k> (an empty or missing list: null); a plain list column
    when the non-empty lists differ in length (nothing Duet writes, but no value is ever lost)."""
    rows = [None if v is None or (isinstance(v, float) and np.isnan(v)) or len(v) == 0 else v for v in values]
    sizes = {len(r) for r in rows if r is not None}
    if len(sizes) > 1:
        return pa.array(rows, type=pa.list_(value_type))
    k = sizes.pop() if sizes else 1
    # A null row's k slots hold a placeholder, not nulls: ids with nulls would read back as floats.
    filler = [FILLER[value_type]] * k
    child = pa.array([x for r in rows for x in (filler if r is None else r)], type=value_type)
    return pa.FixedSizeListArray.from_arrays(child, k, mask=pa.array([r is None for r in rows]))


def read(path) -> pd.DataFrame:
    """A parquet token table (new or old format) as pandas, top-k columns as object columns of numpy arrays."""
    return readable(pd.read_parquet(path))


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Each top-k cell a numpy array of its column's dtype, and a null row (no context) an empty one,
    as a parquet list column of empty lists reads. (Parquet keeps a null row's k slots as nulls, so
    pandas reads a fixed-size list of ids with null rows as floats: they are made ids again here.)"""
    for name, empty in EMPTY.items():
        if name not in frame or not len(frame):
            continue
        values = frame[name].to_numpy(dtype=object)
        missing = np.array([v is None for v in values])
        floats = name == "topk_token_ids" and any(v.dtype.kind == "f" for v in values[~missing][:1])
        if not missing.any() and not floats:
            continue
        values = values.copy()
        filled = np.flatnonzero(~missing)
        if floats and len(filled):
            for i, row in zip(filled, np.stack(values[filled]).astype(np.int64)):
                values[i] = row
        for i in np.flatnonzero(missing):
            values[i] = empty.copy()
        frame[name] = values
    return frame
