"""The summary table as shown: units in the headers, one number format per column."""

from __future__ import annotations

import pandas as pd

from ui.tables import summary_display


def summary(top1: list[float]) -> pd.DataFrame:
    n = len(top1)
    return pd.DataFrame({
        "text_id": [0] * n, "model": ["a", "b"][:n], "n_tokens": [30] * n, "mean_surprisal": [3.2] * n,
        "perplexity": [24.5] * n, "bits_per_byte": [1.3] * n, "mean_entropy": [2.7] * n,
        "top1_share": top1, "words_won": [16, 12][:n], "n_words": [28] * n,
    })


def test_top1_share_is_in_percent_with_its_unit_in_the_header():
    shown = summary_display(summary([0.4, 11 / 30]), ["some text"], ("A", "B"), "bits")
    assert "top-1 share" not in shown.columns  # a header short enough to leave "words won" in view
    assert shown["top-1 (%)"].round(2).tolist() == [40.0, 36.67]
    assert "surprisal (bits/token)" in shown.columns and "entropy (bits)" in shown.columns


def test_times_read_the_same_in_the_table_and_the_pickers():
    from ui.tables import readable_time

    assert readable_time("2026-11-23T16:46:40+00:00") == "2026-11-23 16:46:40 UTC"
    assert readable_time("2026-11-23T16:46:40") == "2026-11-23 16:46:40"  # no zone given: none claimed


def test_scored_by_and_run_titles():
    from ui.tables import run_title, scored_by

    assert scored_by('{"top_k": 5}') == "A and B"
    assert scored_by('{"failed": {"b": "gemma: no memory"}}') == "A only: B failed"
    assert scored_by('{"failed": {"a": "x", "same_vocab": "y"}}') == "B only: A failed"
    assert scored_by("not json") == "A and B"
    assert run_title("300 paragraphs", "2026-11-23T16:46:40+00:00") == "300 paragraphs"
    assert run_title("  ", "2026-11-23T16:46:40+00:00") == "2026-11-23 16:46:40 UTC"  # unnamed: its time


def test_words_won_needs_both_models():
    """With one model left (the other failed) there is no comparison: no "0 of 0" column."""
    one = summary([0.4]).assign(model="b", words_won=0, n_words=0)
    assert "words won" not in summary_display(one, ["some text"], ("A", "B"), "nats").columns
    both = summary([0.4, 0.5]).assign(n_words=[28, 0])
    assert summary_display(both, ["some text"], ("A", "B"), "nats")["words won"].tolist() == ["16 of 28", "–"]



def test_key_columns_come_first_and_a_corpus_total_row_follows():
    totals = summary([0.5, 0.25]).assign(text_id=-1, words_won=[30, 20], n_words=[56, 56])
    shown = summary_display(summary([0.4, 0.3]), ["some text"], ("Smol", "Gemma"), "nats", totals)
    assert list(shown.columns[:4]) == ["text", "model", "words won", "bits per byte"]
    assert list(shown["text"]) == ["1: some text", "1: some text", "all 1 texts", "all 1 texts"]
    assert list(shown["words won"][2:]) == ["30 of 56", "20 of 56"] and list(shown["model"][2:]) == ["A · Smol", "B · Gemma"]


def test_the_runs_listing_shows_each_models_variant():
    from ui.tables import runs_display

    runs = pd.DataFrame({"name": ["x"], "settings": ["{}"], "created": ["2026-01-01T00:00:00+00:00"],
                         "model_a": ["gemma3-270m"], "model_b": ["gemma3-270m?variant=int8"], "n_texts": [1],
                         "n_tokens": [3], "size_bytes": [2048], "id": ["r1"]})
    shown = runs_display(runs)
    assert list(shown.columns[:4]) == ["name", "scored by", "variant A", "variant B"]
    assert (shown["variant A"][0], shown["variant B"][0]) == ("as is", "int8")
