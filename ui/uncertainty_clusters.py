"""Meaning clusters of the kept samples and the tables derived from them (with every uncertainty estimator), remembered per result and clustering."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from analysis import generations as gen
from analysis import uncertainty_table
from analysis.uncertainty_result import UncertaintyResult
from backend.errors import user_message
from ui.markdown import literal
from ui.sampling import MEMO


@dataclass(frozen=True)
class Clustered:
    """One result's cluster labels (one per sample row) and the summaries computed from them."""

    labels: np.ndarray
    summary: pd.DataFrame  # per prompt and model (analysis.generations.prompt_summary + analysis.uncertainty_table)
    per_model: pd.DataFrame  # per model over all its samples (analysis.generations.model_summary)
    clustering: dict  # the clustering these came from (embedding when NLI failed and fell back)
    similarity: str = "embedding cosine"  # what the graph estimators' similarity matrix W was built from


def memo(name: str, key, compute):
    """compute() once per (name, key) for the result on screen; a new result clears them (ui/sampling.py)."""
    store = st.session_state.setdefault(MEMO, {})
    if (name, key) not in store:
        store[(name, key)] = compute()
    return store[(name, key)]


def clustering_key(clustering: dict) -> tuple:
    if clustering["method"] in ("answer", "embedding"):
        return (clustering["method"], clustering["threshold"])
    return ("nli", clustering["name"], clustering["with_prompt"])


def _nli_labels(result: UncertaintyResult, clustering: dict, key: tuple):
    """Labels by NLI entailment; a model that failed once is not loaded again for the same result."""
    failed = st.session_state.setdefault("_unc_nli_failed", {})
    if key in failed:
        st.error(failed[key])
        return None
    store = st.session_state.setdefault(MEMO, {})
    if ("labels", key) not in store:
        try:
            with st.spinner(f"Loading {clustering['name']} and judging entailment…", show_time=True):
                from backend.models import resident

                entails = resident.get_nli(clustering["name"]).entails_fn()
                prompts = dict(enumerate(result.prompts)) if clustering["with_prompt"] else None

                def prefetch(texts, prompt):
                    entails.prefetch([t if prompt is None else f"{prompt} {t}" for t in texts])

                store[("labels", key)] = gen.entailment_labels(result.samples, entails, prompts, on_group=prefetch)
                # Its memo holds p(entailment) of every pair judged: the graph estimators' W, with no new forward.
                store[("entails", key)] = entails
        except Exception as error:  # noqa: BLE001 - offline hub, not an NLI model, ...
            failed[key] = f"NLI clustering with “{literal(clustering['name'])}” failed: {literal(user_message(error))}"
            st.error(failed[key])
            return None
    return store[("labels", key)]


def answer_parts(result: UncertaintyResult):
    """(answer parts, their embeddings) for answer-aware clusters, embedded once per result; None with an
    error shown when there are no embeddings (the sentence encoder failed)."""
    if result.embeddings is None:
        st.error("No embeddings (the sentence encoder failed): choose NLI clustering, or sample again.")
        return None

    def embed():
        from backend.models import resident

        parts = gen.answer_part_texts(result.samples, result.prompts)
        try:
            return parts, resident.get_sentence_encoder().embed(parts)
        except Exception as error:  # noqa: BLE001 - the encoder worked at sampling; say why it no longer does
            return f"Embedding the answers' own parts failed: {literal(user_message(error))}"

    kept = memo("parts", result.id, embed)
    if isinstance(kept, str):
        st.error(kept)
        return None
    return kept


def cluster_labels(result: UncertaintyResult, clustering: dict):
    """Labels per sample row, or None with an error shown."""
    if clustering["method"] == "answer":
        kept = answer_parts(result)
        if kept is None:
            return None
        parts, embeddings = kept
        return memo("labels", (result.id, "answer", clustering["threshold"]),
                    lambda: gen.embedding_labels(result.samples, embeddings, clustering["threshold"], parts))
    if clustering["method"] == "embedding":
        if result.embeddings is None:
            st.error("No embeddings (the sentence encoder failed): choose NLI clustering, or sample again.")
            return None
        return memo("labels", (result.id, "embedding", clustering["threshold"]),
                    lambda: gen.embedding_labels(result.samples, result.embeddings, clustering["threshold"]))
    return _nli_labels(result, clustering, (result.id, "nli", clustering["name"], clustering["with_prompt"]))


def _estimators(result: UncertaintyResult, clustering: dict):
    """(per-prompt estimator table, what W came from): NLI entailment probabilities when clustered by NLI."""
    if clustering["method"] == "nli":
        key = (result.id, "nli", clustering["name"], clustering["with_prompt"])
        entails = st.session_state.get(MEMO, {}).get(("entails", key))
        if entails is not None:
            prompts = dict(enumerate(result.prompts)) if clustering["with_prompt"] else None
            table = memo("estimators", key, lambda: uncertainty_table.estimator_table(
                result.samples, result.embeddings, entails.probability, prompts))
            return table, f"NLI entailment probabilities ({clustering['name']})"
    # Cosine W does not depend on the threshold: one table per result.
    table = memo("estimators", (result.id, "cosine"),
                 lambda: uncertainty_table.estimator_table(result.samples, result.embeddings))
    return table, "embedding cosine" if result.embeddings is not None else "nothing (no embeddings)"


def clustered(result: UncertaintyResult, clustering: dict) -> Clustered | None:
    """Clusters and summaries; a failed NLI clustering falls back to answer-aware embeddings when there are any."""
    labels = cluster_labels(result, clustering)
    if labels is None and clustering["method"] == "nli" and result.embeddings is not None:
        st.info(f"Showing answer-aware embedding clusters instead (threshold {clustering['threshold']}).")
        clustering = {"method": "answer", "threshold": clustering["threshold"]}
        labels = cluster_labels(result, clustering)
    if labels is None:
        return None
    key = (result.id, clustering_key(clustering))
    estimators, similarity = _estimators(result, clustering)
    summary = memo("summary", key, lambda: uncertainty_table.with_estimators(
        gen.prompt_summary(result.samples, labels, result.embeddings), estimators))
    per_model = memo("per_model", key, lambda: gen.model_summary(result.samples, summary, result.embeddings))
    return Clustered(labels, summary, per_model, clustering, similarity)
