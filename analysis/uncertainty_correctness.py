"""Is an answer correct? SQuAD-style matching of generated answers against gold answers, and reading the gold.

Gold answers come with the prompts: a CSV/JSONL column `answer`, or
"question<TAB>answer" lines typed in the prompt box (`split_gold`). A gold
answer may list alternatives separated by "|" ("Canberra | Canberra, ACT");
an answer is correct when it matches any of them. Correctness is 1.0 or 0.0,
NaN where a prompt has no gold answer (unknown is not wrong).

SQuAD's rule (Rajpurkar et al. 2016, the official evaluation script's
normalisation: lowercase, drop punctuation, drop the articles a / an / the,
collapse whitespace) calls an answer correct when the normalised strings are
equal or their token F1 is at least 0.5 (the threshold Farquhar et al. 2024
use for short answers). It was made for extracted spans: an instruct model
answers in sentences, and "The capital of France is Paris." scores F1 0.33
against "Paris". Rules (RULES):

- "squad" (default): SQuAD's test on the part of the answer that answers the
  question, or on the whole answer (correct if either passes, so a short
  answer never loses). The part is the answer's words less those it repeats
  from the question (compared by a crude stem, "legs" / "leg") and less
  function words: analysis.answer_text.own_words ("The capital of France is
  Paris." -> "paris"). For this part, number words up to twenty, the tens and
  "hundred" are written as digits on both sides ("It has eight legs." is
  right against "8"), and the gold loses its function words too. A wrong
  answer that repeats the question stays wrong ("The capital of Australia is
  Sydney." -> "sydney" against "Canberra"); an answer that only restates the
  question has an empty part and is judged by its whole text alone, which
  fails unless it is the gold. The question is the prompt as typed, not the
  template it is sent in. A gold made of the question's own words ("Which is
  bigger, an elephant or a mouse?" -> "elephant") is found in the whole
  answer only.
- "squad-plain": SQuAD's test on the whole answer, as published.
- "contains": the answer's normalised tokens contain the gold's as a
  contiguous run (any length of answer passes, so it is the most lenient).
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.answer_text import STOP_WORDS, own_words, words

F1_THRESHOLD = 0.5
RULES = {
    "squad": "exact match or token F1 ≥ 0.5, after removing the question's words (SQuAD normalisation)",
    "squad-plain": "exact match or token F1 ≥ 0.5 of the whole answer (SQuAD as published)",
    "contains": "the answer contains the gold answer (same normalisation)",
}
ALTERNATIVES = "|"

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lowercase, punctuation removed, articles removed, whitespace collapsed."""
    text = "".join(ch for ch in str(text).lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(answer: str, gold: str) -> bool:
    return normalize_answer(answer) == normalize_answer(gold)


def token_f1(answer: str, gold: str) -> float:
    """SQuAD token F1 of the normalised answers; two empty answers score 1, one empty 0."""
    pred, ref = normalize_answer(answer).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def contains_gold(answer: str, gold: str) -> bool:
    """The gold's normalised tokens appear, in order and contiguous, among the answer's (an empty gold never does)."""
    pred, ref = normalize_answer(answer).split(), normalize_answer(gold).split()
    if not ref:
        return False
    return any(pred[i : i + len(ref)] == ref for i in range(len(pred) - len(ref) + 1))


def gold_alternatives(gold) -> list[str]:
    """The accepted answers of one gold string ("a | b" -> ["a", "b"]); [] for none (NaN, None, blank)."""
    if gold is None or (isinstance(gold, float) and math.isnan(gold)):
        return []
    return [g.strip() for g in str(gold).split(ALTERNATIVES) if g.strip()]


def _squad_match(answer: str, gold: str) -> bool:
    return exact_match(answer, gold) or token_f1(answer, gold) >= F1_THRESHOLD


def answer_core(question: str, answer: str) -> str:
    """The part of the answer that answers the question: its words less the question's and function words ("" if none)."""
    return " ".join(own_words(question, answer))


def _gold_core(gold: str) -> str:
    """The gold's words (number words as digits) less function words, or all of them when that leaves none."""
    ws = words(gold)
    return " ".join([w for w in ws if w not in STOP_WORDS] or ws)


def is_correct(answer: str, gold, rule: str = "squad", question: str = "") -> float:
    """1.0 when the answer matches one of the gold alternatives under `rule`, 0.0 when none, NaN with no gold.

    question: the prompt the answer replies to; the "squad" rule removes its words from the answer.
    """
    if rule not in RULES:
        raise ValueError(f"unknown correctness rule {rule!r}; use one of {', '.join(RULES)}")
    alternatives = gold_alternatives(gold)
    if not alternatives:
        return math.nan
    if rule == "contains":
        hit = any(contains_gold(answer, g) for g in alternatives)
    else:
        hit = any(_squad_match(answer, g) for g in alternatives)
        if rule == "squad" and not hit:
            core = answer_core(question, answer)
            # An empty core (the answer only restates the question) must not match anything.
            hit = bool(normalize_answer(core)) and any(_squad_match(core, _gold_core(g)) for g in alternatives)
    return 1.0 if hit else 0.0


def split_gold(lines: Sequence[str]) -> tuple[list[str], list[str] | None]:
    """Typed prompts -> (questions, gold answers or None): "question<TAB>answer" per line.

    Blank lines are dropped. When no line holds a tab there are no gold answers (None);
    otherwise a line without one gets the empty gold (no correctness for that prompt).
    Only the first tab splits: the answer may contain more.
    """
    kept = [line for line in lines if line.strip()]
    if not any("\t" in line for line in kept):
        return [line.strip() for line in kept], None
    questions, answers = [], []
    for line in kept:
        question, _, answer = line.partition("\t")
        questions.append(question.strip())
        answers.append(answer.strip())
    return questions, answers


def correctness(samples: pd.DataFrame, gold: Mapping[int, str] | Sequence[str], rule: str = "squad",
                prompts: Mapping[int, str] | Sequence[str] | None = None) -> np.ndarray:
    """[n_rows] correctness of every answer row (samples and references) against its prompt's gold answer.

    gold: prompt_id -> gold answer (a list is indexed by prompt_id). prompts: prompt_id -> the
    question as typed (not the template it was sent in), for the "squad" rule; without it no
    question words are removed. Answers are compared stripped, as everywhere on the uncertainty page.
    """
    lookup = dict(enumerate(gold)) if not isinstance(gold, Mapping) else gold
    questions = {} if prompts is None else dict(enumerate(prompts)) if not isinstance(prompts, Mapping) else prompts
    return np.array([is_correct(str(text).strip(), lookup.get(int(pid)), rule, str(questions.get(int(pid), "")))
                     for pid, text in zip(samples["prompt_id"], samples["text"])], dtype=float)


def correctness_table(samples: pd.DataFrame, correct: np.ndarray) -> pd.DataFrame:
    """One row per (prompt_id, model): `correct` (of the reference answer) and `sample_accuracy` (share of the N samples).

    The reference answer (the low-temperature "best" answer) is the one whose error the
    estimators should flag, as in LM-Polygraph's evaluation of the greedy output. NaN where
    a prompt has no gold or no reference row.
    """
    frame = samples[["prompt_id", "model", "is_reference"]].assign(correct=np.asarray(correct, dtype=float))
    frame = frame.assign(model=frame["model"].astype(str))
    ref = frame[frame["is_reference"]].groupby(["prompt_id", "model"])["correct"].first()
    acc = frame[~frame["is_reference"]].groupby(["prompt_id", "model"])["correct"].mean()
    out = pd.concat({"correct": ref, "sample_accuracy": acc}, axis=1).reset_index()
    return out.astype({"prompt_id": "int64"})
