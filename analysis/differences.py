"""Quick, transparent difference views over the word table: contexts, leaderboards, word groups.

Input everywhere is the word table of `analysis.schema.WORD_COLUMNS`: one row
per word per text, `delta = logprob_a - logprob_b` in nats (positive: model A
predicted the word better). Texts come as a list[str] indexed by `text_id`.

- `word_contexts`: the ±N-word context of chosen rows as (left, word, right)
  plain strings cut from the original text, so left + word + right is a
  verbatim slice and the page can highlight the middle part.
- `leaderboard`: the words where A beats B most (side="a") or B beats A most.
- `GROUPS`: one declarative registry of word groups. A group family is one
  decorated function `words -> labels` (a label per row, NA = not in it).
- `group_aggregates`: n, mean/median Δ, A's win share, an interval that resamples texts,
  and a significance flag with the false discovery rate controlled across groups.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from analysis import resampling as R

# --- contexts and leaderboards -----------------------------------------------


def _sorted_words(words: pd.DataFrame) -> pd.DataFrame:
    """Rows in reading order, with `pos_in_text` = 0-based position within the text.

    word_index may have gaps (filtered tables), so positions are recomputed
    rather than trusted as array offsets.
    """
    w = words.sort_values(["text_id", "word_index"], kind="stable")
    return w.assign(pos_in_text=w.groupby("text_id", sort=False).cumcount().to_numpy())


def word_contexts(
    words: pd.DataFrame, texts: list[str], index=None, context_words: int = 10
) -> pd.DataFrame:
    """Context strings for the rows `index` (labels of `words`; default all).

    Returns a DataFrame indexed like the chosen rows with columns
    left, word_text, right: plain text (no HTML) sliced from `texts`, where
    left starts at the word `context_words` words earlier (or the text's first
    word) and right ends at the word `context_words` words later (or the last).
    Whitespace between words is kept as in the text, so newlines survive and
    left + word_text + right is a verbatim slice of the text.
    """
    w = _sorted_words(words)
    chosen = w if index is None else w.loc[index]
    # Rows of w are in reading order, so the word k places after row r of the
    # same text is row r + k; clamp at the text's first and last rows.
    tid = w["text_id"].to_numpy()
    row_of = pd.Series(np.arange(len(w)), index=w.index)
    first = pd.Series(np.arange(len(w))).groupby(tid).transform("min").to_numpy()
    last = pd.Series(np.arange(len(w))).groupby(tid).transform("max").to_numpy()
    r = row_of.loc[chosen.index].to_numpy()
    lo = np.maximum(r - context_words, first[r])
    hi = np.minimum(r + context_words, last[r])
    starts = w["char_start"].to_numpy()
    ends = w["char_end"].to_numpy()
    left, mid, right = [], [], []
    for i, a, b in zip(r, lo, hi):
        text = texts[tid[i]]
        left.append(text[starts[a] : starts[i]])
        mid.append(text[starts[i] : ends[i]])
        right.append(text[ends[i] : ends[b]])
    return pd.DataFrame(
        {"left": left, "word_text": mid, "right": right}, index=chosen.index
    )


LEADERBOARD_COLUMNS = [
    "text_id", "word_index", "word", "char_start", "char_end",
    "logprob_a", "logprob_b", "delta", "left", "word_text", "right",
]  # fmt: skip


def leaderboard(
    words: pd.DataFrame,
    texts: list[str],
    n: int = 20,
    side: str = "a",
    context_words: int = 10,
) -> pd.DataFrame:
    """The n words where A beats B most (side="a": largest delta, nats) or
    B beats A most (side="b": most negative delta), best first.

    NaN deltas are skipped. Ties break by (text_id, word_index) so the table
    is deterministic. Columns: LEADERBOARD_COLUMNS (left/word_text/right are
    plain text; see `word_contexts`).
    """
    if side not in ("a", "b"):
        raise ValueError(f"side must be 'a' or 'b', got {side!r}")
    w = words[words["delta"].notna()]
    key = -w["delta"] if side == "a" else w["delta"]
    order = (
        w.assign(_key=key.to_numpy())
        .sort_values(["_key", "text_id", "word_index"], kind="stable")
        .head(n)
    )
    ctx = word_contexts(words, texts, order.index, context_words)
    out = order.join(ctx)
    return out[LEADERBOARD_COLUMNS].reset_index(drop=True)


# --- group registry ----------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A family of word groups: `assign(words)` gives each row a label (str)
    or NA when the row is in none of the family's groups. An ordered
    categorical result fixes the display order (bins); otherwise labels sort
    alphabetically."""

    name: str
    description: str
    assign: Callable[[pd.DataFrame], pd.Series]
    kind: str = "bins"  # "flag": a yes/no word type (one group); "bins": many


GROUPS: dict[str, Group] = {}


def group(name: str, description: str):
    """Register a label assigner `words -> Series[label | NA]` as a family."""

    def deco(fn):
        GROUPS[name] = Group(name, description, fn)
        return fn

    return deco


def flag_group(name: str, description: str):
    """Register a predicate `word: str -> bool`; matching rows get label
    `name`, the rest NA. The one-line way to add a yes/no group."""

    def deco(pred: Callable[[str], bool]):
        def assign(words: pd.DataFrame) -> pd.Series:
            hit = words["word"].astype(str).map(pred).astype(bool)
            return pd.Series(np.where(hit, name, None), index=words.index, dtype=object)

        GROUPS[name] = Group(name, description, assign, kind="flag")
        return pred

    return deco


def _ordered(values, labels: list[str], index) -> pd.Series:
    """Labels as an ordered categorical, so bins display in natural order."""
    cat = pd.Categorical(values, categories=list(dict.fromkeys(labels)), ordered=True)
    return pd.Series(cat, index=index)


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


@flag_group("all words", "every word; the baseline to compare groups against")
def _all(word: str) -> bool:
    return True


@flag_group("punctuation", "words made only of punctuation marks (Unicode P*)")
def is_punctuation(word: str) -> bool:
    return bool(word) and all(_is_punct(c) for c in word)


_NUMBER = re.compile(r"^\d+(?:[.,]\d+)*$")


@flag_group("numbers", "numbers and digit strings (2024, 3, 1,000)")
def is_number(word: str) -> bool:
    return bool(_NUMBER.match(word))


@flag_group("capitalised", "words starting with an uppercase letter")
def is_capitalised(word: str) -> bool:
    return bool(word) and word[0].isupper()


_SNAKE = re.compile(r"^_*[A-Za-z0-9]+(?:_+[A-Za-z0-9]*)+$|^_+[A-Za-z0-9]+$")
_CAMEL = re.compile(r"^[A-Za-z]*[a-z][A-Z][A-Za-z0-9]*$")
# Brackets and operators; "." "," ";" ":" stay out because prose uses them.
# "$" stays out too: in prose it is a currency sign.
_CODE_CHARS = set("()[]{}<>=+-*/%&|^~\\@#`")


@flag_group(
    "code-like",
    "identifiers with _ or camelCase, and brackets/operators ( ) [ ] { } = + - * / < > …",
)
def is_code_like(word: str) -> bool:
    if not word:
        return False
    if _SNAKE.match(word) or _CAMEL.match(word):
        return True
    return all(c in _CODE_CHARS for c in word)


@flag_group("whitespace", "newline runs and other whitespace-only words")
def is_whitespace(word: str) -> bool:
    return bool(word) and word.isspace()


N_FREQUENCY_BINS = 5  # quantile bins over word occurrences; fewer when ties merge edges


@group("word frequency", "corpus frequency of the (lowercased) word, in quantile bins")
def frequency_bins(words: pd.DataFrame) -> pd.Series:
    key = words["word"].astype(str).str.lower()
    freq = key.map(key.value_counts()).astype(float)
    # Quantiles over word occurrences: every bin holds ~1/5 of the running
    # text. Ties (every "the" has one count) can merge edges: fewer bins.
    edges = np.unique(np.quantile(freq, np.linspace(0, 1, N_FREQUENCY_BINS + 1)))
    if len(edges) < 2:
        edges = np.array([freq.min() - 0.5, freq.max()])
    edges[0] -= 0.5  # include the minimum in the first bin
    codes = np.searchsorted(edges, freq.to_numpy(), side="left") - 1
    codes = np.clip(codes, 0, len(edges) - 2)
    labels = []
    for i in range(len(edges) - 1):
        lo, hi = int(np.floor(edges[i])) + 1, int(np.floor(edges[i + 1]))
        labels.append(f"f{i + 1}: seen {lo}×" if lo == hi else f"f{i + 1}: seen {lo}–{hi}×")
    return _ordered(np.asarray(labels, dtype=object)[codes], labels, words.index)


# Absolute position in the text: the first words have almost no context, and
# long-range behaviour is what differs between models. Edges in words.
POSITION_EDGES = (0, 1, 10, 50, 200, 1000)


@group("position", "position of the word in its text (word 1 = the first word)")
def position_bins(words: pd.DataFrame) -> pd.Series:
    pos = _sorted_words(words)["pos_in_text"].reindex(words.index).to_numpy()
    edges = list(POSITION_EDGES)
    codes = np.searchsorted(edges, pos, side="right") - 1
    labels = []
    for i, start in enumerate(edges):
        # Edges are 0-based positions; the label counts words from 1, as everything a reader sees does.
        lo = start + 1
        hi = edges[i + 1] if i + 1 < len(edges) else None
        name = f"{lo}" if hi == lo else (f"{lo}–{hi}" if hi is not None else f"{lo}+")
        labels.append(f"p{i + 1}: word {name}")
    return _ordered(np.asarray(labels, dtype=object)[codes], labels, words.index)


TOP_WORDS = 20  # how many of the most frequent words get their own group


def visible(word: str) -> str:
    """Label-safe spelling: newlines/tabs as escapes, so whitespace shows."""
    return word.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


@group("frequent words", f"each of the {TOP_WORDS} most frequent words on its own")
def top_words(words: pd.DataFrame) -> pd.Series:
    w = words["word"].astype(str)
    counts = w.value_counts()
    # Ties at the cut break alphabetically so the set is deterministic.
    top = counts.reset_index().sort_values(["count", "word"], ascending=[False, True])
    keep = top["word"].head(TOP_WORDS).tolist()
    rank = {word: i for i, word in enumerate(keep)}
    names = [f'#{i + 1} "{visible(x)}"' for i, x in enumerate(keep)]
    labels = [names[rank[x]] if x in rank else None for x in w]
    return _ordered(labels, names, words.index)


DOMAIN_COLUMN = "domain"  # a text's metadata label, joined onto its words by the caller (the run's text_meta)


@group("domain", "the domain (or another metadata column) of the word's text, when the run has one")
def domain_labels(words: pd.DataFrame) -> pd.Series:
    if DOMAIN_COLUMN not in words.columns:
        return pd.Series(None, index=words.index, dtype=object)
    labels = words[DOMAIN_COLUMN].astype(object)
    return labels.where(labels.notna(), None).map(lambda v: v if v is None else str(v))


def group_labels(words: pd.DataFrame, name: str) -> pd.Series:
    """Labels of family `name` for every row (NA: not in any of its groups)."""
    return GROUPS[name].assign(words)


# --- aggregates --------------------------------------------------------------

# Intervals resample texts, not words (analysis/resampling.py): words of one text are correlated.
# A group also needs enough words for its mean to be worth an interval: on 2 words even a text
# bootstrap only reproduces their spread. Smaller groups get their mean and median, no interval.
MIN_CI_WORDS = 10
NOTE_FEW_WORDS = f"under {MIN_CI_WORDS} words"
NOTE_ONE_TEXT = "one text: no interval across texts"

AGGREGATE_COLUMNS = [
    "family", "group", "n", "n_nan", "n_texts", "mean_delta", "median_delta",
    "a_win_share", "ci_low", "ci_high", "p_value", "q_value", "significant", "ci_note",
]  # fmt: skip


def _group_seed(seed: int, family: str, label: str) -> np.random.Generator:
    # Seed per (family, group), independent of iteration order, so adding a
    # group never changes another group's CI.
    return np.random.default_rng([seed, zlib.crc32(f"{family}\x00{label}".encode())])


def group_aggregates(
    words: pd.DataFrame,
    groups: Iterable[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    min_words: int = MIN_CI_WORDS,
) -> pd.DataFrame:
    """Δ (nats) per group, one row per (family, group), AGGREGATE_COLUMNS.

    n: words with a finite delta; n_nan: rows of the group dropped for NaN delta; n_texts: texts
    holding the n words; mean_delta (word-weighted) / median_delta in nats; a_win_share: share
    of the n words with delta > 0 (ties count as not won); ci_low/ci_high: the cluster-bootstrap
    interval (`level`) of the mean, resampling texts, seeded per group; p_value: two-sided, from
    the same resampling; q_value: Benjamini–Hochberg over every group of the table that has a
    p-value (the false discovery rate when all of them are read at once); significant: q_value
    < 1 − level. No interval (NaN, and ci_note says why) under `min_words` words or in one text.
    Groups are listed in registry order, bins in natural order.
    """
    names = list(GROUPS) if groups is None else list(groups)
    delta = words["delta"].to_numpy(dtype=float)
    text_ids = words["text_id"].to_numpy()
    out = []
    for fam in names:
        lab = GROUPS[fam].assign(words)
        if isinstance(lab.dtype, pd.CategoricalDtype):
            order = list(lab.cat.categories)
        else:
            order = sorted(set(lab.dropna()))
        rows_of = pd.Series(np.arange(len(lab))).groupby(
            lab.to_numpy(dtype=object), dropna=True
        ).indices
        for label in order:
            if label not in rows_of:
                continue  # an empty bin: nothing to report
            rows = rows_of[label]
            vals = delta[rows]
            finite = ~np.isnan(vals)
            ok = vals[finite]
            n = len(ok)
            n_texts = len(np.unique(text_ids[rows][finite]))
            lo = hi = p = np.nan
            note = ""
            if n < min_words:
                note = NOTE_FEW_WORDS if min_words == MIN_CI_WORDS else f"under {min_words} words"
            elif n_texts < 2:
                note = NOTE_ONE_TEXT
            else:
                m = R.cluster_mean(ok, text_ids[rows][finite], n_boot, _group_seed(seed, fam, label), level)
                lo, hi, p = m.ci_low, m.ci_high, m.p_value
            out.append(
                {
                    "family": fam,
                    "group": label,
                    "n": n,
                    "n_nan": len(vals) - n,
                    "n_texts": n_texts,
                    "mean_delta": ok.mean() if n else np.nan,
                    "median_delta": np.median(ok) if n else np.nan,
                    "a_win_share": (ok > 0).mean() if n else np.nan,
                    "ci_low": lo,
                    "ci_high": hi,
                    "p_value": p,
                    "ci_note": note,
                }
            )
    res = pd.DataFrame(out, columns=[c for c in AGGREGATE_COLUMNS if c not in ("q_value", "significant")])
    res["q_value"] = R.benjamini_hochberg(res["p_value"].to_numpy(dtype=float))
    res["significant"] = (res["q_value"] < 1.0 - level).to_numpy()
    res = res[AGGREGATE_COLUMNS]
    return res.astype({"n": "int64", "n_nan": "int64", "n_texts": "int64", "significant": bool})
