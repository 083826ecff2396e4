"""backend/behaviorbox/word_embeddings.py: one contextual vector per word, from the embedded all-MiniLM-L6-v2.

Checked against a direct computation through sentence-transformers' own
token embeddings, and for windowing invariance (a word far from a window's
edges gets the vector that window alone would give it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.words import split_words
from backend.behaviorbox import word_embeddings as W

SHORT = "Prices rose by $5.20 in 2024.\nThe naïve café said: ok!\n\n  def f(x):\n    return x"


def word_table(texts: list[str]) -> pd.DataFrame:
    frames = [split_words(t).assign(text_id=i) for i, t in enumerate(texts)]
    return pd.concat(frames, ignore_index=True)[["text_id", "word", "char_start", "char_end"]]


def direct(encoder, text: str, words: pd.DataFrame) -> np.ndarray:
    """Reference: sentence-transformers' token embeddings of the whole text, pooled per word by offsets."""
    model = encoder.model
    tokens = model.encode(text, output_value="token_embeddings", convert_to_numpy=True)
    tokens = np.asarray(tokens, dtype=np.float64)[1:-1]  # [CLS] ... [SEP]
    offsets = model.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    assert len(offsets) == len(tokens)
    out = []
    for start, end in zip(words["char_start"], words["char_end"]):
        own = [i for i, (a, b) in enumerate(offsets) if a < end and b > start]
        if not own:  # the pieces right before and right after the word
            after = [i for i, (a, _) in enumerate(offsets) if a >= end]
            before = [i for i, (_, b) in enumerate(offsets) if b <= start]
            own = ([before[-1]] if before else []) + ([after[0]] if after else [])
        v = tokens[own].mean(0)
        out.append(v / np.linalg.norm(v))
    return np.array(out)


def test_shape_units_and_words_without_pieces(encoder):
    texts = [SHORT, "One more text."]
    words = word_table(texts)
    calls = []
    got = W.word_embeddings(encoder, texts, words, progress=lambda *a: calls.append(a))
    assert got.vectors.shape == (len(words), 384) and got.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got.vectors, axis=1), 1.0, atol=1e-5)
    blank = words["word"].str.isspace().to_numpy()
    assert blank.any()
    assert (got.has_pieces == ~blank).all()  # BERT drops whitespace: only those words borrow neighbours
    assert calls[-1] == (2, 2) and got.n_windows == 2


def test_matches_a_direct_per_word_computation(encoder):
    words = word_table([SHORT])
    got = W.word_embeddings(encoder, [SHORT], words).vectors
    np.testing.assert_allclose(got, direct(encoder, SHORT, words), atol=1e-4)


def test_rows_follow_the_given_table_order_and_subset(encoder):
    texts = [SHORT, "Alice: How are you?\nBob: Fine."]
    words = word_table(texts)
    full = W.word_embeddings(encoder, texts, words).vectors
    pick = words.sample(frac=0.5, random_state=0)
    part = W.word_embeddings(encoder, texts, pick, batch_size=1).vectors
    np.testing.assert_allclose(part, full[pick.index.to_numpy()], atol=1e-5)


def test_windowing_invariance(encoder):
    # Single-piece words, so a window boundary never cuts a word into other pieces.
    rng = np.random.default_rng(0)
    vocab = "the cat sat on a mat and then it ran to house with red blue green dog bird".split()
    text = " ".join(rng.choice(vocab, size=120))
    words = word_table([text])
    size, stride = 40, 20  # 42 tokens per call with [CLS] and [SEP]
    got = W.word_embeddings(encoder, [text], words, max_tokens=size + 2, stride=stride)
    n_tokens = len(words)  # one piece per word here
    plan = W.plan_windows(n_tokens, size, stride)
    assert got.n_windows == len(plan) > 3
    # Windows start at 0, 20, 40, 60, 80. Word 50 has 10 pieces on its left and 29 on its right in
    # the window at 40, against 30 and 9 in the one at 20: it takes the window at 40 (so do 55 and 59).
    s, e = 40, 80
    window_text = text[words["char_start"][s] : words["char_end"][e - 1]]
    inner = word_table([window_text])
    alone = W.word_embeddings(encoder, [window_text], inner).vectors
    for i in (50, 55, 59):
        np.testing.assert_allclose(got.vectors[i], alone[i - s], atol=1e-4)
    # ...and the whole text in one call gives a different (more informed) vector: windows matter.
    whole = W.word_embeddings(encoder, [text], words, max_tokens=512).vectors
    assert np.abs(whole[50] - got.vectors[50]).max() > 1e-3


def test_pick_windows_prefers_the_most_context():
    plan = W.plan_windows(100, 40, 20)
    assert plan == [(0, 40), (20, 60), (40, 80), (60, 100)]
    p = np.array([0, 5, 35, 50, 99, 30])
    q = np.array([0, 5, 35, 50, 99, 45])
    w, a, b = W.pick_windows(p, q, plan, 100)
    # 0 and 5: the first window (their left side is complete); 35: centred in (20, 60);
    # 50: (40, 80) (10 left, 29 right) beats (20, 60) (30 left, 9 right); 99: the last window;
    # 30..45 (16 pieces): (20, 60) holds them all with most room.
    assert w.tolist() == [0, 0, 1, 2, 3, 1]
    assert a.tolist() == p.tolist() and b.tolist() == q.tolist()
    # A word longer than a window keeps the pieces of the window that holds most of it.
    w, a, b = W.pick_windows(np.array([10]), np.array([90]), plan, 100)
    assert b[0] - a[0] + 1 == 40


def test_bad_window_settings(encoder):
    words = word_table(["a b"])
    with pytest.raises(ValueError):
        W.word_embeddings(encoder, ["a b"], words, max_tokens=3)
    with pytest.raises(ValueError):
        W.word_embeddings(encoder, ["a b"], words, max_tokens=20, stride=100)
