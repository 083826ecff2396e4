"""Score texts with one model: one forward pass per batch, every token statistic from it.

Output: the per-token table of analysis/schema.py (TOKEN_COLUMNS), one row
per token of every text, in text order. Where a token has no context (the
first token of a model without BOS) its statistics are NaN.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import pandas as pd
import torch

from analysis.schema import TOKEN_COLUMNS
from backend.head_stats import DEFAULT_CHUNK_BYTES, Head, chunk_size, position_stats
from backend.loading import LoadedModel
from backend.tokens import TokenizedText, tokenize_with_offsets
from backend.windows import Row, batches_by_length, pad_batch, plan_rows

Progress = Callable[[int, int], None]  # (tokens done, tokens in all)

# Bumped whenever the scorer's numbers change for the same inputs, so that no cached entry
# (backend/score_cache.py) or resumed corpus part (backend/ray_engine.py) from before is mixed in:
# 2 = entropy as -Σ p·log p (backend/head_stats.py), up to 4e-3 nats away from version 1's.
SCORER_VERSION = 2

DEFAULT_WINDOW = 2048  # tokens per forward row; longer texts slide (cost is quadratic in it)


@dataclasses.dataclass(frozen=True)
class ScoreSettings:
    top_k: int = 5
    window: int | None = None  # None: min(model context, DEFAULT_WINDOW)
    stride: int | None = None  # None: half the window
    # Neither of these changes results (tested); they only trade memory for speed.
    batch_tokens: int | None = None  # padded tokens per forward; None: 8192 on CPU, 65536 on GPU
    chunk_positions: int | None = None  # positions per head chunk; None: from DEFAULT_CHUNK_BYTES

    def key(self) -> str:
        """The part of the settings that changes results (for the result cache)."""
        return f"k={self.top_k}|w={self.window}|s={self.stride}"


class OutOfMemory(RuntimeError):
    """Raised when even one row does not fit."""


def score_texts(
    loaded: LoadedModel,
    texts: list[str],
    settings: ScoreSettings = ScoreSettings(),
    progress: Progress | None = None,
) -> pd.DataFrame:
    tokenizer, model = loaded.tokenizer, loaded.model
    tokenized = tokenize_with_offsets(tokenizer, texts)
    window = settings.window or min(loaded.max_context, DEFAULT_WINDOW)
    window = min(window, loaded.max_context)
    stride = settings.stride or max(1, window // 2)
    rows = plan_rows([t.ids for t in tokenized], loaded.bos_id, window, stride)
    on_gpu = loaded.device.startswith("cuda")
    batch_tokens = settings.batch_tokens or (65536 if on_gpu else 8192)
    with loaded.lock, torch.inference_mode():
        head = Head.of(model)
        chunk = settings.chunk_positions or chunk_size(head.vocab_size, DEFAULT_CHUNK_BYTES)
        results = _run_batches(loaded, head, rows, batch_tokens, chunk, settings.top_k, progress)
    return _assemble(tokenizer, texts, tokenized, results, settings.top_k)


def _run_batches(loaded, head, rows: list[Row], batch_tokens: int, chunk: int, top_k: int, progress):
    """Forward every row once; on out-of-memory halve the batch and retry it, keeping finished work."""
    total = sum(len(r.scored()[0]) for r in rows)
    done = 0
    queue = batches_by_length(rows, batch_tokens)
    max_rows = max((len(b) for b in queue), default=1)  # lowered on out-of-memory, for the rest of the call
    results = []
    while queue:
        batch = queue.pop(0)
        if len(batch) > max_rows:  # an earlier batch of this size did not fit
            queue[:0] = [batch[i : i + max_rows] for i in range(0, len(batch), max_rows)]
            continue
        try:
            results.append(_score_batch(loaded, head, [rows[i] for i in batch], chunk, top_k))
        except Exception as error:  # noqa: BLE001 - only out-of-memory is handled
            if not _is_out_of_memory(error):
                raise
            if loaded.device.startswith("cuda"):
                torch.cuda.empty_cache()
            if len(batch) == 1:
                raise OutOfMemory(
                    f"{loaded.spec.label}: one window of {len(rows[batch[0]])} tokens does not fit in memory; lower the window"
                ) from error
            max_rows = len(batch) // 2
            queue.insert(0, batch)
            continue
        done += len(results[-1][0])
        if progress is not None:
            progress(done, total)
    return results


def _is_out_of_memory(error: Exception) -> bool:
    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower()


def forward_hidden(model, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Last hidden states [batch, positions, d] (final norm applied), without the head."""
    base = getattr(model, model.base_model_prefix)
    return base(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state


def _score_batch(loaded, head: Head, rows: list[Row], chunk: int, top_k: int):
    device = loaded.device
    pad_id = 0  # any valid id: pads come after real tokens and are never attended to or scored
    ids, mask = pad_batch(rows, pad_id)
    hidden = forward_hidden(loaded.model, torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device))
    # The shift: the hidden state at row index p - 1 predicts the token at row index p.
    batch_index, row_index, text_index, token_index = [], [], [], []
    for b, row in enumerate(rows):
        scored_rows, scored_tokens = row.scored()
        batch_index.append(np.full(len(scored_rows), b))
        row_index.append(scored_rows)
        text_index.append(np.full(len(scored_rows), row.text_index))
        token_index.append(scored_tokens)
    batch_index, row_index = np.concatenate(batch_index), np.concatenate(row_index)
    selected = hidden[torch.from_numpy(batch_index).to(device), torch.from_numpy(row_index - 1).to(device)]
    targets = torch.from_numpy(ids[batch_index, row_index]).to(device)
    stats = position_stats(head, selected, targets, top_k, chunk)
    return (
        np.concatenate(text_index),
        np.concatenate(token_index),
        row_index,  # = tokens of left context seen, BOS included
        stats.logprob.double().cpu().numpy(),
        stats.entropy.double().cpu().numpy(),
        stats.rank.cpu().numpy(),
        stats.topk_logprobs.double().cpu().numpy(),
        stats.topk_ids.cpu().numpy(),
    )


def _assemble(tokenizer, texts, tokenized: list[TokenizedText], results, top_k: int) -> pd.DataFrame:
    lengths = np.array([len(t.ids) for t in tokenized], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    n = int(lengths.sum())
    logprob = np.full(n, np.nan)
    entropy = np.full(n, np.nan)
    rank = np.full(n, np.nan)
    context = np.zeros(n, dtype=np.int64)
    top_lp = np.full((n, top_k), np.nan)
    top_ids = np.full((n, top_k), -1, dtype=np.int64)
    for text_i, token_i, ctx, lp, ent, rk, tlp, tid in results:
        flat = starts[text_i] + token_i
        logprob[flat], entropy[flat], rank[flat], context[flat] = lp, ent, rk, ctx
        top_lp[flat, : tlp.shape[1]], top_ids[flat, : tid.shape[1]] = tlp, tid
    token_ids = np.concatenate([t.ids for t in tokenized]) if n else np.zeros(0, dtype=np.int64)
    pieces = _decoder(tokenizer)
    has_context = ~np.isnan(logprob)
    table = pd.DataFrame(
        {
            "text_id": np.repeat(np.arange(len(texts), dtype=np.int64), lengths),
            "position": np.concatenate([np.arange(k, dtype=np.int64) for k in lengths]) if n else np.zeros(0, np.int64),
            "token_id": token_ids,
            "token": pd.array([pieces(i) for i in token_ids], dtype="string"),
            "char_start": np.concatenate([t.char_start for t in tokenized]) if n else np.zeros(0, np.int64),
            "char_end": np.concatenate([t.char_end for t in tokenized]) if n else np.zeros(0, np.int64),
            "logprob": logprob,
            "entropy": entropy,
            "rank": rank,
            "context_tokens": context,
            "topk_token_ids": [list(map(int, row)) if ok else [] for row, ok in zip(top_ids, has_context)],
            "topk_tokens": [[pieces(i) for i in row] if ok else [] for row, ok in zip(top_ids, has_context)],
            "topk_logprobs": [list(map(float, row)) if ok else [] for row, ok in zip(top_lp, has_context)],
        }
    )
    return table.astype({c: t for c, t in TOKEN_COLUMNS.items() if t != "object"})


def _decoder(tokenizer):
    """id -> decoded piece, memoised (a 1 MB text repeats a few thousand distinct ids)."""
    memo: dict[int, str] = {}

    def piece(token_id) -> str:
        token_id = int(token_id)
        if token_id not in memo:
            memo[token_id] = tokenizer.decode([token_id])
        return memo[token_id]

    return piece
