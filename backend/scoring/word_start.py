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

import hashlib
import re
from pathlib import Path

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


RULE_VERSION = 1  # bump when word_start_ids changes: the cached ids are keyed by it


def of(loaded) -> np.ndarray:
    """word_start_ids of a loaded model, built once and kept with it (the caller holds its lock).

    With a local tokenizer.json, the ids are also kept on disk (a .npy under the model cache keyed
    by the hash of the tokenizer files, the head size and the rule's version): building them decodes
    the whole vocabulary, about 1.4 s for Gemma's 262k tokens, and a later load reads them instead.
    """
    if loaded.word_start is None:
        path = _cache_path(loaded)
        cached = _read(path) if path is not None else None
        if cached is None:
            cached = word_start_ids(loaded.tokenizer, loaded.vocab_size)
            if path is not None:
                from backend.store import atomic

                atomic.write_npy(path, cached)
        loaded.word_start = cached
    return loaded.word_start


def _cache_path(loaded) -> Path | None:
    folder = Path(loaded.folder) if getattr(loaded, "folder", None) else None
    if folder is None or not (folder / "tokenizer.json").is_file():
        return None
    from backend.store.paths import model_cache_dir

    digest = hashlib.sha256(f"v{RULE_VERSION}|{loaded.vocab_size}|".encode())
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (folder / name).is_file():
            digest.update(name.encode() + (folder / name).read_bytes())
    return model_cache_dir() / "checks" / f"word-start-{digest.hexdigest()[:24]}.npy"


def _read(path: Path) -> np.ndarray | None:
    try:
        ids = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return ids.astype(np.int64) if ids.ndim == 1 else None
