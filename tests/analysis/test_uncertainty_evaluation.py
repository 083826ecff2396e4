"""Correctness against gold answers, AUROC / PRR / rejection curves by hand, and the prompt-resampling intervals' coverage."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from analysis import uncertainty_correctness as corr
from analysis import uncertainty_evaluation as ev

ROOT = Path(__file__).resolve().parents[2]


# --- correctness -----------------------------------------------------------------------------------


def test_squad_normalisation_exact_match_and_f1():
    assert corr.normalize_answer("  The Eiffel-Tower!  ") == "eiffeltower"
    assert corr.normalize_answer("An apple, a day") == "apple day"
    assert corr.exact_match("Paris.", "paris")
    # [capital, is, canberra] vs [canberra]: precision 1/3, recall 1, F1 = 0.5.
    assert corr.token_f1("The capital is Canberra.", "Canberra") == pytest.approx(0.5)
    assert corr.token_f1("Canberra is the capital of Australia", "Canberra") == pytest.approx(1 / 3)
    assert corr.token_f1("", "") == 1.0 and corr.token_f1("x", "") == 0.0
    assert corr.token_f1("red red blue", "red blue green") == pytest.approx(2 / 3)  # common = 2 (multiset)


def test_is_correct_rules_and_alternatives():
    assert corr.is_correct("The capital is Canberra.", "Canberra") == 1.0  # F1 = 0.5 passes
    assert corr.is_correct("Canberra is the capital of Australia.", "Canberra", "squad-plain") == 0.0  # F1 1/3
    assert corr.is_correct("Canberra is the capital of Australia.", "Canberra", "contains") == 1.0
    assert corr.is_correct("Sydney", "Canberra", "contains") == 0.0
    assert corr.is_correct("Mary Shelley", "Shelley | Mary Wollstonecraft Shelley") == 1.0
    assert corr.is_correct("new york", "New York City", "contains") == 0.0  # the gold must be all there
    assert math.isnan(corr.is_correct("Paris", "")) and math.isnan(corr.is_correct("Paris", None))
    assert math.isnan(corr.is_correct("Paris", float("nan")))
    with pytest.raises(ValueError, match="unknown correctness rule"):
        corr.is_correct("a", "a", "fuzzy")


CAPITAL = "What is the capital of France?"
SPIDER = "How many legs does a spider have?"


def test_the_default_rule_scores_the_part_that_answers_the_question():
    """SQuAD's test on the answer less the question's words; SQuAD as published stays available."""
    right = [  # (question, answer, gold): right under the default, wrong under squad-plain (F1 < 0.5)
        (CAPITAL, "The capital of France is Paris.", "Paris"),
        ("What is the capital of Australia?", "Canberra is the capital city of Australia.", "Canberra"),
        (SPIDER, "It has 8 legs.", "8"),
        (SPIDER, "A spider has eight legs.", "8"),  # number words are digits on both sides
        (SPIDER, "Spiders have 8 legs.", "eight"),
        ("What is the largest ocean on Earth?", "The largest ocean on Earth is the Pacific Ocean.", "Pacific Ocean"),
        ("Who wrote the play Romeo and Juliet?", "Romeo and Juliet was written by William Shakespeare.",
         "William Shakespeare"),
        ("In what year did the Berlin Wall fall?", "The Berlin Wall fell in 1989.", "1989"),
        ("What is the chemical symbol for gold?", "The chemical symbol for gold is Au.", "Au | Aurum"),
    ]
    for question, answer, gold in right:
        assert corr.is_correct(answer, gold, "squad", question) == 1.0, (answer, gold)
        assert corr.is_correct(answer, gold, "squad-plain", question) == 0.0, (answer, gold)
    wrong = [  # wrong under every squad rule, whatever the question words add
        ("What is the capital of Australia?", "The capital of Australia is Sydney.", "Canberra"),
        ("What is the capital of Australia?", "The capital of Australia.", "Canberra"),  # only restates it
        (CAPITAL, "What is the capital of France?", "Paris"),
        (SPIDER, "A spider has six legs.", "8 | eight"),
        ("In what year did the Berlin Wall fall?", "The Berlin Wall fell in 1991.", "1989"),
        (CAPITAL, "Paris is the capital and largest city of France, known for its art and the Eiffel Tower.",
         "Paris"),  # too long: F1 < 0.5 even without the question's words ("contains" takes it)
    ]
    for question, answer, gold in wrong:
        assert corr.is_correct(answer, gold, "squad", question) == 0.0, (answer, gold)
        assert corr.is_correct(answer, gold, "squad-plain", question) == 0.0, (answer, gold)
    assert corr.is_correct(wrong[-1][1], "Paris", "contains") == 1.0
    # A short answer never loses: the whole answer is tried too, also when the gold is made of the
    # question's words (the part is then empty).
    assert corr.is_correct("Paris", "Paris", "squad", CAPITAL) == 1.0
    assert corr.is_correct("The elephant.", "elephant", "squad", "Which is bigger, an elephant or a mouse?") == 1.0
    assert math.isnan(corr.is_correct("Paris", "", "squad", CAPITAL))  # no gold: unknown, not wrong
    # The question is what gets removed, not the template the model saw.
    assert corr.answer_core(CAPITAL, "The capital of France is Paris.") == "paris"
    assert corr.answer_core(CAPITAL, "The capital of France.") == ""
    assert corr.answer_core("", "The answer is Paris.") == "paris"  # function words go even with no question


def test_correctness_takes_the_questions():
    samples = pd.DataFrame({
        "prompt_id": [0, 0, 1, 1],
        "model": pd.array(["a"] * 4, dtype="string"),
        "is_reference": [False, True, False, True],
        "text": [" The capital of France is Paris.", "Lyon is the capital of France.", "It has 8 legs.", "Eight."],
    })
    gold = ["Paris", "eight | 8"]
    assert list(corr.correctness(samples, gold, "squad", [CAPITAL, SPIDER])) == [1.0, 0.0, 1.0, 1.0]
    assert list(corr.correctness(samples, gold, "squad", {0: CAPITAL, 1: SPIDER})) == [1.0, 0.0, 1.0, 1.0]
    assert list(corr.correctness(samples, gold, "squad-plain", [CAPITAL, SPIDER])) == [0.0, 0.0, 0.0, 1.0]
    assert list(corr.correctness(samples, gold, "contains")) == [1.0, 0.0, 1.0, 1.0]
    assert set(corr.RULES) == {"squad", "squad-plain", "contains"} and list(corr.RULES)[0] == "squad"


def test_split_gold():
    assert corr.split_gold(["What is 2+2?", "", "Capital of France?"]) == (["What is 2+2?", "Capital of France?"], None)
    questions, answers = corr.split_gold(["What is 2+2?\t4", "No gold here", "Q\tA\tB "])
    assert questions == ["What is 2+2?", "No gold here", "Q"] and answers == ["4", "", "A\tB"]


def test_correctness_per_row_and_per_prompt():
    samples = pd.DataFrame({
        "prompt_id": [0, 0, 0, 1, 1, 1],
        "model": pd.array(["a"] * 6, dtype="string"),
        "is_reference": [False, False, True, False, False, True],
        "text": [" Paris", "Lyon", "Paris.", "4", "five", "5"],
    })
    correct = corr.correctness(samples, ["Paris", "4 | four"])
    assert list(correct) == [1.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    table = corr.correctness_table(samples, correct).set_index("prompt_id")
    assert table.loc[0, "correct"] == 1.0 and table.loc[0, "sample_accuracy"] == 0.5
    assert table.loc[1, "correct"] == 0.0 and table.loc[1, "sample_accuracy"] == 0.5
    no_gold = corr.correctness(samples, {0: "Paris"})
    assert np.isnan(no_gold[3:]).all()


def test_the_example_questions_file():
    frame = pd.read_csv(ROOT / "data" / "example_questions.csv", dtype=str, keep_default_na=False)
    assert list(frame.columns) == ["text", "answer"] and len(frame) >= 30
    assert frame["text"].str.strip().ne("").all() and frame["answer"].str.strip().ne("").all()
    assert frame["text"].is_unique and not frame["text"].str.contains("\t").any()
    for answer in frame["answer"]:  # every gold answer is correct against itself under both rules
        first = corr.gold_alternatives(answer)[0]
        assert all(corr.is_correct(first, answer, rule) == 1.0 for rule in corr.RULES)


# --- AUROC, PRR, curves ------------------------------------------------------------------------------


def brute_auroc(u, c):
    pairs = [(uw, ur) for uw, cw in zip(u, c) if cw == 0 for ur, cr in zip(u, c) if cr == 1]
    return sum(1.0 if uw > ur else 0.5 if uw == ur else 0.0 for uw, ur in pairs) / len(pairs)


def test_auroc_against_pair_counting_with_ties():
    rng = np.random.default_rng(0)
    u = rng.integers(0, 5, 40).astype(float)  # many ties
    c = (rng.random(40) < 0.5).astype(float)
    assert ev.auroc(u, c) == pytest.approx(brute_auroc(u, c))
    assert ev._auroc_rows(u[None, :], (c == 0)[None, :])[0] == pytest.approx(brute_auroc(u, c))
    assert ev.auroc([3, 2, 1, 0], [0, 0, 1, 1]) == 1.0 and ev.auroc([0, 1, 2, 3], [0, 0, 1, 1]) == 0.0
    assert math.isnan(ev.auroc([1, 2], [1, 1]))  # no wrong answer
    assert ev.auroc([np.nan, 1, 0], [1, 0, 1]) == 1.0  # NaN prompts left out


def test_prr_and_rejection_curve_by_hand():
    u, c = [0.1, 0.2, 0.3, 0.4], [1, 0, 1, 0]
    # Kept accuracies (most certain first): 1, 1/2, 2/3, 1/2 -> area 2/3; random 1/2; oracle 1, 1, 2/3, 1/2 -> 19/24.
    assert ev.prr(u, c) == pytest.approx((2 / 3 - 1 / 2) / (19 / 24 - 1 / 2))
    curve = ev.rejection_curve(u, c)
    assert list(curve["rejected"]) == [0, 0.25, 0.5, 0.75]
    np.testing.assert_allclose(curve["accuracy"], [0.5, 2 / 3, 0.5, 1.0])
    np.testing.assert_allclose(curve["oracle"], [0.5, 2 / 3, 1.0, 1.0])
    assert (curve["random"] == 0.5).all()
    assert ev.prr([0, 0, 1, 1], [1, 1, 0, 0]) == pytest.approx(1.0)  # the oracle
    assert ev.prr([5, 5, 5, 5], [1, 0, 1, 0]) == pytest.approx(0.0)  # one big tie: chance, whatever the order
    assert ev.prr([1, 1, 0, 0], [1, 1, 0, 0]) < 0  # worse than chance
    assert math.isnan(ev.prr([1, 2, 3], [1, 1, 1]))


def test_prr_does_not_depend_on_the_order_of_tied_prompts():
    c = np.array([1, 0, 1, 1, 0, 0, 1, 0], dtype=float)
    u = np.array([1, 1, 1, 2, 2, 3, 3, 3], dtype=float)
    values = {round(ev.prr(u[list(p)], c[list(p)]), 12) for p in itertools.islice(itertools.permutations(range(8)), 0, 5000, 97)}
    assert len(values) == 1


def test_evaluation_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(3)
    wrong = rng.random(50) < 0.4
    u = rng.normal(size=50) + wrong
    one = ev.evaluate(u, (~wrong).astype(float), n_boot=300, rng=7)
    assert one == ev.evaluate(u, (~wrong).astype(float), n_boot=300, rng=7)
    assert one["auroc_low"] <= one["auroc"] <= one["auroc_high"]
    assert one["prr_low"] <= one["prr"] <= one["prr_high"]
    assert one["n"] == 50 and one["n_wrong"] == int(wrong.sum())
    flat = ev.evaluate([1.0, 2.0], [1.0, 1.0])
    assert math.isnan(flat["auroc"]) and math.isnan(flat["auroc_low"])


def test_auroc_interval_covers_at_the_nominal_rate():
    """Simulated prompts with a known AUROC (u ~ N(δ·wrong, 1): AUROC = Φ(δ/√2)); 200 seeded experiments."""
    rng = np.random.default_rng(1)
    delta, n, reps = 1.0, 60, 200
    truth = norm.cdf(delta / math.sqrt(2))
    hits = 0
    for rep in range(reps):
        wrong = rng.random(n) < 0.4
        u = rng.normal(size=n) + delta * wrong
        result = ev.evaluate(u, (~wrong).astype(float), n_boot=500, rng=rep)
        hits += result["auroc_low"] <= truth <= result["auroc_high"]
    assert 0.90 <= hits / reps <= 0.99  # nominal 0.95; 200 runs leave about ±0.03 of sampling noise


def test_evaluation_table_best_and_accuracy():
    rows = []
    for model, flip in (("a", False), ("b", True)):
        for i in range(20):
            right = float(i % 2 == 0)
            good = (1 - right) + 0.01 * i  # ranks errors first for both models
            rows.append({"prompt_id": i, "model": model, "correct": right, "sample_accuracy": right / 2,
                         "good": good, "bad": -good if not flip else good / 2, "missing": np.nan})
    table = pd.DataFrame(rows)
    evaluation = ev.evaluation_table(table, ["good", "bad", "missing", "absent"], n_boot=200)
    assert len(evaluation) == 6  # "absent" is not a column: skipped
    good_a = evaluation[(evaluation["model"] == "a") & (evaluation["estimator"] == "good")].iloc[0]
    assert good_a["auroc"] == 1.0 and good_a["prr"] == pytest.approx(1.0) and good_a["n"] == 20
    assert evaluation[evaluation["estimator"] == "missing"]["n"].eq(0).all()
    assert ev.best_estimators(evaluation) == {"a": "good", "b": "good"}
    accuracy = ev.accuracy_table(table).set_index("model")
    assert accuracy.loc["a", "accuracy"] == 0.5 and accuracy.loc["b", "sample_accuracy"] == 0.25
