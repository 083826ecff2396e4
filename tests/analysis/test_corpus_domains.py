"""analysis/corpus_domains.py against direct pandas, on a corpus of three domains, and the domain group family."""

import numpy as np
import pandas as pd

from analysis import corpus_domains as CD
from analysis import corpus_ranking as C
from analysis import differences as D
from tests.analysis.test_corpus_ranking import corpus

DOMAINS = ["news", "code", "web"]


def tables(n_texts=30, seed=11):
    texts, words, tokens, sv = corpus(n_texts=n_texts, seed=seed)
    built = C.build(texts, words, tokens)
    labels = pd.Series([DOMAINS[i % 3] for i in range(len(texts))], index=range(len(texts)))
    return built["texts"], labels, words


def test_domain_bits_per_byte_pool_texts_like_pandas():
    texts, labels, _ = tables()
    fit = CD.domain_fit(texts, labels, n_boot=300).set_index("domain")
    t = texts.assign(domain=labels.to_numpy()).dropna(subset=["bits_a", "bits_b"])
    g = t.groupby("domain")[["bits_a", "bytes_a", "bits_b", "bytes_b"]].sum()
    want_a, want_b = g["bits_a"] / g["bytes_a"], g["bits_b"] / g["bytes_b"]
    assert list(fit.index) == sorted(DOMAINS) + [CD.ALL]
    np.testing.assert_allclose(fit.loc[sorted(DOMAINS), "bpb_a"], want_a.loc[sorted(DOMAINS)])
    np.testing.assert_allclose(fit.loc[sorted(DOMAINS), "bpb_b"], want_b.loc[sorted(DOMAINS)])
    np.testing.assert_allclose(fit["bpb_diff"], fit["bpb_a"] - fit["bpb_b"])
    np.testing.assert_allclose(fit.loc[CD.ALL, "bpb_a"], t["bits_a"].sum() / t["bytes_a"].sum())
    assert (fit["n_texts"].loc[sorted(DOMAINS)] == t.groupby("domain").size().loc[sorted(DOMAINS)]).all()
    for side in ("bpb_a", "bpb_b"):
        assert (fit[f"{side}_low"] <= fit[side]).all() and (fit[side] <= fit[f"{side}_high"]).all()
    assert (fit["diff_low"] <= fit["bpb_diff"]).all() and (fit["bpb_diff"] <= fit["diff_high"]).all()


def test_interval_is_paired_and_seeded_per_domain():
    texts, labels, _ = tables()
    one = CD.domain_fit(texts, labels, n_boot=200, seed=3)
    fewer = CD.domain_fit(texts, labels.where(labels != "web"), n_boot=200, seed=3)
    pd.testing.assert_frame_equal(one[one["domain"] == "code"].reset_index(drop=True),
                                  fewer[fewer["domain"] == "code"].reset_index(drop=True))
    # Paired: when B equals A plus a constant per byte, every resample has the same difference.
    shifted = texts.assign(bits_b=texts["bits_a"] + 0.1 * texts["bytes_a"], bytes_b=texts["bytes_a"])
    fit = CD.domain_fit(shifted, labels, n_boot=200).set_index("domain")
    np.testing.assert_allclose(fit["diff_low"], -0.1)
    np.testing.assert_allclose(fit["diff_high"], -0.1)


def test_one_text_domain_has_no_interval():
    texts, labels, _ = tables(n_texts=7)
    labels = labels.copy()
    labels.iloc[0] = "solo"
    fit = CD.domain_fit(texts, labels, n_boot=100).set_index("domain")
    assert fit.loc["solo", "n_texts"] == 1 and np.isnan(fit.loc["solo", "diff_low"])


def test_domain_group_family_matches_pandas():
    texts, labels, words = tables()
    w = words.assign(domain=words["text_id"].map(labels))
    agg = D.group_aggregates(w, groups=["domain"], n_boot=200).set_index("group")
    ok = w[w["delta"].notna()]
    np.testing.assert_allclose(agg.loc[sorted(DOMAINS), "mean_delta"], ok.groupby("domain")["delta"].mean().loc[sorted(DOMAINS)])
    assert D.group_aggregates(words, groups=["domain"]).empty  # no metadata: no domain groups
