"""summarize and align_words, rewritten to be linear in the number of texts, give exactly what the
per-text implementations they replaced gave (kept here as the reference), on random tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.summary import summarize
from analysis.words import align_words, split_words, token_word_shares
from analysis.schema import WORD_COLUMNS


# --- the reference: the per-text implementations, as they were --------------------------------

def ref_bits_per_byte(texts, tokens):
    scored = tokens[tokens["logprob"].notna()]
    out = {}
    for text_id, group in scored.groupby("text_id"):
        text = texts[int(text_id)]
        n_bytes = sum(len(text[s:e].encode("utf-8")) for s, e in zip(group["char_start"], group["char_end"]))
        out[int(text_id)] = -group["logprob"].sum() / math.log(2) / n_bytes if n_bytes else np.nan
    return pd.Series(out, name="bits_per_byte", dtype="float64")


def ref_summarize(texts, tokens, words):
    rows = []
    for model, table in tokens.groupby("model", sort=True):
        bpb = ref_bits_per_byte(texts, table)
        scored = table[table["logprob"].notna()]
        for text_id in range(len(texts)):
            part = scored[scored["text_id"] == text_id]
            surprisal = -part["logprob"]
            text_words = words[words["text_id"] == text_id]
            delta = text_words["delta"] if model == "a" else -text_words["delta"]
            rows.append({
                "text_id": text_id, "model": model,
                "n_tokens": int((table["text_id"] == text_id).sum()),
                "mean_surprisal": surprisal.mean() if len(part) else np.nan,
                "perplexity": float(np.exp(surprisal.mean())) if len(part) else np.nan,
                "bits_per_byte": bpb.get(text_id, np.nan),
                "mean_entropy": part["entropy"].mean() if len(part) else np.nan,
                "top1_share": (part["rank"] == 1).mean() if len(part) else np.nan,
                "words_won": int((delta > 0).sum()),
                "n_words": int(delta.notna().sum()),
            })
    return pd.DataFrame(rows)


def ref_word_end_term(words, tokens, token_index, word_index):
    n_words = len(words)
    after = np.zeros(n_words)
    if "next_word_start_logprob" not in tokens or n_words == 0 or len(token_index) == 0:
        return after
    last_token = np.full(n_words, -1)
    np.maximum.at(last_token, word_index, token_index)
    words_per_token = np.bincount(token_index, minlength=len(tokens))
    token_end = tokens["char_end"].to_numpy()
    ends_in_letter = words["word"].str.contains(r"\w$", na=False).to_numpy()
    has = last_token >= 0
    aligned = np.zeros(n_words, dtype=bool)
    aligned[has] = (words_per_token[last_token[has]] == 1) & (token_end[last_token[has]] == words["span_end"].to_numpy()[has])
    measured = aligned & ends_in_letter
    mass = tokens["next_word_start_logprob"].to_numpy(dtype=float)
    after[measured] = mass[last_token[measured]]
    return np.nan_to_num(after, nan=0.0)


def ref_token_word_shares(token_starts, token_ends, span_starts, span_ends):
    if len(span_starts) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    first = np.searchsorted(span_ends, token_starts, side="right")
    last = np.searchsorted(span_starts, np.maximum(token_ends - 1, token_starts), side="right") - 1
    first = np.clip(first, 0, len(span_starts) - 1)
    last = np.clip(last, first, len(span_starts) - 1)
    count = last - first + 1
    token_index = np.repeat(np.arange(len(token_starts)), count)
    word_index = np.concatenate([np.arange(f, l + 1) for f, l in zip(first, last)]) if len(first) else np.zeros(0, np.int64)
    share = np.repeat(1.0 / count, count)
    return token_index, word_index.astype(np.int64), share


def ref_words_for_model(words, tokens):
    token_index, word_index, share = ref_token_word_shares(
        tokens["char_start"].to_numpy(), tokens["char_end"].to_numpy(),
        words["span_start"].to_numpy(), words["span_end"].to_numpy())
    n_words = len(words)
    logprob = np.zeros(n_words)
    token_logprob = tokens["logprob"].to_numpy(dtype=float)[token_index]
    np.add.at(logprob, word_index, token_logprob * share)
    n_tokens = np.bincount(word_index, minlength=n_words)
    logprob[n_tokens == 0] = np.nan
    entropy = np.full(n_words, np.nan)
    first_token = np.full(n_words, -1)
    unique_words, first_pos = np.unique(word_index, return_index=True)
    first_token[unique_words] = token_index[first_pos]
    has = first_token >= 0
    entropy[has] = tokens["entropy"].to_numpy(dtype=float)[first_token[has]]
    after = ref_word_end_term(words, tokens, token_index, word_index)
    corrected = logprob + (after - np.concatenate([[0.0], after[:-1]]))
    return pd.DataFrame({"logprob": corrected, "logprob_prefix": logprob, "entropy": entropy,
                         "n_tokens": n_tokens.astype(np.int64)})


def ref_align_words(texts, tokens_a, tokens_b):
    frames = []
    groups_a = dict(tuple(tokens_a.groupby("text_id", sort=False)))
    groups_b = dict(tuple(tokens_b.groupby("text_id", sort=False)))
    empty = tokens_a.iloc[0:0]
    for text_id, text in enumerate(texts):
        words = split_words(text)
        a = ref_words_for_model(words, groups_a.get(text_id, empty).sort_values("position"))
        b = ref_words_for_model(words, groups_b.get(text_id, empty).sort_values("position"))
        frames.append(pd.DataFrame({
            "text_id": text_id, "word_index": np.arange(len(words), dtype=np.int64), "word": words["word"],
            "char_start": words["char_start"], "char_end": words["char_end"],
            "logprob_a": a["logprob"], "logprob_b": b["logprob"],
            "logprob_prefix_a": a["logprob_prefix"], "logprob_prefix_b": b["logprob_prefix"],
            "entropy_a": a["entropy"], "entropy_b": b["entropy"],
            "n_tokens_a": a["n_tokens"], "n_tokens_b": b["n_tokens"], "delta": a["logprob"] - b["logprob"],
        }))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in WORD_COLUMNS.items()})
    return pd.concat(frames, ignore_index=True).astype(WORD_COLUMNS)


# --- random tables ----------------------------------------------------------------------------

PIECES = ["the", " cat", " sat", ",", " on", "\n", "\n  ", " ü", "ber", "!", "  ", "é", "日本", "😀", " x_1", "=", "2", "\t", "(", "))"]


def random_texts(rng, n):
    texts = []
    for _ in range(n):
        kind = rng.integers(0, 10)
        if kind == 0:
            texts.append("")
        elif kind == 1:
            texts.append("   ")  # no words at all
        else:
            texts.append("".join(rng.choice(PIECES, size=rng.integers(1, 15))))
    return texts


def random_tokens(rng, texts, model_step, with_correction=True):
    rows = []
    for text_id, text in enumerate(texts):
        if rng.random() < 0.1:
            continue  # this model has no tokens for the text
        cuts = sorted(set(rng.integers(0, len(text) + 1, size=max(1, len(text) // model_step)).tolist()) | {0, len(text)})
        spans = list(zip(cuts[:-1], cuts[1:]))
        if rng.random() < 0.3 and len(text):
            at = int(rng.integers(0, len(text)))
            spans.insert(int(rng.integers(0, len(spans) + 1)), (at, at))  # an empty span (part of a character)
        spans.sort()
        for position, (s, e) in enumerate(spans):
            rows.append({"text_id": text_id, "position": position, "char_start": s, "char_end": e,
                         "logprob": np.nan if position == 0 or rng.random() < 0.05 else -rng.exponential(3),
                         "entropy": np.nan if rng.random() < 0.05 else rng.uniform(0, 5),
                         "rank": np.nan if position == 0 else float(rng.integers(1, 4)),
                         "next_word_start_logprob": np.nan if rng.random() < 0.1 else -rng.exponential(0.5)})
    table = pd.DataFrame(rows, columns=["text_id", "position", "char_start", "char_end", "logprob", "entropy", "rank",
                                        "next_word_start_logprob"])
    table = table.sample(frac=1.0, random_state=int(rng.integers(0, 2**31))).reset_index(drop=True)  # any row order
    return table if with_correction else table.drop(columns=["next_word_start_logprob"])


@pytest.mark.parametrize("seed", range(6))
def test_align_words_and_summarize_equal_the_per_text_reference(seed):
    rng = np.random.default_rng(seed)
    texts = random_texts(rng, int(rng.integers(1, 40)))
    tokens_a = random_tokens(rng, texts, 2, with_correction=seed != 3)
    tokens_b = random_tokens(rng, texts, 3, with_correction=seed != 3)
    words = align_words(texts, tokens_a, tokens_b)
    pd.testing.assert_frame_equal(words, ref_align_words(texts, tokens_a, tokens_b), check_exact=True)
    tokens = pd.concat([tokens_a.assign(model="a"), tokens_b.assign(model="b")], ignore_index=True)
    pd.testing.assert_frame_equal(summarize(texts, tokens, words), ref_summarize(texts, tokens, words), check_exact=True)


def test_edge_cases_equal_the_reference():
    empty = random_tokens(np.random.default_rng(0), ["x"], 2).iloc[0:0]
    for texts in ([], [""], ["   "], ["a", ""]):
        pd.testing.assert_frame_equal(align_words(texts, empty, empty), ref_align_words(texts, empty, empty))
        tokens = empty.assign(model="a")
        words = align_words(texts, empty, empty)
        pd.testing.assert_frame_equal(summarize(texts, tokens, words), ref_summarize(texts, tokens, words))


def test_token_word_shares_equals_the_reference():
    rng = np.random.default_rng(1)
    for _ in range(50):
        text = random_texts(rng, 1)[0]
        words = split_words(text)
        table = random_tokens(rng, [text], 2).sort_values("position")
        args = (table["char_start"].to_numpy(), table["char_end"].to_numpy(), words["span_start"].to_numpy(),
                words["span_end"].to_numpy())
        for got, want in zip(token_word_shares(*args), ref_token_word_shares(*args)):
            np.testing.assert_array_equal(got, want)
