"""Fit per domain (Paloma-style): each model's bits per byte over the texts of a domain, and A − B, with intervals.

Input: the per-text table of analysis/corpus_ranking.py (bits_a, bytes_a, bits_b, bytes_b per text)
and one label per text (a metadata column such as domain, source or split). A domain's bits per
byte pools its texts, Σ bits / Σ bytes, so a long text weighs by its length, as Paloma pools
tokens. Intervals resample texts within the domain (texts are the independent unit, as in
analysis/resampling.py): A and B are resampled with the same draws, so the interval of A − B is
paired, and each uses the t-interval of analysis/resampling.cluster_mean on the bootstrap spread.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
from scipy import stats

from analysis import resampling as R

ALL = "(all texts)"
DOMAIN_COLUMNS = ["domain", "n_texts", "bytes", "bpb_a", "bpb_a_low", "bpb_a_high", "bpb_b", "bpb_b_low",
                  "bpb_b_high", "bpb_diff", "diff_low", "diff_high", "p_value"]


def _seed(seed: int, label: str) -> list[int]:
    # Per domain and independent of order, so adding a domain never moves another's interval;
    # a list, not a Generator, so A and B draw the same texts (numpy builds the same stream from it).
    return [seed, zlib.crc32(label.encode())]


def _interval(point: float, draws: np.ndarray, n_texts: int, level: float) -> tuple[float, float, float]:
    """point ± t(C − 1) · se with the small-cluster inflation, and the two-sided p-value against 0."""
    se = float(np.std(draws, ddof=1) * np.sqrt(n_texts / (n_texts - 1)))
    if se == 0.0:
        return point, point, 0.0 if point != 0 else 1.0
    t = stats.t.ppf(0.5 + level / 2.0, df=n_texts - 1)
    return point - t * se, point + t * se, float(2.0 * stats.t.sf(abs(point) / se, df=n_texts - 1))


def _row(label: str, part: pd.DataFrame, n_boot: int, seed: int, level: float) -> dict:
    n = len(part)
    row = {"domain": label, "n_texts": n, "bytes": float(part["bytes_a"].sum())}
    points, draws = {}, {}
    for side in ("a", "b"):
        bits, n_bytes = part[f"bits_{side}"].to_numpy(float), part[f"bytes_{side}"].to_numpy(float)
        points[side] = bits.sum() / n_bytes.sum() if n else np.nan
        row[f"bpb_{side}"] = points[side]
        if n >= 2:
            draws[side] = R.bootstrap_ratio_means(bits, n_bytes, n_boot, _seed(seed, label))
    row["bpb_diff"] = points["a"] - points["b"]
    if n >= 2:
        for side in ("a", "b"):
            row[f"bpb_{side}_low"], row[f"bpb_{side}_high"], _ = _interval(points[side], draws[side], n, level)
        row["diff_low"], row["diff_high"], row["p_value"] = _interval(row["bpb_diff"], draws["a"] - draws["b"], n, level)
    return row


def domain_fit(texts: pd.DataFrame, labels: pd.Series, n_boot: int = 1000, seed: int = 0,
               level: float = 0.95) -> pd.DataFrame:
    """One row per domain (sorted by name) and a last row ALL, DOMAIN_COLUMNS.

    texts: corpus_ranking's texts table; labels: the domain of each text, indexed by text_id (NA:
    in no domain, left out of the domains but kept in ALL). Texts that one model did not score
    (no bits or no bytes) are left out. Fewer than 2 texts: no interval (NaN).
    """
    t = texts.set_index("text_id")
    ok = t[["bits_a", "bits_b"]].notna().all(axis=1) & (t["bytes_a"] > 0) & (t["bytes_b"] > 0)
    t = t[ok].assign(_domain=labels.reindex(t.index[ok]))
    rows = [_row(str(label), part, n_boot, seed, level)
            for label, part in sorted(t.groupby("_domain", dropna=True), key=lambda kv: str(kv[0]))]
    rows.append(_row(ALL, t, n_boot, seed, level))
    return pd.DataFrame(rows).reindex(columns=DOMAIN_COLUMNS)
