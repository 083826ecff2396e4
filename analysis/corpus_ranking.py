"""Where two models differ across a corpus: per-text and per-span aggregates, built once per run, then ranked.

Inputs are the run's tables (analysis/schema.py): the word table (delta = logprob_a − logprob_b,
nats, positive: A predicted the word better), the token table (both models, for bits per byte and
for placing same-vocabulary positions in the text) and, when the models share a vocabulary, the
same-vocabulary table (KL, JS, top-k overlap per position).

`build` makes two tables once per run (the run store persists them, so a page only sorts):
  texts: one row per text (TEXT_COLUMNS + the same-vocabulary ones when there are any)
  spans: one row per window of `size` consecutive compared words (SPAN_SIZES), windows every
         size // 2 words plus one that ends at the text's last word, so every word is in one.
Words without a delta (scored by one model only) are left out before windowing: a span is
`size` words both models scored. Nats everywhere; bits only for bits per byte, as its name says.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

SPAN_SIZES = (5, 10, 20)
DEFAULT_SPAN = 10  # the text-level "largest span Δ" uses windows of this many words
LN2 = math.log(2.0)


@dataclasses.dataclass(frozen=True)
class Measure:
    name: str  # the column in the texts and/or spans table
    label: str
    unit: str  # "nats" (follows the nats/bits toggle), "bits/byte", "share"
    order: str  # how "differ most" ranks: "abs" (signed, largest |value|), "high", "low"
    help: str
    same_vocab: bool = False
    tables: tuple[str, ...] = ("texts", "spans")


MEASURES = {m.name: m for m in (
    Measure("mean_delta", "Mean Δ per word", "nats", "abs",
            "Mean over the compared words of log p(word | A) − log p(word | B): positive, A predicted the text better."),
    Measure("max_span_delta", "Largest span Δ", "nats", "abs",
            f"Σ Δ over the {DEFAULT_SPAN}-word span where |Σ Δ| is largest: a disagreement that lives in a phrase.",
            tables=("texts",)),
    Measure("sum_delta", "Σ Δ over the span", "nats", "abs", "Sum of Δ over the span's words.", tables=("spans",)),
    Measure("max_abs_delta", "Largest word |Δ|", "nats", "high", "The largest |Δ| of one word in the span.",
            tables=("spans",)),
    Measure("share_won_a", "Share of words A won", "share", "abs",
            "Share of the compared words where A gave the higher probability (ranked by distance from one half)."),
    Measure("bpb_diff", "Bits per byte A − B", "bits/byte", "abs",
            "A's bits per byte minus B's: negative, A fits the text better. Comparable across tokenisers."),
    Measure("mean_kl", "Mean KL(A‖B)", "nats", "high", "Mean KL of the next-token distributions.", same_vocab=True),
    Measure("max_kl", "Max KL(A‖B)", "nats", "high", "The largest KL at one position.", same_vocab=True),
    Measure("mean_js", "Mean Jensen–Shannon", "nats", "high", "Mean JS of the next-token distributions.",
            same_vocab=True),
    Measure("max_js", "Max Jensen–Shannon", "nats", "high", "The largest JS at one position.", same_vocab=True),
    Measure("min_topk_overlap", "Lowest top-k overlap", "share", "low",
            "The smallest share of top-k guesses both models had in common at one position.", same_vocab=True),
)}

TEXT_COLUMNS = ["text_id", "n_words", "mean_delta", "max_span_delta", "span_start", "span_end", "share_won_a",
                "bits_a", "bytes_a", "bits_b", "bytes_b", "bpb_a", "bpb_b", "bpb_diff"]
SPAN_COLUMNS = ["text_id", "size", "first_word", "n_words", "char_start", "char_end", "sum_delta", "mean_delta",
                "max_abs_delta", "share_won_a", "bpb_diff"]
SAME_VOCAB_MEASURES = ["mean_kl", "max_kl", "mean_js", "max_js", "min_topk_overlap"]


def offered(table: pd.DataFrame, which: str) -> list[str]:
    """The measures `table` ("texts" or "spans") can be ranked by: same-vocabulary ones only when present."""
    return [m.name for m in MEASURES.values() if which in m.tables and m.name in table.columns
            and table[m.name].notna().any()]


# --- building ------------------------------------------------------------------------------------


def _compared(words: pd.DataFrame) -> pd.DataFrame:
    w = words[np.isfinite(words["delta"].to_numpy(float))]
    return w.sort_values(["text_id", "word_index"], kind="stable").reset_index(drop=True)


def _bits_and_bytes(texts: list[str], tokens: pd.DataFrame) -> pd.DataFrame:
    """Per (text_id, model): bits (−Σ logprob / ln 2) and UTF-8 bytes of the scored tokens, as
    analysis/words.bits_per_byte counts them; an ASCII text's bytes are its characters (no slicing)."""
    scored = tokens[tokens["logprob"].notna()]
    tid = scored["text_id"].to_numpy()
    start, end = scored["char_start"].to_numpy(), scored["char_end"].to_numpy()
    ascii_text = np.array([t.isascii() for t in texts], dtype=bool)
    n_bytes = (end - start).astype(float)
    slow = ~ascii_text[tid] if len(tid) else np.zeros(0, bool)
    for i in np.flatnonzero(slow):
        n_bytes[i] = len(texts[tid[i]][start[i]:end[i]].encode("utf-8"))
    frame = pd.DataFrame({"text_id": tid, "model": scored["model"].to_numpy(),
                          "bits": -scored["logprob"].to_numpy(float) / LN2, "bytes": n_bytes})
    return frame.groupby(["text_id", "model"], sort=True)[["bits", "bytes"]].sum()


def _range_reduce(ufunc, values: np.ndarray, lo: np.ndarray, hi: np.ndarray, empty: float) -> np.ndarray:
    """ufunc over values[lo[i]:hi[i]] for every i (hi exclusive), `empty` where the range is empty."""
    if len(lo) == 0:
        return np.zeros(0)
    padded = np.append(values, empty)  # hi may equal len(values)
    idx = np.empty(2 * len(lo), dtype=np.int64)
    idx[0::2], idx[1::2] = lo, hi
    out = ufunc.reduceat(padded, idx)[0::2]
    return np.where(hi > lo, out, empty)


def _windows(tid: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row ranges [start, stop) of the windows of `size` rows inside each text's block of rows."""
    n = len(tid)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    first = np.r_[0, np.flatnonzero(tid[1:] != tid[:-1]) + 1]
    length = np.diff(np.r_[first, n])
    step = max(1, size // 2)
    starts, stops = [], []
    for f, L in zip(first, length):  # one short loop per text; the windows themselves are vectorised
        if L <= size:
            starts.append(np.array([f]))
            stops.append(np.array([f + L]))
            continue
        s = np.arange(0, L - size + 1, step)
        if s[-1] != L - size:
            s = np.r_[s, L - size]
        starts.append(f + s)
        stops.append(f + s + size)
    return np.concatenate(starts), np.concatenate(stops)


def span_table(texts: list[str], words: pd.DataFrame, sizes=SPAN_SIZES,
               same_vocab: pd.DataFrame | None = None, tokens: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per window of compared words (SPAN_COLUMNS, + SAME_VOCAB_MEASURES when same_vocab is given)."""
    w = _compared(words)
    tid = w["text_id"].to_numpy(np.int64)
    delta = w["delta"].to_numpy(float)
    cum = np.r_[0.0, np.cumsum(delta)]
    won = np.r_[0, np.cumsum(delta > 0)]
    cstart, cend = w["char_start"].to_numpy(np.int64), w["char_end"].to_numpy(np.int64)
    wi = w["word_index"].to_numpy(np.int64)
    parts = []
    for size in sizes:
        lo, hi = _windows(tid, size)
        n = hi - lo
        s = cum[hi] - cum[lo]
        start, end = cstart[lo], cend[hi - 1] if len(hi) else cend[:0]
        t = tid[lo]
        n_bytes = np.array([len(texts[a][b:c].encode("utf-8")) for a, b, c in zip(t, start, end)], dtype=float)
        parts.append(pd.DataFrame({
            "text_id": t, "size": np.full(len(lo), size, np.int64), "first_word": wi[lo], "n_words": n,
            "char_start": start, "char_end": end, "sum_delta": s, "mean_delta": s / n,
            "max_abs_delta": _range_reduce(np.maximum, np.abs(delta), lo, hi, np.nan),
            "share_won_a": (won[hi] - won[lo]) / n,
            # bits_a − bits_b over the span = (−Σ logprob_a + Σ logprob_b) / ln 2 = −Σ Δ / ln 2
            "bpb_diff": np.where(n_bytes > 0, -s / LN2 / np.where(n_bytes > 0, n_bytes, 1), np.nan),
        }))
    spans = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=SPAN_COLUMNS)
    if same_vocab is not None and tokens is not None and len(same_vocab):
        spans = spans.join(_span_same_vocab(spans, same_vocab, tokens))
    return spans


def _positioned(same_vocab: pd.DataFrame, tokens: pd.DataFrame) -> pd.DataFrame:
    """The same-vocabulary rows with model A's token offsets, in (text_id, char_end) order."""
    a = tokens[tokens["model"] == "a"][["text_id", "position", "char_start", "char_end"]]
    sv = same_vocab.merge(a, on=["text_id", "position"], how="inner")
    return sv.sort_values(["text_id", "char_end", "position"], kind="stable").reset_index(drop=True)


def _span_same_vocab(spans: pd.DataFrame, same_vocab: pd.DataFrame, tokens: pd.DataFrame) -> pd.DataFrame:
    """KL, JS and top-k overlap over the tokens that end inside each span (cs < char_end <= ce):
    a token carrying the space before a word (" quick") still counts for that word."""
    sv = _positioned(same_vocab, tokens)
    big = np.int64(1) << 32
    key = sv["text_id"].to_numpy(np.int64) * big + sv["char_end"].to_numpy(np.int64)
    t = spans["text_id"].to_numpy(np.int64)
    lo = np.searchsorted(key, t * big + spans["char_start"].to_numpy(np.int64), side="right")
    hi = np.searchsorted(key, t * big + spans["char_end"].to_numpy(np.int64), side="right")
    out = {}
    for name, column in (("kl", "kl_a_b"), ("js", "js")):
        v = sv[column].to_numpy(float)
        cum = np.r_[0.0, np.cumsum(v)]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"mean_{name}"] = np.where(hi > lo, (cum[hi] - cum[lo]) / (hi - lo), np.nan)
        out[f"max_{name}"] = _range_reduce(np.maximum, v, lo, hi, np.nan)
    out["min_topk_overlap"] = _range_reduce(np.minimum, sv["topk_overlap"].to_numpy(float), lo, hi, np.nan)
    return pd.DataFrame(out, index=spans.index)


def text_table(texts: list[str], words: pd.DataFrame, tokens: pd.DataFrame, spans: pd.DataFrame,
               same_vocab: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per text (TEXT_COLUMNS, + the same-vocabulary measures and the offsets of the position of
    largest KL, when same_vocab is given). A text with no compared word has NaN measures."""
    w = _compared(words)
    by = w.groupby("text_id")["delta"]
    out = pd.DataFrame({"text_id": np.arange(len(texts), dtype=np.int64)}).set_index("text_id")
    out["n_words"] = by.size().reindex(out.index).fillna(0).astype("int64")
    out["mean_delta"] = by.mean()
    out["share_won_a"] = w.assign(won=w["delta"] > 0).groupby("text_id")["won"].mean()
    main = spans[spans["size"] == DEFAULT_SPAN]
    if len(main):
        best = main.loc[main["sum_delta"].abs().groupby(main["text_id"]).idxmax()].set_index("text_id")
        out["max_span_delta"] = best["sum_delta"]
        out["span_start"], out["span_end"] = best["char_start"], best["char_end"]
    for c in ("max_span_delta", "span_start", "span_end"):
        if c not in out:
            out[c] = np.nan
    bb = _bits_and_bytes(texts, tokens) if len(tokens) else pd.DataFrame(columns=["bits", "bytes"])
    for side in ("a", "b"):
        part = bb.xs(side, level="model") if side in bb.index.get_level_values(-1) else pd.DataFrame()
        out[f"bits_{side}"] = part["bits"] if len(part) else np.nan
        out[f"bytes_{side}"] = part["bytes"] if len(part) else np.nan
        out[f"bpb_{side}"] = out[f"bits_{side}"] / out[f"bytes_{side}"].where(out[f"bytes_{side}"] > 0)
    out["bpb_diff"] = out["bpb_a"] - out["bpb_b"]
    out = out.reset_index()
    out["span_start"] = out["span_start"].astype("Int64")
    out["span_end"] = out["span_end"].astype("Int64")
    if same_vocab is not None and len(same_vocab):
        sv = _positioned(same_vocab, tokens)
        g = sv.groupby("text_id")
        agg = pd.DataFrame({"mean_kl": g["kl_a_b"].mean(), "max_kl": g["kl_a_b"].max(), "mean_js": g["js"].mean(),
                            "max_js": g["js"].max(), "min_topk_overlap": g["topk_overlap"].min()})
        top = sv.loc[sv["kl_a_b"].fillna(-np.inf).groupby(sv["text_id"]).idxmax()].set_index("text_id")
        agg["kl_start"], agg["kl_end"] = top["char_start"], top["char_end"]
        out = out.merge(agg.reset_index(), on="text_id", how="left")
    return out


def build(texts: list[str], words: pd.DataFrame, tokens: pd.DataFrame,
          same_vocab: pd.DataFrame | None = None, sizes=SPAN_SIZES) -> dict[str, pd.DataFrame]:
    """{"texts": ..., "spans": ...}: everything the ranking view reads, built once per run."""
    spans = span_table(texts, words, sizes, same_vocab, tokens)
    return {"texts": text_table(texts, words, tokens, spans, same_vocab), "spans": spans}


# --- ranking -----------------------------------------------------------------------------------


def rank(table: pd.DataFrame, measure: str, n: int | None = None, direction: str = "either") -> pd.DataFrame:
    """Rows of a texts or spans table, where the models differ most by `measure` first.

    direction (signed measures only): "either" ranks by |value| ("share_won_a" by distance from one
    half), "a" puts A's biggest advantage first, "b" B's. NaN rows go last; ties break by row order.
    """
    m = MEASURES[measure]
    v = table[measure].to_numpy(float)
    centre = 0.5 if measure == "share_won_a" else 0.0
    a_better = -1.0 if measure == "bpb_diff" else 1.0  # fewer bits per byte: A fits better
    if m.order == "abs":
        key = {"either": -np.abs(v - centre), "a": -(v - centre) * a_better, "b": (v - centre) * a_better}[direction]
    else:
        key = -v if m.order == "high" else v
    key = np.where(np.isfinite(key), key, np.inf)
    order = np.argsort(key, kind="stable")
    out = table.iloc[order]
    return out if n is None else out.head(n)


def rows_in_bin(table: pd.DataFrame, measure: str, low: float, high: float) -> pd.DataFrame:
    """The rows whose `measure` falls in [low, high): what a histogram bar holds."""
    v = table[measure]
    return table[(v >= low) & (v < high)]
