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
from backend.scoring.batch_size import FIRST_BATCH_TOKENS_GPU, CudaMemoryProbe, fit_batch_tokens
from backend.scoring import word_start
from backend.scoring.head import DEFAULT_CHUNK_BYTES, Head, chunk_size, position_stats, word_start_only
from backend.models.loading import LoadedModel
from backend.scoring.packing import forward_packed, one_row_per_pack, pack_batches, packed_inputs, packing_works
from backend.scoring.tokens import TokenizedText, tokenize_with_offsets
from backend.scoring.transfer import HostCopy, to_device, to_host
from backend.scoring.windows import Row, pad_batch, plan_rows

Progress = Callable[[int, int], None]  # (tokens done, tokens in all)

# Bumped whenever the scorer's numbers change for the same inputs, so that no cached entry
# (backend/store/score_cache.py) or resumed corpus part (backend/corpus/ray_engine.py) from before is mixed in:
# 2 = entropy as -Σ p·log p (backend/scoring/head.py), up to 4e-3 nats away from version 1's.
# 3 = word-start logprob columns (end-of-word correction); variant=int8 became weight-only per channel.
SCORER_VERSION = 3

# Compiling the head costs tens of seconds once per process: worth it for a corpus (it then scores
# 1.3x as fast on this CPU, bench/README.md), not for the few texts of an interactive page.
COMPILE_HEAD_MIN_TOKENS = 100_000

DEFAULT_WINDOW = 2048  # tokens per forward row; longer texts slide (cost is quadratic in it)


@dataclasses.dataclass(frozen=True)
class ScoreSettings:
    top_k: int = 5
    window: int | None = None  # None: min(model context, DEFAULT_WINDOW)
    stride: int | None = None  # None: half the window
    # Neither of these changes results (tested); they only trade memory for speed.
    batch_tokens: int | None = None  # tokens per forward, padding included; None: 8192 on CPU, grown to fit on GPU
    chunk_positions: int | None = None  # positions per head chunk; None: from DEFAULT_CHUNK_BYTES
    packing: bool | None = None  # several short texts per input (backend/scoring/packing.py); None: if the model passes the check
    compile_head: bool | None = None  # torch.compile'd head statistics (backend/scoring/compiled_head.py); None: for corpora

    def to_dict(self) -> dict:
        """The part of the settings that changes results, as saved with a run and a corpus output."""
        return {"top_k": self.top_k, "window": self.window, "stride": self.stride}

    def key(self) -> str:
        """to_dict() as the result cache's key (its spelling is part of every cache entry's path)."""
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
    batch_tokens = settings.batch_tokens or (FIRST_BATCH_TOKENS_GPU if on_gpu else 8192)
    # On a GPU with no batch size asked for, the first batch measures memory per token and the
    # rest grow to what fits (backend/scoring/batch_size.py).
    probe = CudaMemoryProbe(loaded.device) if on_gpu and settings.batch_tokens is None else None
    with loaded.lock, torch.inference_mode():
        head = Head.of(model)
        how = Pass(
            head=head,
            chunk=settings.chunk_positions or chunk_size(head.vocab_size, DEFAULT_CHUNK_BYTES),
            top_k=settings.top_k,
            word_start=to_device(torch.from_numpy(word_start.of(loaded)), loaded.device),
            packing=settings.packing if settings.packing is not None else packing_allowed(loaded),
            compile_head=settings.compile_head if settings.compile_head is not None else (
                sum(len(r) for r in rows) >= COMPILE_HEAD_MIN_TOKENS),
        )
        results = _run_batches(loaded, how, rows, batch_tokens, progress, probe)
    return _assemble(tokenizer, texts, tokenized, results, settings.top_k)


def packing_allowed(loaded: LoadedModel) -> bool:
    """backend/scoring/packing.py's check, once per loaded model (the caller holds its lock)."""
    if loaded.packing is None:
        loaded.packing = packing_works(loaded.model, loaded.device)
    return loaded.packing


@dataclasses.dataclass(frozen=True)
class Pass:
    """How each batch goes through the model: nothing here changes a result beyond rounding."""

    head: Head
    chunk: int  # positions per head chunk
    top_k: int
    word_start: torch.Tensor | None = None  # ids of word-starting tokens, on the model's device
    packing: bool = False
    compile_head: bool = False


def _run_batches(loaded, how: Pass, rows: list[Row], batch_tokens: int, progress=None, probe=None):
    """Forward every row once; on out-of-memory halve the batch and retry it, keeping finished work.

    Returns one tuple of numpy arrays per batch (see _Scored.arrays).
    """
    total = sum(len(r.scored()[0]) for r in rows)
    done = 0
    plan = pack_batches if how.packing else one_row_per_pack
    queue = plan([len(r) for r in rows], batch_tokens)
    max_inputs = max((len(b) for b in queue), default=1)  # lowered on out-of-memory, for the rest of the call
    results: list[_Scored] = []
    while queue:
        batch = queue.pop(0)
        if len(batch) > max_inputs:  # an earlier batch of this size did not fit
            queue[:0] = [batch[i : i + max_inputs] for i in range(0, len(batch), max_inputs)]
            continue
        if probe is not None:
            probe.start()
        try:
            results.append(_score_batch(loaded, how, [[rows[i] for i in pack] for pack in batch]))
        except Exception as error:  # noqa: BLE001 - only out-of-memory is handled
            if not _is_out_of_memory(error):
                raise
            if loaded.device.startswith("cuda"):
                torch.cuda.empty_cache()
            if len(batch) == 1:
                longest = max(len(rows[i]) for i in batch[0])
                raise OutOfMemory(
                    f"{loaded.spec.label}: one window of {longest} tokens does not fit in memory; lower the window"
                ) from error
            max_inputs, probe = len(batch) // 2, None  # memory is tight: stop growing
            queue.insert(0, batch)
            continue
        if probe is not None:  # first batch done: re-plan the rest for the batch size that fits
            tokens = len(batch) * max(sum(len(rows[i]) for i in pack) for pack in batch)
            grown = fit_batch_tokens(*probe.reading(), tokens, floor=batch_tokens)
            queue, probe = _replan(queue, rows, plan, grown), None
            max_inputs = max([max_inputs, *(len(b) for b in queue)])
        done += results[-1].n
        if progress is not None:
            progress(done, total)
    return [r.arrays() for r in results]


def _replan(queue, rows: list[Row], plan, batch_tokens: int):
    left = [i for batch in queue for pack in batch for i in pack]
    batches = plan([len(rows[i]) for i in left], batch_tokens)
    return [[[left[j] for j in pack] for pack in batch] for batch in batches]


def _is_out_of_memory(error: Exception) -> bool:
    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower()


def forward_hidden(model, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Last hidden states [batch, positions, d] (final norm applied), without the head."""
    base = getattr(model, model.base_model_prefix)
    return base(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state


def _score_batch(loaded, how: Pass, packs: list[list[Row]]):
    device = loaded.device
    pad_id = 0  # any valid id: pads come after real tokens and are never attended to or scored
    if how.packing:
        ids, positions, starts = packed_inputs([[row.ids for row in pack] for pack in packs], pad_id)
        hidden = forward_packed(loaded.model, to_device(ids, device), to_device(positions, device))
    else:
        ids, mask = pad_batch([pack[0] for pack in packs], pad_id)
        starts = [[0] for _ in packs]
        hidden = forward_hidden(loaded.model, to_device(ids, device), to_device(mask, device))
    # The shift: the hidden state at input index p - 1 predicts the token at input index p.
    input_index, at, context, text_index, token_index = [], [], [], [], []
    for b, (pack, pack_starts) in enumerate(zip(packs, starts)):
        for row, start in zip(pack, pack_starts):
            scored_rows, scored_tokens = row.scored()
            input_index.append(np.full(len(scored_rows), b))
            at.append(start + scored_rows)
            context.append(scored_rows)  # = tokens of left context seen, BOS included
            text_index.append(np.full(len(scored_rows), row.text_index))
            token_index.append(scored_tokens)
    input_index, at = np.concatenate(input_index), np.concatenate(at)
    selected = hidden[to_device(input_index, device), to_device(at - 1, device)]
    stats = position_stats(how.head, selected, to_device(ids[input_index, at], device), how.top_k, how.chunk,
                           word_start=how.word_start, compiled=how.compile_head)
    # After each row's last token: the distribution over what follows it, which no token of this row
    # is scored under. For a row that ends its text, its word-start mass (EOS included) says whether
    # the text's last word ends there (analysis/words.py); other rows' values are not used.
    end_input = np.array([b for b, pack in enumerate(packs) for _ in pack])
    end_at = np.array([start + len(row) - 1 for pack, pack_starts in zip(packs, starts)
                       for row, start in zip(pack, pack_starts)])
    end_text = np.array([row.text_index for pack in packs for row in pack])
    end_token = np.array([len(row) - 1 - row.offset + row.first_token for pack in packs for row in pack])
    end_mass = word_start_only(how.head, hidden[to_device(end_input, device), to_device(end_at, device)],
                               how.word_start, how.chunk)
    return _Scored(np.concatenate(text_index), np.concatenate(token_index), np.concatenate(context),
                   to_host([stats.logprob, stats.entropy, stats.rank, stats.topk_logprobs, stats.topk_ids,
                            stats.word_start_logprob, end_mass]),
                   end_text, end_token)


@dataclasses.dataclass
class _Scored:
    """One batch's statistics, possibly still on their way from the GPU (see backend/scoring/transfer.py)."""

    text_index: np.ndarray
    token_index: np.ndarray
    context: np.ndarray
    stats: HostCopy
    end_text: np.ndarray  # per row of the batch: its text and the text index of its last token
    end_token: np.ndarray

    @property
    def n(self) -> int:
        return len(self.text_index)

    def arrays(self):
        logprob, entropy, rank, top_lp, top_ids, word_start_lp, end_mass = self.stats.wait()
        return (self.text_index, self.token_index, self.context, logprob.double().numpy(),
                entropy.double().numpy(), rank.numpy(), top_lp.double().numpy(), top_ids.numpy(),
                word_start_lp.double().numpy(), self.end_text, self.end_token, end_mass.double().numpy())


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
    word_start_lp = np.full(n, np.nan)
    after_last = np.full(len(texts), np.nan)  # word-start mass after each text's last token
    for text_i, token_i, ctx, lp, ent, rk, tlp, tid, ws, end_text, end_token, end_mass in results:
        flat = starts[text_i] + token_i
        logprob[flat], entropy[flat], rank[flat], context[flat], word_start_lp[flat] = lp, ent, rk, ctx, ws
        top_lp[flat, : tlp.shape[1]], top_ids[flat, : tid.shape[1]] = tlp, tid
        ends = end_token == lengths[end_text] - 1
        after_last[end_text[ends]] = end_mass[ends]
    # The mass after token p is the mass the next token was scored under; after a text's last token,
    # the one measured past the end of its row.
    next_word_start_lp = np.full(n, np.nan)
    next_word_start_lp[:-1] = word_start_lp[1:]
    last = starts[1:] - 1
    next_word_start_lp[last[lengths > 0]] = after_last[lengths > 0]
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
            "word_start_logprob": word_start_lp,
            "next_word_start_logprob": next_word_start_lp,
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
