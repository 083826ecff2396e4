"""The vocabulary's word-starting tokens, for the probability that a word ends where the text says it does.

A token starts a new word when the text it adds mid-text begins with a character that cannot
continue a word under analysis/words.py's rule (whitespace, punctuation, a newline), and the end
of text (EOS) ends every word. The head sums p over these tokens at each position
(backend/scoring/logit_stats.py) for the end-of-word correction of Pimentel & Meister (2024,
"How to Compute the Probability of a Word"); analysis/words.py applies it.

A token's mid-text text is found by decoding it after a plain letter and cutting that letter
off: decoding a token alone drops SentencePiece's leading space ("▁quick" -> "quick"), which
would hide exactly the spaces that matter here. Special tokens other than EOS are never
predicted inside a text and stay out; byte pieces that decode to U+FFFD (part of a character)
may continue a word and stay out too.
"""

from __future__ import annotations

import re

import numpy as np

_CONTINUES_A_WORD = re.compile(r"\w")


def word_start_ids(tokenizer, vocab_size: int) -> np.ndarray:
    """Sorted ids (< vocab_size) of tokens that start a new word, EOS included. About a second for 262k tokens."""
    anchor = tokenizer.convert_tokens_to_ids("a")
    if anchor is None or anchor == tokenizer.unk_token_id:
        anchor = tokenizer.encode("a", add_special_tokens=False)[-1]
    prefix = tokenizer.decode([anchor])
    n = min(vocab_size, len(tokenizer))
    decoded = tokenizer.batch_decode([[anchor, i] for i in range(n)])
    special = set(tokenizer.all_special_ids)
    special.update(i for i, token in getattr(tokenizer, "added_tokens_decoder", {}).items() if token.special)
    starts = np.zeros(vocab_size, dtype=bool)
    for i, text in enumerate(decoded):
        if i in special:
            continue
        piece = text[len(prefix):] if text.startswith(prefix) else text
        if piece and piece[0] != "\ufffd" and not _CONTINUES_A_WORD.match(piece[0]):
            starts[i] = True
    eos = tokenizer.eos_token_id
    for token_id in (eos if isinstance(eos, list) else [eos]):
        if token_id is not None and 0 <= token_id < vocab_size:
            starts[token_id] = True
    return np.flatnonzero(starts).astype(np.int64)


def of(loaded) -> np.ndarray:
    """word_start_ids of a loaded model, built once and kept with it (the caller holds its lock)."""
    if loaded.word_start is None:
        loaded.word_start = word_start_ids(loaded.tokenizer, loaded.vocab_size)
    return loaded.word_start
