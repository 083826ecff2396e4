"""Column names, dtypes and units of every table that crosses a boundary.

Units: natural logs (nats) everywhere in storage. Bits appear only at display
time (multiply by BITS_PER_NAT). Missing values are NaN, never 0.0: a logprob
of 0.0 means probability 1. A metric column's label, unit and meaning for
readers (pickers, legends, headers) are declared in analysis/metrics.py.
"""

from __future__ import annotations

import math

BITS_PER_NAT = 1.0 / math.log(2.0)

# --- token table: one row per scored token per model -------------------------
# position is the token's index inside its text (BOS, when prepended, is not a
# row). text[char_start:char_end] is exactly the text this token covers; the
# whitespace before a word belongs to the token that carries it (" quick").
TOKEN_COLUMNS = {
    "text_id": "int64",  # index of the text in the scored batch
    "position": "int64",  # 0-based token index within the text
    "token_id": "int64",
    "token": "string",  # decoded piece
    "char_start": "int64",  # offsets into the original text (Python str indices)
    "char_end": "int64",
    "logprob": "float64",  # nats, ln p(token | everything before it); NaN: no context
    "entropy": "float64",  # nats, of the full next-token distribution at this position
    "rank": "float64",  # 1 = model's top choice; 1 + #tokens with a strictly higher logit; NaN: no context
    "context_tokens": "int64",  # tokens of left context the model saw (BOS included)
    # nats, log P(next token starts a new word | context before this token): the mass of the
    # word-starting tokens and EOS (backend/scoring/word_start.py) under the distribution that scored it.
    "word_start_logprob": "float64",
    # nats, the same mass under the distribution after this token (the next token's, or past the
    # text's end for its last token): with the one above, the end-of-word correction of analysis/words.py.
    "next_word_start_logprob": "float64",
    "topk_token_ids": "object",  # list[int], best first
    "topk_tokens": "object",  # list[str]
    "topk_logprobs": "object",  # list[float], nats
}
# The combined (A and B) token table adds this column: "a" or "b".
MODEL_COLUMN = "model"

# --- word table: one row per word per text, both models side by side ---------
# Words are spans of word characters, single punctuation marks, or newline runs
# (see analysis/words.py for the exact rule). delta = logprob_a - logprob_b:
# positive means model A predicted the word better.
WORD_COLUMNS = {
    "text_id": "int64",
    "word_index": "int64",
    "word": "string",
    "char_start": "int64",
    "char_end": "int64",
    "logprob_a": "float64",  # nats, ln p(word | context): tokens' sum + end-of-word correction (analysis/words.py)
    "logprob_b": "float64",
    "logprob_prefix_a": "float64",  # nats, the plain sum over the word's tokens: p of the string as a prefix
    "logprob_prefix_b": "float64",
    "entropy_a": "float64",  # nats, of the first token of the word
    "entropy_b": "float64",
    "n_tokens_a": "int64",
    "n_tokens_b": "int64",
    "delta": "float64",  # logprob_a - logprob_b, nats
}

# --- per text and model summary ----------------------------------------------
SUMMARY_COLUMNS = {
    "text_id": "int64",
    "model": "string",
    "n_tokens": "int64",
    "mean_surprisal": "float64",  # nats per token
    "perplexity": "float64",  # exp(mean surprisal)
    "bits_per_byte": "float64",  # total surprisal in bits / UTF-8 bytes scored
    "mean_entropy": "float64",  # nats
    "top1_share": "float64",  # share of tokens with rank 1
    "words_won": "int64",  # words where this model's logprob beats the other's
    "n_words": "int64",  # words compared (both scored)
}

# --- same-vocabulary comparison: one row per position -------------------------
SAME_VOCAB_COLUMNS = {
    "text_id": "int64",
    "position": "int64",
    "kl_a_b": "float64",  # nats, KL(p_A || p_B) of the next-token distributions
    "kl_b_a": "float64",  # nats, KL(p_B || p_A)
    "js": "float64",  # nats, Jensen-Shannon divergence (<= ln 2)
    "topk_overlap": "float64",  # |topk_A ∩ topk_B| / k
}


# --- both models' ranks side by side: joined from the token table when a map is drawn, not stored ----------
# Per word: the rank of each model's first token of the word; per position: where the vocabulary is shared.
RANK_PAIR_COLUMNS = {
    "rank_a": "float64",
    "rank_b": "float64",
}


def empty_token_table():
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in TOKEN_COLUMNS.items()})


def to_display_units(values, unit: str):
    """nats -> the unit chosen in the UI ("nats" or "bits")."""
    if unit == "bits":
        return values * BITS_PER_NAT
    if unit == "nats":
        return values
    raise ValueError(f"unknown unit {unit!r}: use 'nats' or 'bits'")
