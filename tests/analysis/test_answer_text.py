"""The part of each answer that is its own (analysis/answer_text.py), and the pairs that must stay apart."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.answer_text import answer_parts, is_polar_question, must_differ, words
from analysis.generations import answer_part_texts, embedding_labels, sweep
from analysis.uncertainty import cluster_by_embedding, threshold_sweep


def test_the_prompt_and_function_words_go():
    prompt = "What is the capital of Australia?"
    assert answer_parts(prompt, ["The capital of Australia is Sydney.", "The capital of Australia is Canberra."]) == [
        "sydney", "canberra"]
    assert answer_parts("What is the capital of France?", ["Paris", "The capital is Paris."]) == ["paris", "paris"]
    # Crude stems match "landed" with "landing"; number words become digits.
    assert answer_parts("When did the Moon landing happen?", ["It landed in nineteen", "Eight."]) == ["19", "8"]


def test_words_every_answer_repeats_go_unless_an_answer_would_be_empty():
    prompt = "In what year did World War II end?"
    assert answer_parts(prompt, ["World War II ended in 1945.", "World War II ended in 1944."]) == ["1945", "1944"]
    # "paris" is in every answer, but removing it would leave "Paris." with nothing: kept.
    assert answer_parts("Name a city.", ["Paris.", "It's Paris, France."]) == ["paris", "paris france"]


def test_numbers_alone_when_every_answer_has_one():
    prompt = "What is the boiling point of water in Celsius?"
    assert answer_parts(prompt, ["100 degrees Celsius", "Water boils at 100 °C."]) == ["100", "100"]
    assert answer_parts(prompt, ["100 degrees", "Hot."]) == ["100 degrees", "hot"]
    assert words("It costs 1,000 dollars") == ["it", "costs", "1000", "dollars"]


def test_an_answer_made_of_prompt_words_keeps_them():
    prompt = "Which is bigger, an elephant or a mouse?"
    assert answer_parts(prompt, ["The elephant is bigger.", "The mouse is bigger."]) == ["elephant", "mouse"]
    assert answer_parts(prompt, ["An elephant.", "The elephant is bigger."]) == ["elephant", "elephant bigger"]


def test_yes_no_questions_reduce_to_the_polarity():
    assert is_polar_question("Is the Earth flat?") and not is_polar_question("What is flat?")
    prompt = "Is the Sun a star?"
    assert answer_parts(prompt, ["Yes, the Sun is a star.", "The Sun is a star.", "No, it is a planet.",
                                 "It isn't.", "A big ball of gas."]) == ["yes", "yes", "no", "no", "big ball gas"]


def test_blank_answers_stay_blank_and_nothing_is_lost():
    assert answer_parts("Why?", ["", "  ", "Because."]) == ["", "", "Because."]
    assert answer_parts("Why?", []) == []


def test_must_differ_numbers_and_polarity():
    apart = np.array(must_differ(["1945", "1944", "1945 july", "paris", "yes", "no"]))
    assert apart.tolist() == [
        [False, True, False, False, False, False],
        [True, False, True, False, False, False],
        [False, True, False, False, False, False],
        [False] * 6,
        [False, False, False, False, False, True],
        [False, False, False, False, True, False],
    ]


def test_apart_pairs_never_merge_below_the_largest_distance():
    same = np.tile([[1.0, 0.0]], (3, 1))  # identical directions: everything merges at threshold 0
    texts = ["1945", "1944", "in 1945"]
    assert cluster_by_embedding(same, 0.5, texts).tolist() == [0, 0, 0]
    apart = np.array(must_differ(texts))
    assert cluster_by_embedding(same, 0.5, texts, apart).tolist() == [0, 1, 0]
    # Identical strings share a cluster whatever apart says.
    assert cluster_by_embedding(same[:2], 0.5, ["x", "x"], np.array([[False, True], [True, False]])).tolist() == [0, 0]
    table = threshold_sweep(same, texts, [0.0, 1.0], apart=apart)
    assert table["n_clusters"].tolist() == [2, 2]


def test_the_page_path_per_prompt_and_model():
    rows = [(0, "a", 0, False, "The capital of Australia is Sydney."),
            (0, "a", 1, False, "The capital of Australia is Canberra."),
            (0, "a", -1, True, "Canberra, of course."),
            (0, "b", 0, False, "World War II ended in 1945."),
            (0, "b", 1, False, "World War II ended in 1944.")]
    samples = pd.DataFrame(rows, columns=["prompt_id", "model", "sample_id", "is_reference", "text"])
    samples["mean_logprob"] = -1.0
    parts = answer_part_texts(samples, ["What is the capital of Australia?"])
    assert parts == ["sydney", "canberra", "Canberra, of course.", "1945", "1944"]
    # Embeddings that cannot tell the answers apart: only the must_differ pair is kept apart.
    flat = np.tile([[1.0, 0.0]], (5, 1))
    assert embedding_labels(samples, flat, 0.26, parts).tolist() == [0, 0, -1, 0, 1]
    assert embedding_labels(samples, flat, 0.26).tolist() == [0, 0, -1, 0, 0]
    assert sweep(samples, flat, [0.26], parts)["n_clusters"].tolist() == [1, 2]
