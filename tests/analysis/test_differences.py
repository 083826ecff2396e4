"""analysis/differences.py against hand-computed values and direct pandas."""

import re

import numpy as np
import pandas as pd
import pytest

from analysis import differences as D

WORD = re.compile(r"\w+|\n[ \t]*|[^\w\s]")  # words, newline runs, single marks


def table(texts, delta=None):
    """A word table over `texts` (logprobs arbitrary unless delta given)."""
    rows = []
    for t, text in enumerate(texts):
        for i, m in enumerate(WORD.finditer(text)):
            rows.append((t, i, m.group(), m.start(), m.end()))
    w = pd.DataFrame(rows, columns=["text_id", "word_index", "word", "char_start", "char_end"])
    w["logprob_a"] = -1.0
    w["logprob_b"] = -1.0 - (np.asarray(delta, float) if delta is not None else 0.0)
    w["delta"] = w["logprob_a"] - w["logprob_b"]
    return w


def test_word_contexts_are_verbatim_slices_clamped_at_text_edges():
    texts = ["a b c d e f g", "x y"]
    w = table(texts)
    ctx = D.word_contexts(w, texts, context_words=2)
    d = ctx.loc[3]  # "d"
    assert (d.left, d.word_text, d.right) == ("b c ", "d", " e f")
    a = ctx.loc[0]
    assert (a.left, a.word_text, a.right) == ("", "a", " b c")
    g = ctx.loc[6]
    assert (g.left, g.word_text, g.right) == ("e f ", "g", "")
    y = ctx.loc[8]  # second text: never crosses into the first
    assert (y.left, y.word_text, y.right) == ("x ", "y", "")
    for i, r in ctx.iterrows():
        text = texts[w.loc[i, "text_id"]]
        assert r.left + r.word_text + r.right in text


def test_word_contexts_keep_newlines_and_follow_reading_order_of_shuffled_rows():
    texts = ["one two\n    three four"]
    w = table(texts)
    shuffled = w.sample(frac=1.0, random_state=0)
    ctx = D.word_contexts(shuffled, texts, index=[3], context_words=1)
    assert ctx.loc[3].tolist() == ["\n    ", "three", " four"]


def test_leaderboard_orders_by_delta_skips_nan_and_breaks_ties_by_position():
    texts = ["p q r s t u"]
    w = table(texts, delta=[0.5, 3.0, np.nan, -2.0, 3.0, -1.0])
    top_a = D.leaderboard(w, texts, n=3, side="a", context_words=1)
    assert top_a["word"].tolist() == ["q", "t", "p"]  # q before t: same delta, earlier
    assert top_a.columns.tolist() == D.LEADERBOARD_COLUMNS
    assert top_a.loc[0, ["left", "word_text", "right"]].tolist() == ["p ", "q", " r"]
    top_b = D.leaderboard(w, texts, n=2, side="b")
    assert top_b["word"].tolist() == ["s", "u"]
    assert top_b["delta"].tolist() == [-2.0, -1.0]
    assert len(D.leaderboard(w, texts, n=100)) == 5  # NaN row never listed
    with pytest.raises(ValueError):
        D.leaderboard(w, texts, side="A")


@pytest.mark.parametrize(
    "fn, yes, no",
    [
        (D.is_punctuation, [",", ".", "?", "«", "—"], ["a", "a,", "$", "+", "", "\n"]),
        (D.is_number, ["3", "2024", "1,000", "3.14", "٣"], ["x2", "3rd", "", "."]),
        (D.is_capitalised, ["The", "NASA", "Émile"], ["the", "3", ",", ""]),
        (
            D.is_code_like,
            ["snake_case", "_private", "__init__", "camelCase", "getHTTP", "(", "==", "{}", "->"],
            ["hello", "Hello", "NASA", "$", ".", ",", "_", ""],
        ),
        (D.is_whitespace, ["\n", "\n    ", "\n\n", "\t"], ["", "a", " a"]),
    ],
)
def test_flag_predicates(fn, yes, no):
    assert all(fn(w) for w in yes), [w for w in yes if not fn(w)]
    assert not any(fn(w) for w in no), [w for w in no if fn(w)]


def test_frequency_bins_hand_computed():
    # counts per occurrence: a a a a -> 4, b b -> 2, c, d -> 1.
    # quantiles of [1,1,2,2,4,4,4,4] at 0,.2,.4,.6,.8,1 -> 1,1.4,2,4,4,4;
    # unique edges (first widened) 0.5,1.4,2,4: right-closed bins.
    w = table(["a b a c a b d a"])
    labels = D.group_labels(w, "word frequency")
    got = dict(zip(w["word"], labels.astype(str)))
    assert got == {"c": "f1: seen 1×", "d": "f1: seen 1×", "b": "f2: seen 2×", "a": "f3: seen 3–4×"}
    assert list(labels.cat.categories) == ["f1: seen 1×", "f2: seen 2×", "f3: seen 3–4×"]


def test_frequency_is_case_insensitive_and_one_word_type_never_splits():
    w = table(["The the THE dog"])
    labels = D.group_labels(w, "word frequency").astype(str)
    assert labels.iloc[0] == labels.iloc[1] == labels.iloc[2] != labels.iloc[3]


def test_position_bins_use_position_within_text():
    w = table([" ".join(["w"] * 12), "x y"])
    labels = D.group_labels(w, "position").astype(str).tolist()
    # Counted from 1, as the reader counts: the first word is "word 1".
    assert labels[:12] == ["p1: word 1"] + ["p2: word 2–10"] * 9 + ["p3: word 11–50"] * 2
    assert labels[12:] == ["p1: word 1", "p2: word 2–10"]
    every = list(D.group_labels(w, "position").cat.categories)
    assert every == ["p1: word 1", "p2: word 2–10", "p3: word 11–50", "p4: word 51–200", "p5: word 201–1000",
                     "p6: word 1001+"]


def test_top_words_ranked_by_count_then_alphabetically(monkeypatch):
    monkeypatch.setattr(D, "TOP_WORDS", 2)
    w = table(["b a b c a b\n"])  # b×3, a×2, c×1, \n×1
    labels = D.group_labels(w, "frequent words")
    assert list(labels.cat.categories) == ['#1 "b"', '#2 "a"']
    assert labels.isna().tolist() == [False, False, False, True, False, False, True]


def test_registering_a_group_is_one_decorated_function():
    try:

        @D.flag_group("starts with q", "test group")
        def starts_q(word):
            return word.startswith("q")

        w = table(["q1 a q2 b"], delta=[1.0, 0.0, 3.0, 0.0])
        agg = D.group_aggregates(w, groups=["starts with q"], n_boot=50)
        assert agg[["group", "n", "mean_delta", "median_delta", "a_win_share"]].values.tolist() == [
            ["starts with q", 2, 2.0, 2.0, 1.0]
        ]
    finally:
        D.GROUPS.pop("starts with q", None)


def corpus(n_texts=30, seed=0):
    rng = np.random.default_rng(seed)
    vocab = "the a of The Paris , . ; 42 2024 my_var getValue ( ) = \n \n    data".split(" ")
    vocab = [v if v else " " for v in vocab] + ["\n", "\n    "]
    texts = []
    for _ in range(n_texts):
        words = rng.choice(vocab, size=rng.integers(5, 80))
        texts.append(" ".join(words))
    w = table(texts)
    d = rng.normal(0, 1, size=len(w)) + np.where(w["word"].str.isdigit(), 1.5, 0.0)
    d[rng.random(len(w)) < 0.05] = np.nan
    w["delta"] = d
    return w


def test_group_aggregates_match_a_direct_pandas_groupby():
    w = corpus()
    w[D.DOMAIN_COLUMN] = np.where(w["text_id"] % 2 == 0, "even", "odd")  # a text's metadata label
    agg = D.group_aggregates(w, n_boot=200, seed=0)
    assert agg.columns.tolist() == D.AGGREGATE_COLUMNS
    assert set(agg["family"]) == set(D.GROUPS)
    for fam in D.GROUPS:
        labels = D.group_labels(w, fam).astype(object)
        df = pd.DataFrame({"g": labels, "delta": w["delta"]}).dropna(subset=["g"])
        ref = df.groupby("g")["delta"].agg(
            n="count",
            n_nan=lambda s: s.isna().sum(),
            mean_delta="mean",
            median_delta="median",
            a_win_share=lambda s: (s.dropna() > 0).mean(),
        )
        got = agg[agg["family"] == fam].set_index("group")[ref.columns]
        pd.testing.assert_frame_equal(
            got.sort_index(), ref.sort_index(), check_names=False, check_dtype=False
        )


def test_group_aggregates_flags_digits_as_significant_and_is_deterministic():
    w = corpus()
    agg = D.group_aggregates(w, n_boot=300, seed=0)
    nums = agg[agg["family"] == "numbers"].iloc[0]
    assert nums["significant"] and nums["ci_low"] > 0
    assert nums["ci_low"] <= nums["mean_delta"] <= nums["ci_high"]
    pd.testing.assert_frame_equal(agg, D.group_aggregates(w, n_boot=300, seed=0))
    # A group's CI does not depend on which other groups were asked for.
    alone = D.group_aggregates(w, groups=["numbers"], n_boot=300, seed=0)
    assert alone.iloc[0]["ci_low"] == nums["ci_low"]
    # The flag is the BH-adjusted one: never set where the unadjusted interval covers 0.
    assert not (agg["significant"] & (agg["ci_low"] <= 0) & (agg["ci_high"] >= 0)).any()
    assert (agg["significant"] == (agg["q_value"] < 0.05)).all()


def test_bins_are_listed_in_natural_order():
    w = corpus()
    agg = D.group_aggregates(w, groups=["frequent words", "position"], n_boot=20)
    top = agg[agg["family"] == "frequent words"]["group"].tolist()
    assert [int(g.split()[0][1:]) for g in top] == sorted(int(g.split()[0][1:]) for g in top)
    pos = agg[agg["family"] == "position"]["group"].tolist()
    assert pos == sorted(pos, key=lambda g: int(g[1]))


def test_nan_deltas_are_dropped_and_counted():
    w = table(["a b c"], delta=[1.0, np.nan, -1.0])
    row = D.group_aggregates(w, groups=["all words"], n_boot=50).iloc[0]
    assert (row["n"], row["n_nan"], row["mean_delta"], row["a_win_share"]) == (2, 1, 0.0, 0.5)


def test_small_groups_get_their_mean_but_no_interval_and_no_flag():
    """A bootstrap on 2 words is just their range: never an interval, never 'significant', below MIN_CI_WORDS."""
    small = D.MIN_CI_WORDS - 1
    # Two numbers that both favour A by a lot, among neutral words: the old CI [5, 6] excluded 0.
    w = table(["5 a", "6 " + "a " * 30], delta=[5.0, 0.0, 6.0] + [0.0] * 30)
    row = D.group_aggregates(w, groups=["numbers"], n_boot=200).iloc[0]
    assert (row["n"], row["mean_delta"]) == (2, 5.5)
    assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"]) and not row["significant"]
    assert row["ci_note"] == D.NOTE_FEW_WORDS
    # One word short of the minimum: still no interval; at the minimum it is computed and flagged.
    for n, expect in ((small, False), (D.MIN_CI_WORDS, True)):
        texts = [f"{i} a a" for i in range(n)]
        deltas = [d for v in np.linspace(4.0, 6.0, n) for d in (v, 0.0, 0.0)]
        w = table(texts, delta=deltas)
        row = D.group_aggregates(w, groups=["numbers"], n_boot=200).iloc[0]
        assert row["n"] == n and row["significant"] == expect
        assert np.isfinite(row["ci_low"]) == expect
    assert np.isnan(D.group_aggregates(w, groups=["numbers"], n_boot=200, min_words=n + 1).iloc[0]["ci_low"])


def test_a_group_in_one_text_says_so_instead_of_a_word_level_interval():
    w = table([" ".join(str(i) for i in range(20)) + " a a"], delta=[3.0] * 20 + [0.0, 0.0])
    row = D.group_aggregates(w, groups=["numbers"], n_boot=100).iloc[0]
    assert row["n"] == 20 and row["n_texts"] == 1 and row["ci_note"] == D.NOTE_ONE_TEXT
    assert np.isnan(row["ci_low"]) and not row["significant"]
