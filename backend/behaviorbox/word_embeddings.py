"""One contextual vector per word of the word table, from a sentence-transformers encoder.

BehaviorBox needs an embedding of each word *in its context*. We run the
encoder's transformer (default all-MiniLM-L6-v2, backend/models/embedded.py) over
each text and mean-pool its token embeddings (the transformer's last hidden
state, what `SentenceTransformer.encode(output_value="token_embeddings")`
returns, before the sentence pooling) over the word's pieces.

- Words and pieces are matched by character offsets: a piece belongs to a
  word when their spans overlap (`analysis.schema.WORD_COLUMNS` char_start /
  char_end, the tokenizer's offset mapping, both Python str indices).
- Texts longer than the encoder's window (MiniLM: 256 tokens with [CLS] and
  [SEP]) are cut into windows that overlap by half; each word takes its
  vector from the window where it has the most context on its poorer side
  (a side that reaches the text's start or end counts as complete).
- A word with no piece of its own (newline runs and other whitespace, which
  BERT tokenizers drop) takes the mean of the pieces right before and right
  after it, so it still says where it stands; `has_pieces` flags those rows.
- Windows from all texts are batched together, longest first (an
  out-of-memory error shows up in the first batch), on the encoder's device.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import pandas as pd

Progress = Callable[[int, int], None]  # (windows done, windows in all)

DEFAULT_BATCH = 32  # windows of up to 256 tokens: ~30 MB of activations per batch for MiniLM on CPU


@dataclasses.dataclass
class WordEmbeddings:
    vectors: np.ndarray  # [n_words, dim] float32; row i is words.iloc[i]
    has_pieces: np.ndarray  # [n_words] bool; False: pooled from the neighbouring pieces (or zero: a text without any)
    n_windows: int  # encoder calls' worth of windows, over all texts
    window_tokens: int  # content tokens per window (the encoder's maximum minus its special tokens)


@dataclasses.dataclass
class _Window:
    text_id: int
    start: int  # content-token index in the text where the window starts
    end: int  # exclusive


def _parts(encoder):
    """(SentenceTransformer-like model, lock or None) from a SentenceEncoder or a SentenceTransformer."""
    if hasattr(encoder, "model") and hasattr(encoder, "lock"):
        return encoder.model, encoder.lock
    return encoder, None


def _special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a text's pieces ([CLS] / [SEP] for BERT)."""
    bare = tokenizer("x", add_special_tokens=False)["input_ids"]
    full = tokenizer("x", add_special_tokens=True)["input_ids"]
    for i in range(len(full) - len(bare) + 1):
        if full[i : i + len(bare)] == bare:
            return full[:i], full[i + len(bare) :]
    return [], []


def plan_windows(n_tokens: int, size: int, stride: int) -> list[tuple[int, int]]:
    """[(start, end)] content-token windows covering 0..n_tokens: one window
    when it fits, else windows of `size` every `stride` tokens, the last one
    ending at the text's end."""
    if n_tokens <= size:
        return [(0, n_tokens)]
    starts = list(range(0, n_tokens - size, stride)) + [n_tokens - size]
    return [(s, s + size) for s in starts]


def pick_windows(
    p0: np.ndarray, p1: np.ndarray, windows: list[tuple[int, int]], n_tokens: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For words with pieces p0..p1 (inclusive, content-token indices):
    (window index, first, last piece kept), vectorised over words.

    The window holding the most of the pieces wins, then the one with most
    context on the poorer side (a side reaching the text's start or end
    counts as complete). Pieces outside the chosen window are dropped, so
    only a word longer than a window loses any.
    """
    starts = np.array([s for s, _ in windows], np.int64)
    ends = np.array([e for _, e in windows], np.int64)
    m = len(windows)
    big = n_tokens + 1  # "complete" context: more than any real count
    size = int((ends - starts).max())
    stride = int(np.diff(starts).max()) if m > 1 else size  # the regular stride (the last step may be shorter)
    # Only windows starting within a window's length before p0 can hold p0;
    # with the regular stride that is a handful around the last start <= p0.
    last = np.searchsorted(starts, p0, side="right") - 1
    reach = size // max(1, stride) + 2
    best_key = np.full(len(p0), -1, np.int64)
    best_w = np.zeros(len(p0), np.int64)
    for off in range(-reach, 2):
        w = last + off
        ok = (w >= 0) & (w < m)
        wc = np.clip(w, 0, m - 1)
        s, e = starts[wc], ends[wc]
        covered = np.minimum(e, p1 + 1) - np.maximum(s, p0)
        left = np.where(s == 0, big, p0 - s)
        right = np.where(e == n_tokens, big, e - 1 - p1)
        ctx = np.clip(np.minimum(left, right), -1, big)
        key = np.where(ok & (covered > 0), covered * (big + 2) + ctx + 1, -1)
        better = key > best_key
        best_key = np.where(better, key, best_key)
        best_w = np.where(better, wc, best_w)
    return best_w, np.maximum(starts[best_w], p0), np.minimum(ends[best_w] - 1, p1)


def word_embeddings(
    encoder,
    texts: list[str],
    words: pd.DataFrame,
    max_tokens: int | None = None,
    stride: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    normalize: bool = True,
    progress: Progress | None = None,
) -> WordEmbeddings:
    """Contextual vectors for the rows of `words` (text_id, char_start, char_end; any order, any subset).

    encoder: a backend.models.sentence_encoder.SentenceEncoder (its lock is held
    while the model runs) or a sentence_transformers.SentenceTransformer.
    max_tokens: tokens per encoder call including special tokens (default:
    the encoder's max_seq_length, capped by its position embeddings);
    stride: tokens between window starts (default half a window).
    normalize: unit-length rows; the encoder is trained for cosine
    similarity, and unit rows keep a few long vectors from dominating the
    SAE's squared error (no-piece rows of a text without pieces stay zero).
    """
    import torch

    st_model, lock = _parts(encoder)
    hf = st_model[0].auto_model
    tokenizer = st_model.tokenizer
    limit = int(getattr(hf.config, "max_position_embeddings", 512) or 512)
    max_tokens = min(int(max_tokens or getattr(st_model, "max_seq_length", None) or limit), limit)
    prefix, suffix = _special_tokens(tokenizer)
    size = max_tokens - len(prefix) - len(suffix)
    if size < 2:
        raise ValueError(f"max_tokens={max_tokens} leaves no room for text between the special tokens")
    stride = int(stride or max(1, size // 2))
    if not 1 <= stride <= size:
        raise ValueError(f"stride must be between 1 and {size}, got {stride}")
    device = next(hf.parameters()).device
    dim = int(hf.config.hidden_size)

    n = len(words)
    text_ids = words["text_id"].to_numpy(np.int64)
    w_start = words["char_start"].to_numpy(np.int64)
    w_end = words["char_end"].to_numpy(np.int64)
    used = sorted(set(text_ids.tolist()))
    enc = tokenizer([texts[t] for t in used], add_special_tokens=False, return_offsets_mapping=True, verbose=False)

    windows: list[_Window] = []
    text_windows: dict[int, list[int]] = {}
    ids_of: dict[int, list[int]] = {}
    # Per word: (global window index, first, last content-token index within the text).
    assign_w = np.full(n, -1, np.int64)
    assign_a = np.zeros(n, np.int64)
    assign_b = np.zeros(n, np.int64)
    has_pieces = np.zeros(n, bool)
    rows_by_text = pd.Series(np.arange(n)).groupby(text_ids).indices
    for t, ids, offsets in zip(used, enc["input_ids"], enc["offset_mapping"]):
        ids_of[t] = list(ids)
        n_tok = len(ids)
        plan = plan_windows(n_tok, size, stride)
        text_windows[t] = list(range(len(windows), len(windows) + len(plan)))
        windows += [_Window(t, s, e) for s, e in plan]
        if n_tok == 0:
            continue  # no pieces at all: these words stay zero
        offs = np.asarray(offsets, np.int64).reshape(-1, 2)
        rows = rows_by_text[t]
        # Pieces overlapping [char_start, char_end): the first piece ending after the
        # word starts, up to the last piece starting before it ends.
        first = np.searchsorted(offs[:, 1], w_start[rows], side="right")
        last = np.searchsorted(offs[:, 0], w_end[rows], side="left") - 1
        own = first <= last
        has_pieces[rows] = own
        # No piece of its own: the piece before (first - 1) and the piece after (first).
        p0 = np.where(own, first, np.clip(first - 1, 0, n_tok - 1))
        p1 = np.where(own, last, np.clip(first, 0, n_tok - 1))
        w, a2, b2 = pick_windows(p0, p1, plan, n_tok)
        assign_w[rows] = np.asarray(text_windows[t])[w]
        assign_a[rows] = a2
        assign_b[rows] = b2

    out = torch.zeros(n, dim, dtype=torch.float32)
    counts = torch.zeros(n, dtype=torch.float32)
    words_of_window = pd.Series(np.arange(n)).groupby(assign_w).indices
    win_start = np.array([w.start for w in windows], np.int64)
    # Longest first: an out-of-memory error comes in the first batch, not the last.
    order = sorted(range(len(windows)), key=lambda i: -(windows[i].end - windows[i].start))
    todo = [i for i in order if i in words_of_window]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    done = 0
    total = len(todo)
    for s in range(0, total, batch_size):
        batch = todo[s : s + batch_size]
        seqs = [prefix + ids_of[windows[i].text_id][windows[i].start : windows[i].end] + suffix for i in batch]
        width = max(len(q) for q in seqs)
        input_ids = torch.full((len(seqs), width), pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for j, q in enumerate(seqs):
            input_ids[j, : len(q)] = torch.tensor(q, dtype=torch.long)
            mask[j, : len(q)] = 1
        # Every piece of every word assigned to these windows, as (row in batch, position, word row).
        rows = np.concatenate([words_of_window[i] for i in batch])
        row_in_batch = np.repeat(np.arange(len(batch)), [len(words_of_window[i]) for i in batch])
        first = assign_a[rows] - win_start[assign_w[rows]] + len(prefix)
        k = assign_b[rows] - assign_a[rows] + 1
        rep = np.repeat(np.arange(len(rows)), k)
        within = np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)
        bj_t = torch.from_numpy(row_in_batch[rep])
        pos_t = torch.from_numpy(first[rep] + within)
        wrow_t = torch.from_numpy(rows[rep])
        with torch.inference_mode():
            if lock is not None:
                with lock:
                    hidden = _forward(hf, input_ids, mask, device)
            else:
                hidden = _forward(hf, input_ids, mask, device)
            pieces = hidden[bj_t.to(device), pos_t.to(device)].float().cpu()
        out.index_add_(0, wrow_t, pieces)
        counts.index_add_(0, wrow_t, torch.ones(len(wrow_t)))
        done += len(batch)
        if progress is not None:
            progress(done, total)
    if progress is not None and total == 0:
        progress(0, 0)
    vectors = out / counts.clamp_min(1.0)[:, None]
    if normalize:
        vectors = vectors / vectors.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return WordEmbeddings(
        vectors=vectors.numpy().astype(np.float32, copy=False),
        has_pieces=has_pieces,
        n_windows=len(windows),
        window_tokens=size,
    )


def _forward(hf, input_ids, mask, device):
    """Last hidden state [b, t, dim] of the encoder's transformer."""
    return hf(input_ids=input_ids.to(device), attention_mask=mask.to(device)).last_hidden_state
