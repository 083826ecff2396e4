"""Align two models' token tables on shared words, by character offsets.

Two models with different tokenisers cut a text differently, so they are
compared on words, which do not depend on the tokeniser.

The word rule:
  * A word is a run of word characters (\\w+), a single punctuation or symbol
    character, or a newline together with the whitespace that follows it
    (so "\\n    " is one word: line breaks and indentation are predictions too).
  * Spaces and tabs before a word belong to that word's *extended span* (not
    to its text): " quick" is one token in most tokenisers, and the cost of
    predicting the space is part of the cost of the word. Extended spans tile
    the text; trailing spaces at the very end belong to the last word.
  * A token's logprob goes to the words whose extended spans it overlaps,
    split evenly when it overlaps several (a token "))" gives half to each).
    So a word's logprob is the sum of its tokens' shares, and the sum over
    words equals the sum over tokens.
  * A word's entropy is the entropy of the first token overlapping the word:
    the model's uncertainty just before the word begins.
  * A word whose tokens include one without a score (NaN) has NaN logprob.

The probability of a word, not of a prefix (Pimentel & Meister 2024, "How to Compute the
Probability of a Word"). Both embedded tokenizers put a word's leading space in its first
token, so the product of a word's token probabilities is the probability that the text goes
on with that *string*: p(" quick") also covers " quickly". The word's own probability is

    log p(w | c) = Σ log p(tokens of w) + A(w) − A(previous word)

where A(w) = log P(the next token starts a new word | c, w), from the token table's
next_word_start_logprob at w's last token (the mass of the word-starting tokens and EOS, see
backend/scoring/word_start.py), and A(previous word) is the same number measured before w.
`logprob` is this corrected value; `logprob_prefix` keeps the plain sum. A(w) is taken as 0
(no correction at that boundary) where it is not a model's prediction of a word end:
  * after a single punctuation mark every next character starts a new word: A = log 1 = 0;
  * after a newline run, whose end the word-start mass does not measure (spaces continue it);
  * where a token crosses the boundary (no distribution sits exactly at the word's end).
So the terms telescope: over a text, the corrected words sum to the tokens' total plus A of the
last word (whether the text ends there, EOS included) - the documented boundary term.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from analysis.schema import WORD_COLUMNS

WORD_PATTERN = re.compile(r"[^\S\n]*(\n\s*|\w+|[^\w\s])")


def split_words(text: str) -> pd.DataFrame:
    """word, char_start, char_end (the word's own text) and span_start, span_end (extended span)."""
    rows = [(m.group(1), m.start(1), m.end(1), m.start(), m.end()) for m in WORD_PATTERN.finditer(text)]
    frame = pd.DataFrame(rows, columns=["word", "char_start", "char_end", "span_start", "span_end"])
    if len(frame):
        frame.loc[frame.index[-1], "span_end"] = len(text)
    return frame.astype({"word": "string", "char_start": "int64", "char_end": "int64", "span_start": "int64", "span_end": "int64"})


def token_word_shares(token_starts: np.ndarray, token_ends: np.ndarray, span_starts: np.ndarray, span_ends: np.ndarray):
    """For each token, the words its span overlaps: (token index, word index, share) triples.

    An empty token span (part of a split character) counts as overlapping the
    word that contains its position.
    """
    if len(span_starts) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    zeros = np.zeros(len(token_starts), dtype=np.int64)
    return _shares(token_starts, token_ends, span_starts, span_ends, zeros, zeros + len(span_starts))


def _shares(token_starts, token_ends, span_starts, span_ends, low, high):
    """token_word_shares over many texts at once: offsets made global, and each token's words kept
    inside its own text's words [low, high) (what clipping to one text's words does)."""
    first = np.searchsorted(span_ends, token_starts, side="right")
    last = np.searchsorted(span_starts, np.maximum(token_ends - 1, token_starts), side="right") - 1
    first = np.clip(first, low, high - 1)
    last = np.clip(last, first, high - 1)
    count = last - first + 1
    token_index = np.repeat(np.arange(len(token_starts)), count)
    # first, first + 1, ..., last for each token, without a Python loop over tokens
    word_index = np.repeat(first, count) + np.arange(len(token_index)) - np.repeat(np.cumsum(count) - count, count)
    share = np.repeat(1.0 / count, count)
    return token_index, word_index.astype(np.int64), share


def words_for_model(words: pd.DataFrame, tokens: pd.DataFrame) -> pd.DataFrame:
    """logprob (end-of-word corrected), logprob_prefix, entropy and n_tokens per word of one text, for one model."""
    return _words_for_model(words, tokens, np.zeros(len(words), dtype=np.int64), np.zeros(len(tokens), dtype=np.int64),
                            np.zeros(1, dtype=np.int64))


def _words_for_model(words: pd.DataFrame, tokens: pd.DataFrame, word_text: np.ndarray, token_text: np.ndarray,
                     text_base: np.ndarray) -> pd.DataFrame:
    """words_for_model over many texts at once: words and tokens sorted by text (tokens by position
    within it), each labelled with its text's number; a token counts only for its own text's words.
    text_base[t]: where text t starts when all texts are laid on one line (offsets made global)."""
    n_words = len(words)
    starts = np.searchsorted(word_text, token_text, side="left") if n_words else np.zeros(len(tokens), np.int64)
    ends = np.searchsorted(word_text, token_text, side="right") if n_words else starts
    keep = ends > starts  # a text without words takes none of its tokens' logprob
    word_base, token_base = text_base[word_text], text_base[token_text]
    token_index, word_index, share = _shares(
        tokens["char_start"].to_numpy()[keep] + token_base[keep], tokens["char_end"].to_numpy()[keep] + token_base[keep],
        words["span_start"].to_numpy() + word_base, words["span_end"].to_numpy() + word_base, starts[keep], ends[keep],
    )
    token_index = np.flatnonzero(keep)[token_index]
    logprob = np.zeros(n_words)
    token_logprob = tokens["logprob"].to_numpy(dtype=float)[token_index]
    # np.add.at propagates NaN: a word with an unscored token stays NaN.
    np.add.at(logprob, word_index, token_logprob * share)
    n_tokens = np.bincount(word_index, minlength=n_words)
    logprob[n_tokens == 0] = np.nan
    entropy = np.full(n_words, np.nan)
    first_token = np.full(n_words, -1)
    # token_index is sorted, so the first occurrence of each word is its first token.
    unique_words, first_pos = np.unique(word_index, return_index=True)
    first_token[unique_words] = token_index[first_pos]
    has = first_token >= 0
    entropy[has] = tokens["entropy"].to_numpy(dtype=float)[first_token[has]]
    after = word_end_term(words, tokens, token_index, word_index)
    before = np.concatenate([[0.0], after[:-1]])
    before[np.flatnonzero(np.diff(word_text, prepend=np.int64(-1)) != 0)] = 0.0  # a text's first word: nothing before it
    corrected = logprob + (after - before)
    return pd.DataFrame({"logprob": corrected, "logprob_prefix": logprob, "entropy": entropy,
                         "n_tokens": n_tokens.astype(np.int64)})


def first_token_values(text: str, tokens: pd.DataFrame, column: str) -> np.ndarray:
    """Per word of one text (split_words order, the word table's word_index), one model's `column` at the first
    token overlapping the word: where the model's prediction of the word begins, as the word table's entropy is.
    NaN for a word no token covers. tokens: that model's rows of this text."""
    words = split_words(text)
    out = np.full(len(words), np.nan)
    if not len(words) or not len(tokens):
        return out
    ordered = tokens.sort_values("position")
    token_index, word_index, _ = token_word_shares(ordered["char_start"].to_numpy(), ordered["char_end"].to_numpy(),
                                                   words["span_start"].to_numpy(), words["span_end"].to_numpy())
    # token_index is sorted, so the first occurrence of each word is its first token.
    unique_words, first_pos = np.unique(word_index, return_index=True)
    out[unique_words] = ordered[column].to_numpy(dtype=float)[token_index[first_pos]]
    return out


def word_end_term(words: pd.DataFrame, tokens: pd.DataFrame, token_index: np.ndarray, word_index: np.ndarray) -> np.ndarray:
    """A(w) per word (nats): log P(a new word starts after w), or 0 where the rule above takes none."""
    n_words = len(words)
    after = np.zeros(n_words)
    if "next_word_start_logprob" not in tokens or n_words == 0 or len(token_index) == 0:
        return after  # a table scored before the correction existed: prefix sums, as then
    last_token = np.full(n_words, -1)
    np.maximum.at(last_token, word_index, token_index)
    words_per_token = np.bincount(token_index, minlength=len(tokens))
    token_end = tokens["char_end"].to_numpy()
    ends_in_letter = words["word"].str.contains(r"\w$", na=False).to_numpy()  # \w+ words; not punctuation or "\n"
    has = last_token >= 0
    aligned = np.zeros(n_words, dtype=bool)
    aligned[has] = (words_per_token[last_token[has]] == 1) & (token_end[last_token[has]] == words["span_end"].to_numpy()[has])
    measured = aligned & ends_in_letter
    mass = tokens["next_word_start_logprob"].to_numpy(dtype=float)
    after[measured] = mass[last_token[measured]]
    return np.nan_to_num(after, nan=0.0)  # no distribution measured: no correction


def end_of_word_terms(words: pd.DataFrame, tokens: pd.DataFrame, token_index: np.ndarray, word_index: np.ndarray) -> np.ndarray:
    """A(w) − A(previous word) per word: what the corrected logprob adds to the prefix sum."""
    after = word_end_term(words, tokens, token_index, word_index)
    return after - np.concatenate([[0.0], after[:-1]])


def split_all(texts: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """split_words of every text in one table, and each word's text number (sorted)."""
    rows, text_of = [], []
    for text_id, text in enumerate(texts):
        found = [(m.group(1), m.start(1), m.end(1), m.start(), m.end()) for m in WORD_PATTERN.finditer(text)]
        if found:
            last = found[-1]
            found[-1] = last[:4] + (len(text),)  # trailing spaces belong to the last word
        rows.extend(found)
        text_of.append(np.full(len(found), text_id, dtype=np.int64))
    frame = pd.DataFrame(rows, columns=["word", "char_start", "char_end", "span_start", "span_end"])
    frame = frame.astype({"word": "string", "char_start": "int64", "char_end": "int64", "span_start": "int64", "span_end": "int64"})
    return frame, (np.concatenate(text_of) if text_of else np.zeros(0, dtype=np.int64))


def _by_text(tokens: pd.DataFrame, n_texts: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A model's tokens of texts 0..n_texts-1, sorted by text then position, and their text numbers."""
    text_id = tokens["text_id"].to_numpy()
    inside = np.flatnonzero((text_id >= 0) & (text_id < n_texts))
    order = inside[np.lexsort((tokens["position"].to_numpy()[inside], text_id[inside]))]
    needed = [c for c in ("char_start", "char_end", "logprob", "entropy", "next_word_start_logprob") if c in tokens]
    return tokens[needed].iloc[order].reset_index(drop=True), text_id[order].astype(np.int64)


def align_words(texts: list[str], tokens_a: pd.DataFrame, tokens_b: pd.DataFrame) -> pd.DataFrame:
    """The word table (schema.WORD_COLUMNS) of both models over every text.

    All texts at once (vectorised): the same numbers as words_for_model text by text.
    """
    if not texts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in WORD_COLUMNS.items()})
    words, word_text = split_all(texts)
    # Text t starts one character after text t - 1 ends, so no two texts' offsets touch.
    text_base = np.concatenate([[0], np.cumsum([len(t) + 1 for t in texts])]).astype(np.int64)
    sides = []
    for tokens in (tokens_a, tokens_b):
        ordered, token_text = _by_text(tokens, len(texts))
        sides.append(_words_for_model(words, ordered, word_text, token_text, text_base))
    a, b = sides
    first = np.searchsorted(word_text, word_text, side="left")
    frame = pd.DataFrame(
        {
            "text_id": word_text,
            "word_index": np.arange(len(words), dtype=np.int64) - first,
            "word": words["word"],
            "char_start": words["char_start"],
            "char_end": words["char_end"],
            "logprob_a": a["logprob"],
            "logprob_b": b["logprob"],
            "logprob_prefix_a": a["logprob_prefix"],
            "logprob_prefix_b": b["logprob_prefix"],
            "entropy_a": a["entropy"],
            "entropy_b": b["entropy"],
            "n_tokens_a": a["n_tokens"],
            "n_tokens_b": b["n_tokens"],
            "delta": a["logprob"] - b["logprob"],
        }
    )
    return frame.astype(WORD_COLUMNS)


WORD_PROBABILITIES = ("corrected", "prefix")


def with_word_probability(words: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The word table with logprob_a/b and delta as `kind`: "corrected" (stored) or "prefix" (the plain sums).

    A table scored before the correction existed has no prefix columns: its logprobs are prefix sums already.
    """
    if kind not in WORD_PROBABILITIES:
        raise ValueError(f"unknown word probability {kind!r}: use one of {', '.join(WORD_PROBABILITIES)}")
    if kind == "corrected" or "logprob_prefix_a" not in words:
        return words
    return words.assign(logprob_a=words["logprob_prefix_a"], logprob_b=words["logprob_prefix_b"],
                        delta=words["logprob_prefix_a"] - words["logprob_prefix_b"])


def align_tokens(tokens_a: pd.DataFrame, tokens_b: pd.DataFrame) -> pd.DataFrame:
    """Tokens whose spans are identical in both tokenisations, side by side (suffixes _a, _b)."""
    keys = ["text_id", "char_start", "char_end"]
    columns = keys + ["position", "token", "logprob", "entropy", "rank"]
    return tokens_a[columns].merge(tokens_b[columns], on=keys, suffixes=("_a", "_b"))


def token_bytes(texts: list[str], text_id: np.ndarray, char_start: np.ndarray, char_end: np.ndarray) -> np.ndarray:
    """UTF-8 bytes of texts[text_id][char_start:char_end] per token, without a Python loop over tokens."""
    if len(text_id) == 0:
        return np.zeros(0, dtype=np.int64)
    used = np.unique(text_id)
    lengths = np.array([len(texts[int(t)]) for t in used], dtype=np.int64)
    code_points = np.frombuffer("".join(texts[int(t)] for t in used).encode("utf-32-le"), dtype=np.uint32)
    width = 1 + (code_points >= 0x80) + (code_points >= 0x800) + (code_points >= 0x10000)
    before = np.concatenate([[0], np.cumsum(width)])  # bytes before each character
    base = np.concatenate([[0], np.cumsum(lengths)])[np.searchsorted(used, text_id)]
    return before[base + np.asarray(char_end)] - before[base + np.asarray(char_start)]


def bits_per_byte(texts: list[str], tokens: pd.DataFrame) -> pd.Series:
    """Total surprisal in bits over the UTF-8 bytes of the scored tokens, per text_id.

    Comparable across tokenisers: it does not depend on how the text was cut.
    Tokens without a score (no context) are left out, with their bytes.
    """
    scored = tokens[tokens["logprob"].notna()]
    scored = scored.assign(n_bytes=token_bytes(texts, scored["text_id"].to_numpy(), scored["char_start"].to_numpy(),
                                               scored["char_end"].to_numpy()))
    out = {}
    for text_id, group in scored.groupby("text_id"):
        n_bytes = int(group["n_bytes"].sum())
        out[int(text_id)] = -group["logprob"].sum() / math.log(2) / n_bytes if n_bytes else np.nan
    return pd.Series(out, name="bits_per_byte", dtype="float64")
