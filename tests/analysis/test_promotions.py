"""What B promotes: top-k changes per token and the positions of highest KL, against a direct pandas computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import log_softmax, rel_entr

from analysis import promotions as P

VOCAB, K = 12, 3
PIECES = [f"t{i}" for i in range(VOCAB)]


def world(n_texts: int = 3, n_pos: int = 15, seed: int = 0):
    """Two models' full distributions at every position of a few texts, and their token tables (top-k only)."""
    rng = np.random.default_rng(seed)
    texts, rows, full = [], {"a": [], "b": []}, {}
    for t in range(n_texts):
        texts.append(" ".join(f"w{t}x{p}" for p in range(n_pos)))
        start = 0
        for p in range(n_pos):
            logits = rng.normal(0, 2, VOCAB)
            lp = {"a": log_softmax(logits), "b": log_softmax(logits + rng.normal(0, 1.5, VOCAB))}
            word = f"w{t}x{p}"
            end = start + len(word)
            for s in ("a", "b"):
                full[(s, t, p)] = lp[s]
                top = np.argsort(-lp[s])[:K]
                no_context = p == 0 and s == "b"  # B has no BOS: its first token has no list
                rows[s].append({
                    "text_id": t, "position": p, "token_id": p % VOCAB, "token": word, "char_start": start,
                    "char_end": end, "logprob": np.nan if no_context else lp[s][p % VOCAB],
                    "topk_token_ids": [] if no_context else top.tolist(),
                    "topk_tokens": [] if no_context else [PIECES[i] for i in top],
                    "topk_logprobs": [] if no_context else lp[s][top].tolist(), "model": s,
                })
            start = end + 1
    tokens = pd.concat([pd.DataFrame(rows["a"]), pd.DataFrame(rows["b"])], ignore_index=True)
    return texts, tokens, full


def direct_changes(tokens: pd.DataFrame) -> pd.DataFrame:
    """The same numbers by exploding the lists and joining in plain pandas."""
    parts = []
    for s in ("a", "b"):
        side = tokens[tokens["model"] == s]
        side = side[side["topk_token_ids"].map(len) > 0]
        ex = side[["text_id", "position", "topk_token_ids", "topk_logprobs"]].explode(
            ["topk_token_ids", "topk_logprobs"])
        ex = ex.rename(columns={"topk_token_ids": "token_id", "topk_logprobs": f"lp_{s}"})
        ex["token_id"] = ex["token_id"].astype(int)
        ex[f"lp_{s}"] = ex[f"lp_{s}"].astype(float)
        ex[f"kth_{s}"] = ex.groupby(["text_id", "position"])[f"lp_{s}"].transform("min")
        parts.append(ex)
    keys = ["text_id", "position"]
    both_pos = parts[0][keys].drop_duplicates().merge(parts[1][keys].drop_duplicates())
    a, b = (p.merge(both_pos) for p in parts)
    kth = a[keys + ["kth_a"]].drop_duplicates().merge(b[keys + ["kth_b"]].drop_duplicates())
    j = a.drop(columns="kth_a").merge(b.drop(columns="kth_b"), on=keys + ["token_id"], how="outer").merge(kth, on=keys)
    j["lp_a"] = j["lp_a"].astype(float).fillna(j["kth_a"])
    j["lp_b"] = j["lp_b"].astype(float).fillna(j["kth_b"])
    j["change"] = j["lp_b"] - j["lp_a"]
    return j.groupby("token_id").agg(n_positions=("change", "size"), n_raised=("change", lambda c: int((c > 0).sum())),
                                     n_lowered=("change", lambda c: int((c < 0).sum())),
                                     mean_change=("change", "mean")).reset_index()


def test_token_changes_match_a_direct_pandas_computation():
    _, tokens, full = world()
    got = P.token_changes(tokens)
    want = direct_changes(tokens)
    assert list(got.columns) == list(P.TOKEN_CHANGE_COLUMNS)
    merged = got.merge(want, on="token_id", suffixes=("", "_want"))
    assert len(merged) == len(got) == len(want)
    for c in ("n_positions", "n_raised", "n_lowered"):
        assert (merged[c] == merged[f"{c}_want"]).all(), c
    np.testing.assert_allclose(merged["mean_change"], merged["mean_change_want"], rtol=1e-12)
    assert (got["token"] == [PIECES[i] for i in got["token_id"]]).all()


def test_a_change_from_both_lists_is_exact_and_a_bound_is_on_the_sure_side():
    """Exact where both lists hold the token; where one lacks it, the k-th logprob bounds the real change so
    that a "raised" (token only B kept) or a "lowered" (token only A kept) is sure."""
    _, tokens, full = world()
    changes = P.topk_changes(tokens)
    assert (changes["position"] > 0).all()  # B has no list at position 0: those positions say nothing
    for r in changes.itertuples():
        real = full[("b", r.text_id, r.position)][r.token_id] - full[("a", r.text_id, r.position)][r.token_id]
        if not r.bounded:
            assert r.change == pytest.approx(real)
        elif r.logprob_b == pytest.approx(full[("b", r.text_id, r.position)][r.token_id]):  # only B kept it
            assert real >= r.change - 1e-12
        else:  # only A kept it
            assert real <= r.change + 1e-12


def test_most_changed_orders_by_count_then_strength():
    changes = pd.DataFrame({"token_id": [1, 2, 3, 4], "token": list("wxyz"), "n_positions": 5,
                            "n_raised": [3, 3, 0, 5], "n_lowered": [2, 2, 5, 0], "mean_change": [0.1, 0.5, -1.0, 0.2],
                            "n_bounded": 0})
    assert P.most_changed(changes, "raised")["token_id"].tolist() == [4, 2, 1]
    assert P.most_changed(changes, "lowered")["token_id"].tolist() == [3, 1, 2]
    assert P.most_changed(changes, "raised", n=1)["token_id"].tolist() == [4]
    net = changes.assign(n_lowered=[2, 1, 5, 0])  # raised − lowered: 1, 2, −5, 5
    assert P.most_changed(net, "raised", order="net")["token_id"].tolist() == [4, 2, 1]
    assert P.most_changed(net, "lowered", order="net")["token_id"].tolist() == [3]
    assert P.most_changed(changes, "raised", order="mean")["token_id"].tolist() == [2, 4, 1]
    assert P.most_changed(changes, "lowered", order="mean")["token_id"].tolist() == [3]
    with pytest.raises(ValueError):
        P.most_changed(changes, "raised", order="loud")
    with pytest.raises(ValueError):
        P.most_changed(changes, "up")


def test_highest_kl_positions_with_context_match_pandas():
    texts, tokens, full = world()
    same = pd.DataFrame([{"text_id": t, "position": p, "kl_a_b": rel_entr(np.exp(full[("a", t, p)]), np.exp(full[("b", t, p)])).sum(),
                          "kl_b_a": rel_entr(np.exp(full[("b", t, p)]), np.exp(full[("a", t, p)])).sum(), "js": 0.1,
                          "topk_overlap": 0.5} for (s, t, p) in full if s == "a"])
    got = P.highest_kl(same, tokens, texts, by="kl_b_a", n=5, n_words=2)
    want = same.nlargest(5, "kl_b_a")
    assert got[["text_id", "position"]].values.tolist() == want[["text_id", "position"]].values.tolist()
    np.testing.assert_allclose(got["kl_b_a"], want["kl_b_a"])
    for r in got.itertuples():
        words = texts[r.text_id].split()
        assert r.token == words[r.position] == texts[r.text_id][r.char_start:r.char_end]
        assert r.before == " ".join(words[max(0, r.position - 2):r.position])
        assert r.after == " ".join(words[r.position + 1:r.position + 3])
        assert r.top_a == PIECES[int(np.argmax(full[("a", r.text_id, r.position)]))]
    with pytest.raises(ValueError):
        P.highest_kl(same, tokens, texts, by="entropy")


def test_empty_and_no_context_tables():
    _, tokens, _ = world(n_texts=1, n_pos=1)  # B's only position has no list
    assert P.token_changes(tokens).empty and list(P.token_changes(tokens).columns) == list(P.TOKEN_CHANGE_COLUMNS)
