"""Same vocabulary: which tokens model B makes more or less probable than A across a run, and where they part most.

For a model and its int8 or pruned copy, or two checkpoints: both read the same
token ids at the same positions, so their top-k lists (kept in the token table)
compare token by token. At each position scored by both, every token in either
model's top-k counts once, with change = log p_B − log p_A (nats): above 0 B
raised it, below 0 B lowered it (the B − A of this view, as its names say).

A token in only one model's top-k has no logprob in the other's list: it gets
that model's k-th logprob instead, an upper bound of the real one. So for a
token only B kept, the change shown is the least the real change can be (a
"raised" is sure); for a token only A kept it is the most (a "lowered" is sure).

`highest_kl` lists the positions where the two next-token distributions are
furthest apart (the same-vocabulary table of backend/scoring/same_vocab.py),
with a few words of context and each model's top guess.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.schema import MODEL_COLUMN

TOKEN_CHANGE_COLUMNS = ("token_id", "token", "n_positions", "n_raised", "n_lowered", "mean_change", "n_bounded")
KL_COLUMNS = ("kl_a_b", "kl_b_a", "js")


def _flat(side: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per (position row, top-k entry) of one model: row, token_id, token, logprob; and each row's k-th logprob."""
    lengths = np.array([len(x) if isinstance(x, (list, tuple, np.ndarray)) else 0 for x in side["topk_token_ids"]])
    keep = lengths > 0
    ids = [np.asarray(x, dtype=np.int64) for x, k in zip(side["topk_token_ids"], keep) if k]
    lps = [np.asarray(x, dtype=float) for x, k in zip(side["topk_logprobs"], keep) if k]
    pieces = [list(x) for x, k in zip(side["topk_tokens"], keep) if k]
    kth = np.full(len(side), np.nan)
    kth[keep] = [float(np.min(x)) for x in lps]  # best first, so the last; min is the same and safe
    flat = pd.DataFrame({
        "row": np.repeat(np.arange(len(side)), lengths),
        "token_id": np.concatenate(ids) if ids else np.zeros(0, np.int64),
        "token": [str(p) for piece in pieces for p in piece],
        "logprob": np.concatenate(lps) if lps else np.zeros(0),
    })
    return flat, kth


def topk_changes(tokens: pd.DataFrame) -> pd.DataFrame:
    """One row per (position scored by both, token in either top-k): text_id, position, token_id, token,
    logprob_a, logprob_b (a bound where the token is missing from that model's list), bounded, change.

    tokens: the combined token table (column "model": "a" | "b") of two models with one vocabulary.
    """
    a = tokens[tokens[MODEL_COLUMN] == "a"]
    b = tokens[tokens[MODEL_COLUMN] == "b"]
    cols = ["text_id", "position", "topk_token_ids", "topk_tokens", "topk_logprobs"]
    both = a[cols].merge(b[cols], on=["text_id", "position"], suffixes=("_a", "_b")).reset_index(drop=True)
    flat, kth = {}, {}
    for s in ("a", "b"):
        side = both[[f"topk_token_ids_{s}", f"topk_tokens_{s}", f"topk_logprobs_{s}"]]
        flat[s], kth[s] = _flat(side.set_axis(["topk_token_ids", "topk_tokens", "topk_logprobs"], axis=1))
    # Only positions where both models kept a list: a position without one (no context) says nothing.
    rows = np.flatnonzero(np.isfinite(kth["a"]) & np.isfinite(kth["b"]))
    fa = flat["a"][np.isin(flat["a"]["row"], rows)]
    fb = flat["b"][np.isin(flat["b"]["row"], rows)]
    out = fa.merge(fb, on=["row", "token_id"], how="outer", suffixes=("_a", "_b"))
    missing_a, missing_b = out["logprob_a"].isna().to_numpy(), out["logprob_b"].isna().to_numpy()
    row = out["row"].to_numpy()
    logprob_a = np.where(missing_a, kth["a"][row], out["logprob_a"].to_numpy(float))
    logprob_b = np.where(missing_b, kth["b"][row], out["logprob_b"].to_numpy(float))
    frame = pd.DataFrame({
        "text_id": both["text_id"].to_numpy()[row].astype(np.int64),
        "position": both["position"].to_numpy()[row].astype(np.int64),
        "token_id": out["token_id"].to_numpy(np.int64),
        "token": out["token_a"].where(out["token_a"].notna(), out["token_b"]).astype(str).to_numpy(),
        "logprob_a": logprob_a,
        "logprob_b": logprob_b,
        "bounded": missing_a | missing_b,
        "change": logprob_b - logprob_a,
    })
    return frame.sort_values(["text_id", "position", "token_id"], ignore_index=True)


def token_changes(tokens: pd.DataFrame) -> pd.DataFrame:
    """Per token id over the whole run (TOKEN_CHANGE_COLUMNS): positions where it is in either top-k, how many
    of them B raised (change > 0) and lowered (change < 0) it, the mean change (nats), and how many used a bound."""
    changes = topk_changes(tokens)
    if changes.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            TOKEN_CHANGE_COLUMNS, ("int64", "object", "int64", "int64", "int64", "float64", "int64"))})
    grouped = changes.assign(raised=changes["change"] > 0, lowered=changes["change"] < 0).groupby("token_id")
    out = pd.DataFrame({
        "token": grouped["token"].first(),
        "n_positions": grouped.size(),
        "n_raised": grouped["raised"].sum(),
        "n_lowered": grouped["lowered"].sum(),
        "mean_change": grouped["change"].mean(),
        "n_bounded": grouped["bounded"].sum(),
    }).reset_index()
    return out.astype({"n_positions": "int64", "n_raised": "int64", "n_lowered": "int64", "n_bounded": "int64"})[
        list(TOKEN_CHANGE_COLUMNS)]


ORDERS = ("count", "net", "mean")  # how often B moved it that way; that less the other way; the mean change


def most_changed(changes: pd.DataFrame, way: str, n: int = 20, order: str = "count") -> pd.DataFrame:
    """The n tokens B raises ("raised") or lowers ("lowered") most: by how often ("count": positions moved that
    way), by how much more often than the other way ("net": frequent tokens moved both ways by noise sink), or
    by the mean change that way ("mean"); ties by the mean change, then the token id (a stable order). Only
    tokens B moved that way at least once, and for "net" and "mean" more often / on average that way."""
    if way not in ("raised", "lowered"):
        raise ValueError(f"way must be 'raised' or 'lowered', not {way!r}")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
    other = "lowered" if way == "raised" else "raised"
    strength = changes["mean_change"] if way == "raised" else -changes["mean_change"]
    key = {"count": changes[f"n_{way}"], "net": changes[f"n_{way}"] - changes[f"n_{other}"], "mean": strength}[order]
    ordered = changes.assign(_k=key, _s=strength).sort_values(["_k", "_s", "token_id"], ascending=[False, False, True])
    keep = (ordered[f"n_{way}"] > 0) & (ordered["_k"] > 0 if order != "count" else True)
    return ordered[keep].drop(columns=["_k", "_s"]).head(n).reset_index(drop=True)


def _words_around(text: str, start: int, end: int, n_words: int) -> tuple[str, str]:
    before = " ".join(text[:start].split()[-n_words:])
    after = " ".join(text[end:].split()[:n_words])
    return before, after


def highest_kl(same_vocab: pd.DataFrame, tokens: pd.DataFrame, texts: list[str], by: str = "kl_a_b",
               n: int = 20, n_words: int = 4) -> pd.DataFrame:
    """The n positions of highest `by` (kl_a_b, kl_b_a or js): text_id, position, char_start, char_end, token,
    before and after (n_words words each side), the three divergences, and each model's top guess there.

    Offsets are model A's token's (the same-vocabulary table uses A's tokenisation)."""
    if by not in KL_COLUMNS:
        raise ValueError(f"by must be one of {KL_COLUMNS}, not {by!r}")
    top = same_vocab[same_vocab[by].notna()].sort_values([by, "text_id", "position"], ascending=[False, True, True])
    top = top.head(n)
    a = tokens[tokens[MODEL_COLUMN] == "a"][["text_id", "position", "token", "char_start", "char_end", "topk_tokens"]]
    b = tokens[tokens[MODEL_COLUMN] == "b"][["text_id", "position", "topk_tokens"]]
    rows = top.merge(a, on=["text_id", "position"], how="left").merge(
        b, on=["text_id", "position"], how="left", suffixes=("_a", "_b"))
    first = lambda x: str(x[0]) if isinstance(x, (list, tuple, np.ndarray)) and len(x) else ""  # noqa: E731
    context = [_words_around(texts[int(t)], int(s), int(e), n_words) if pd.notna(s) else ("", "")
               for t, s, e in zip(rows["text_id"], rows["char_start"], rows["char_end"])]
    return pd.DataFrame({
        "text_id": rows["text_id"].to_numpy(np.int64),
        "position": rows["position"].to_numpy(np.int64),
        "char_start": rows["char_start"].to_numpy(),
        "char_end": rows["char_end"].to_numpy(),
        "token": rows["token"].astype(str).to_numpy(),
        "before": [c[0] for c in context],
        "after": [c[1] for c in context],
        **{c: rows[c].to_numpy(float) for c in KL_COLUMNS},
        "top_a": [first(x) for x in rows["topk_tokens_a"]],
        "top_b": [first(x) for x in rows["topk_tokens_b"]],
    })
