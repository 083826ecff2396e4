"""How the embedding clusters change with the threshold: mean over prompts, or one prompt."""

from __future__ import annotations

import streamlit as st

from analysis import generation_plots as plots
from analysis import generations as gen
from analysis.uncertainty_result import UncertaintyResult
from ui import downloads
from ui.uncertainty_clusters import Clustered, answer_parts, memo


def show(result: UncertaintyResult, clusters: Clustered, unit: str, prompt_id: int) -> None:
    """prompt_id: the prompt shown in detail above, offered as the second scope."""
    if result.embeddings is None:
        st.info("Needs embeddings, which are unavailable for these samples.")
        return
    # Whole answers when clustered by them; else the answer-aware curves (NLI falls back to those).
    whole = clusters.clustering["method"] == "embedding"
    kept = None if whole else answer_parts(result)
    if kept is None:
        table = memo("sweep", result.id, lambda: gen.sweep(result.samples, result.embeddings))
    else:
        parts, embeddings = kept
        table = memo("sweep", (result.id, "answer"), lambda: gen.sweep(result.samples, embeddings, parts=parts))
    scope = st.radio("Show", ("Mean over prompts", "The prompt above"), horizontal=True, key="unc_sweep_scope")
    fig = plots.threshold_sweep_figure(table, clusters.clustering["threshold"], result.labels, unit,
                                       prompt_id=prompt_id if scope == "The prompt above" else None)
    st.plotly_chart(fig, key="unc_sweep")
    downloads.figure_buttons(fig, "duet-threshold-sweep", "unc_sweep_dl")
    if clusters.clustering["method"] == "nli":
        st.caption("These curves are for answer-aware embedding clusters; the tables above use NLI clusters.")
