"""Tokenise texts with exact character offsets.

Texts are data: strings such as "<|endoftext|>" inside a text are split as
ordinary characters (split_special_tokens=True), never turned into control
tokens. So a text always encodes to ordinary tokens, and only an empty text
encodes to nothing.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass
class TokenizedText:
    ids: np.ndarray  # [n] int64
    char_start: np.ndarray  # [n] int64, text[char_start[i]:char_end[i]] is token i's text
    char_end: np.ndarray  # [n] int64


def tokenize_with_offsets(tokenizer, texts: list[str]) -> list[TokenizedText]:
    encoded = tokenizer(
        list(texts),
        add_special_tokens=False,
        return_offsets_mapping=True,
        split_special_tokens=True,
    )
    out = []
    for text, ids, offsets in zip(texts, encoded["input_ids"], encoded["offset_mapping"]):
        starts, ends = tile_offsets(np.asarray(offsets, dtype=np.int64).reshape(-1, 2), len(text))
        out.append(TokenizedText(np.asarray(ids, dtype=np.int64), starts, ends))
    return out


def tile_offsets(offsets: np.ndarray, text_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Make token spans tile the text: each token starts where the previous one ended.

    Tokenisers report offsets that skip the whitespace a token carries (a
    sentencepiece "▁quick" or a byte-level " quick" may report only "quick"),
    and tokens that hold part of one character (byte fallback) report that
    whole character. Tiling gives the whitespace to the token that carries it,
    gives a split character to the first of its tokens (the rest get an empty
    span), and the tail of the text to the last token, so that
    "".join(text[s:e]) == text.
    """
    n = len(offsets)
    starts = np.empty(n, dtype=np.int64)
    ends = np.empty(n, dtype=np.int64)
    position = 0
    for i in range(n):
        end = max(int(offsets[i, 1]), position)
        starts[i] = position
        ends[i] = end
        position = end
    if n:
        ends[-1] = max(ends[-1], text_length)
    return starts, ends
