"""The "Where they differ" tab in AppTest: a saved three-domain run ranked, filtered by domain, and one click to
the token view at the span; the domain fit table against direct pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from test_differences_page import TEXTS, open_page

DOMAINS = ["news", "code", "chat", "news", "code", "chat"]


@pytest.fixture
def domain_run(app, tiny_a, tiny_b):
    from backend.models.loading import load_model
    from backend.models.specs import ModelSpec
    from backend.scoring.pair import score_pair
    from backend.store.runs import RunStore

    a, b = (load_model(ModelSpec.parse(str(p))) for p in (tiny_a, tiny_b))
    result = score_pair(a, b, TEXTS)
    meta = pd.DataFrame({"domain": DOMAINS, "split": ["dev"] * 6})
    run_id = RunStore().save(result, str(tiny_a), str(tiny_b), {"top_k": 5}, name="domains", text_meta=meta)
    return run_id, result


def where_table(at):
    return next(d for d in at.dataframe if "where" in d.value.columns)


def test_the_ranking_lists_texts_by_the_measure_and_filters_by_domain(app, domain_run):
    run_id, result = domain_run
    at = open_page(app)
    table = where_table(at).value
    words = result.words[result.words["delta"].notna()]
    means = words.groupby("text_id")["delta"].mean()
    want = (means.abs().sort_values(ascending=False, kind="stable").index + 1).tolist()
    assert table["text"].tolist() == want  # mean Δ, largest either way first
    assert table["domain"].tolist() == [DOMAINS[t - 1] for t in want]
    at.multiselect(key="where_meta_domain").select("code").run()
    assert set(where_table(at).value["domain"]) == {"code"}
    at.radio(key="where_level").set_value("spans").run()
    spans = where_table(at).value
    assert len(spans) > 0 and spans["where"].str.contains("⟦").all()


def test_domain_fit_table_matches_pandas(app, domain_run):
    from analysis.words import bits_per_byte

    run_id, result = domain_run
    at = open_page(app)
    fit = next(d for d in at.dataframe if "bits/byte A" in " ".join(d.value.columns)).value.set_index("domain")
    for side, column in (("a", next(c for c in fit.columns if c.startswith("bits/byte A"))),):
        tok = result.tokens[result.tokens["model"] == side]
        bpb = bits_per_byte(result.texts, tok)
        scored = tok[tok["logprob"].notna()]
        bits = (-scored.groupby("text_id")["logprob"].sum() / np.log(2))
        n_bytes = bits / bpb
        frame = pd.DataFrame({"bits": bits, "bytes": n_bytes, "domain": [DOMAINS[t] for t in bits.index]})
        g = frame.groupby("domain").sum()
        for domain in ("news", "code", "chat"):
            assert fit.loc[domain, column] == pytest.approx(g.loc[domain, "bits"] / g.loc[domain, "bytes"], rel=1e-6)


def test_a_row_click_opens_the_token_view_at_the_span(app, domain_run):
    run_id, result = domain_run
    at = open_page(app)
    table = where_table(at)
    at.session_state["where_table_0"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    focus = at.session_state["focus"]
    assert focus["run_id"] == run_id and focus["char_end"] > focus["char_start"]
    assert at.session_state["tv_text"] == focus["text_id"]
