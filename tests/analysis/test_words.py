"""Word alignment by character offsets, checked on hand-built token tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.words import align_tokens, align_words, bits_per_byte, first_token_values, split_words


def tokens(text: str, cuts: list[int], logprobs: list[float], entropies: list[float] | None = None) -> pd.DataFrame:
    bounds = [0] + cuts + [len(text)]
    n = len(bounds) - 1
    return pd.DataFrame(
        {
            "text_id": 0,
            "position": range(n),
            "token": [text[bounds[i] : bounds[i + 1]] for i in range(n)],
            "char_start": bounds[:-1],
            "char_end": bounds[1:],
            "logprob": logprobs,
            "entropy": entropies if entropies is not None else [float(i) for i in range(n)],
            "rank": 1.0,
        }
    )


def test_split_words_rule():
    words = split_words("Hi, you  there!\n    x_1 = 2")
    assert words["word"].tolist() == ["Hi", ",", "you", "there", "!", "\n    ", "x_1", "=", "2"]
    # extended spans tile the text and carry the spaces before the word
    assert words["span_start"].iloc[0] == 0
    assert (words["span_start"].to_numpy()[1:] == words["span_end"].to_numpy()[:-1]).all()
    assert words["span_end"].iloc[-1] == len("Hi, you  there!\n    x_1 = 2")
    assert words.loc[3, "span_start"] == 7 and words.loc[3, "char_start"] == 9


def test_word_logprob_is_sum_of_tokens_and_shared_tokens_split_evenly():
    text = "The cat))"
    # A: "The" " cat" "))"   B: "Th" "e c" "at" ")" ")"
    a = tokens(text, [3, 7], [-1.0, -2.0, -3.0], [0.5, 0.7, 0.9])
    b = tokens(text, [2, 5, 7, 8], [-0.5, -4.0, -1.0, -0.25, -0.75])
    words = align_words([text], a, b)
    assert words["word"].tolist() == ["The", "cat", ")", ")"]
    # A's "))" token spans two words: half each
    np.testing.assert_allclose(words["logprob_a"], [-1.0, -2.0, -1.5, -1.5])
    # B's "e c" spans "The" and "cat": half each
    np.testing.assert_allclose(words["logprob_b"], [-0.5 - 2.0, -2.0 - 1.0, -0.25, -0.75])
    np.testing.assert_allclose(words["delta"], words["logprob_a"] - words["logprob_b"])
    # entropy of the first token overlapping the word
    np.testing.assert_allclose(words["entropy_a"], [0.5, 0.7, 0.9, 0.9])
    assert words["n_tokens_b"].tolist() == [2, 2, 1, 1]
    # total mass is preserved
    assert math.isclose(words["logprob_a"].sum(), a["logprob"].sum())
    assert math.isclose(words["logprob_b"].sum(), b["logprob"].sum())


def test_first_token_values_are_where_the_word_table_takes_its_entropy():
    """The rank difference's per-word ranks come from the same first token as the word table's entropy."""
    text = "The cat))"
    for side, table in (("a", tokens(text, [3, 7], [-1.0, -2.0, -3.0], [0.5, 0.7, 0.9])),
                        ("b", tokens(text, [2, 5, 7, 8], [-0.5, -4.0, -1.0, -0.25, -0.75]))):
        words = align_words([text], table, table)
        got = first_token_values(text, table.sample(frac=1.0, random_state=0), "entropy")  # any row order
        np.testing.assert_allclose(got, words["entropy_a"].to_numpy())
    assert np.isnan(first_token_values(text, tokens(text, [], [-1.0]).iloc[:0], "rank")).all()


def test_unscored_token_makes_its_word_nan():
    text = "Hello world"
    a = tokens(text, [5], [np.nan, -1.0])
    words = align_words([text], a, a)
    assert np.isnan(words["logprob_a"].iloc[0]) and words["logprob_a"].iloc[1] == -1.0


def test_align_tokens_keeps_identical_spans():
    text = "The cat sat"
    a = tokens(text, [3, 7], [-1.0, -2.0, -3.0])
    b = tokens(text, [3, 5, 7], [-1.5, -2.0, -1.0, -3.5])
    same = align_tokens(a, b)
    assert same["token_a"].tolist() == ["The", " sat"]
    np.testing.assert_allclose(same["logprob_b"], [-1.5, -3.5])


def test_bits_per_byte_counts_utf8_bytes_of_scored_tokens():
    text = "né!"  # 4 bytes
    a = tokens(text, [2], [np.nan, -math.log(2)])  # first token unscored: its 3 bytes are left out
    assert math.isclose(bits_per_byte([text], a).loc[0], 1.0)
    b = tokens(text, [2], [-math.log(2) * 3, -math.log(2)])
    assert math.isclose(bits_per_byte([text], b).loc[0], 4 / 4)
