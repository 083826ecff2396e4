"""Answer-aware meaning clusters with the real embedded all-MiniLM-L6-v2 on the labelled answer pairs
(tests/data/answer_pairs.jsonl; bench/clustering_accuracy.py reports every method)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.generations import answer_part_texts, answer_texts, embedding_labels
from analysis.uncertainty import DEFAULT_ANSWER_THRESHOLD, DEFAULT_DISTANCE_THRESHOLD

PAIRS = Path(__file__).resolve().parents[1] / "data" / "answer_pairs.jsonl"


def pairs_as_samples():
    """Each labelled pair as one prompt with two samples of model "a", as the page clusters them."""
    pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [(i, "a", k, False, text, -1.0) for i, p in enumerate(pairs) for k, text in enumerate((p["a"], p["b"]))]
    samples = pd.DataFrame(rows, columns=["prompt_id", "model", "sample_id", "is_reference", "text", "mean_logprob"])
    return pairs, samples, [p["prompt"] for p in pairs]


def same_cluster(labels):
    return labels[0::2] == labels[1::2]


def test_the_labelled_set_is_balanced_and_has_contradictions():
    pairs, _, _ = pairs_as_samples()
    assert len(pairs) >= 60 and 0.4 <= np.mean([p["same"] for p in pairs]) <= 0.6
    assert {"entity", "number", "date", "negation", "paraphrase"} <= {p["kind"] for p in pairs}


def test_the_default_answer_aware_clusters_reach_90_percent(encoder):
    pairs, samples, prompts = pairs_as_samples()
    parts = answer_part_texts(samples, prompts)
    labels = embedding_labels(samples, encoder.embed(parts), DEFAULT_ANSWER_THRESHOLD, parts)
    truth = np.array([p["same"] for p in pairs])
    accuracy = float(np.mean(same_cluster(labels) == truth))
    assert accuracy >= 0.90, accuracy
    # The case that started it: whole-answer embeddings merge a contradiction, answer-aware ones do not.
    whole = embedding_labels(samples, encoder.embed(answer_texts(samples)), DEFAULT_DISTANCE_THRESHOLD)
    assert same_cluster(whole)[0] and not same_cluster(labels)[0]
    assert pairs[0]["b"].endswith("Canberra.") and not pairs[0]["same"]
