"""The part of each sampled answer that is its own (what is left after the words it shares with the prompt and the other answers), and which answers can never mean the same.

Sentence embeddings of whole answers are dominated by the words every answer
repeats from the question: "The capital of Australia is Sydney." and "The
capital of Australia is Canberra." are 0.87 cosine-similar under MiniLM
although they contradict each other, while "Paris" and "The capital is
Paris." are further apart than that. Embedding only what is each answer's own
("sydney" against "canberra"; "paris" against "paris") fixes both. This is
plain text processing for English answers to short questions; the caller
embeds the parts (backend/models/sentence_encoder.py).

`answer_parts` rules, for the answers of one prompt:
1. Words that occur in the prompt (case-insensitive, compared by a crude
   stem: "boils" matches "boiling") and function words (STOP_WORDS:
   articles, copulas, pronouns, prepositions) are dropped. Negations, yes/no
   and numbers are never function words; number words up to twenty and the
   tens are written as digits ("eight" -> "8").
2. Words other than numbers left in EVERY answer are dropped too ("world war
   ii ended in 1945/1944" -> "1945"/"1944"), unless that would leave some
   answer empty (then they are what the answers agree on, and are kept).
3. When every answer holds a number, only its numbers are kept ("100
   degrees" / "100 c" -> "100" / "100").
4. An answer left with nothing keeps its words minus function words only
   (it chose among the prompt's words: "An elephant." to "Which is bigger,
   an elephant or a mouse?"); if even that is empty, its whole text.
   This comes before rules 2 and 3.
5. A yes/no question (the prompt starts with an auxiliary: "Is", "Can",
   "Do", ...): an answer with "yes", "no" or a negation is that polarity
   alone ("Yes, botanically a tomato is a fruit." -> "yes"; "Penguins can't
   fly." -> "no"); a bare restatement of the question ("The Sun is a star.")
   is "yes"; any other answer keeps its own words ("The Earth is round." ->
   "round").
A blank answer stays "" (no direction: see analysis.diversity).

`must_differ` says which parts cannot share a meaning whatever their
embeddings: different numbers ("6" / "8", "1945" / "1944": MiniLM puts such
numbers within 0.2 cosine distance) and "yes" against "no".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Letters/digits runs, keeping inner apostrophes, points and commas ("can't", "3.14", "1,000", "CO2").
_WORD = re.compile(r"[^\W_]+(?:['’.,][^\W_]+)*")

STOP_WORDS = frozenset(
    """a an the is are was were be been being am it its it's this that these those there here
    of in on at to by for from with as into about than and or but so then also
    i you he she we they me him her us them my your his our their
    do does did has have had will would shall should may might must
    which what who whom whose when where why how
    because answer called known named one's just only very about approximately around roughly
    s""".split()
)
NEGATIONS = frozenset(
    """no not never none nobody nothing neither nor cannot can't don't doesn't didn't isn't aren't
    wasn't weren't won't wouldn't shouldn't couldn't hasn't haven't hadn't mustn't false incorrect""".split()
)
# Polar ("yes/no") questions start with an auxiliary verb.
_AUXILIARIES = frozenset(
    """is are was were am do does did can could will would shall should has have had may might must""".split()
)
_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
_NUMBER_WORDS.update({w: str(10 * v) for v, w in enumerate("thirty forty fifty sixty seventy eighty ninety".split(), start=3)})
_NUMBER_WORDS["hundred"] = "100"


def words(text: str) -> list[str]:
    """Lower-cased words of text, number words as digits, "’" as "'", thousands commas dropped."""
    out = []
    for word in _WORD.findall(str(text).lower().replace("’", "'")):
        if re.fullmatch(r"\d{1,3}(?:,\d{3})+", word):
            word = word.replace(",", "")
        out.append(_NUMBER_WORDS.get(word, word))
    return out


def _stem(word: str) -> str:
    """A crude stem, only to match an answer's words with the prompt's ("landed" / "landing")."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _is_number(word: str) -> bool:
    return any(c.isdigit() for c in word)


def is_polar_question(prompt: str) -> bool:
    """Whether the prompt is a yes/no question: its first word is an auxiliary verb."""
    first = words(prompt)[:1]
    return bool(first) and first[0] in _AUXILIARIES


def _polarity(answer_words: list[str]) -> str | None:
    """"no" when the answer holds a negation, "yes" when it says yes, else None."""
    if any(w in NEGATIONS for w in answer_words):
        return "no"
    return "yes" if "yes" in answer_words else None


def _prompt_stems(prompt: str) -> set[str]:
    return {_stem(w) for w in words(prompt)}


def _without(answer_words: list[str], prompt_stems: set[str]) -> list[str]:
    return [w for w in answer_words if w not in STOP_WORDS and _stem(w) not in prompt_stems]


def own_words(prompt: str, text: str) -> list[str]:
    """Rule 1 alone: text's `words` less function words and the words it repeats from prompt (by crude stem).

    "The capital of France is Paris." to "What is the capital of France?" -> ["paris"];
    an answer that only restates the question -> [].
    """
    return _without(words(text), _prompt_stems(prompt))


def answer_parts(prompt: str, answers: Sequence[str]) -> list[str]:
    """The part of each answer to embed for meaning clusters (the module's rules), one per answer."""
    prompt_stems = _prompt_stems(prompt)
    every = [words(a) for a in answers]
    blank = [not str(a).strip() for a in answers]
    own = [_without(ws, prompt_stems) for ws in every]
    # Rule 4 before rules 2 and 3: an answer made of the prompt's words keeps them, and what every answer
    # repeats of them ("bigger" in "The elephant is bigger." / "The mouse is bigger.") goes next.
    own = [ws or [w for w in all_ws if w not in STOP_WORDS] for ws, all_ws in zip(own, every)]

    present = [set(ws) for ws, b in zip(own, blank) if not b]
    if len(present) > 1:
        # Numbers, yes/no and negations are the answer itself, never shared noise.
        common = {w for w in set.intersection(*present)
                  if not _is_number(w) and w not in NEGATIONS and w != "yes"}
        stripped = [[w for w in ws if w not in common] for ws in own]
        if common and all(ws for ws, b in zip(stripped, blank) if not b):
            own = stripped

    # A question every answer meets with a number: the numbers are the answers ("100 degrees" and
    # "100 c" agree; the units and verbs around them only add distance).
    numbers = [[w for w in ws if _is_number(w)] for ws in own]
    if len(present) > 1 and all(ns for ns, b in zip(numbers, blank) if not b):
        own = numbers

    polar = is_polar_question(prompt)
    parts = []
    for answer, answer_words, ws, is_blank in zip(answers, every, own, blank):
        restates = not _without(answer_words, prompt_stems)
        if is_blank:
            parts.append("")
        elif polar and (_polarity(answer_words) or restates):
            parts.append(_polarity(answer_words) or "yes")
        else:
            parts.append(" ".join(ws) if ws else str(answer).strip())
    return parts


def must_differ(parts: Sequence[str]) -> "list[list[bool]]":
    """[n][n] True where two parts cannot share a meaning: both state numbers and not the same
    ones, or one is "yes" and the other "no" (the polarity `answer_parts` gives)."""
    numbers = [frozenset(w for w in words(p) if _is_number(w)) for p in parts]
    polarity = [p if p in ("yes", "no") else None for p in parts]
    n = len(parts)
    return [[bool(i != j and ((numbers[i] and numbers[j] and numbers[i] != numbers[j])
                              or (polarity[i] and polarity[j] and polarity[i] != polarity[j])))
             for j in range(n)] for i in range(n)]
