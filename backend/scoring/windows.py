"""Cut tokenised texts into model inputs ("rows"), with sliding windows for long texts.

A text that fits the window is one row: [BOS] + tokens. A longer text is cut
into windows of `window` tokens that advance by `stride`; each window scores
only the tokens that no earlier window scored, so every token is scored once,
with at least window - stride tokens of left context (all of it in the first
window). Later windows start mid-text and carry no BOS.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass
class Row:
    text_index: int
    ids: np.ndarray  # [length] model input, BOS included when present
    first_token: int  # text token index of ids[offset]
    offset: int  # 1 if this row starts with BOS, else 0
    score_from: int  # first row index whose token is scored (>= 1: it needs a predecessor)

    def __len__(self) -> int:
        return len(self.ids)

    def scored(self) -> tuple[np.ndarray, np.ndarray]:
        """(row indices, text token indices) of the tokens this row scores."""
        rows = np.arange(self.score_from, len(self.ids))
        return rows, rows - self.offset + self.first_token


def plan_rows(token_ids: list[np.ndarray], bos_id: int | None, window: int, stride: int) -> list[Row]:
    if window < 2:
        raise ValueError(f"window must be at least 2 tokens, got {window}")
    if not 0 < stride <= window - 1:
        raise ValueError(f"stride must be between 1 and window - 1 ({window - 1}), got {stride}")
    rows: list[Row] = []
    for text_index, ids in enumerate(token_ids):
        n = len(ids)
        if n == 0:
            continue
        bos = [] if bos_id is None else [bos_id]
        end = min(n, window - len(bos))
        first = np.asarray(bos + list(ids[:end]), dtype=np.int64)
        rows.append(Row(text_index, first, 0, len(bos), 1))
        while end < n:
            new_end = min(end + stride, n)
            start = max(0, new_end - window)
            rows.append(Row(text_index, np.asarray(ids[start:new_end]), start, 0, end - start))
            end = new_end
    return rows


def batches_by_length(lengths: list[int], batch_tokens: int) -> list[list[int]]:
    """Indices grouped into batches of at most batch_tokens padded tokens (rows x longest row).

    Longest first, so an out-of-memory error shows up on the first batch rather than after an
    hour of work (the same reason as lm-evaluation-harness).
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        width = lengths[current[0]] if current else lengths[i]
        if current and (len(current) + 1) * width > batch_tokens:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def pad_batch(rows: list[Row], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded ids and attention mask. Right padding keeps positions 0.. for every row,
    and under a causal mask no real token ever attends to a pad."""
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row.ids
        mask[i, : len(row)] = 1
    return ids, mask
