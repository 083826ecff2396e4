"""One prompt in detail: both models' samples grouped by meaning cluster, each coloured by its token entropy."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import generation_plots as plots
from analysis import generations as gen
from analysis import heatmap
from analysis.schema import to_display_units
from analysis.uncertainty_result import UncertaintyResult
from ui import downloads
from ui.markdown import literal
from ui.uncertainty_clusters import Clustered

NAMES = {"a": "A", "b": "B"}


def sample_heatmaps(members: pd.DataFrame, tokens: pd.DataFrame, side: str, label: str, unit: str, scale) -> str:
    """One escaped heatmap per sample (coloured by per-token entropy), as one HTML fragment ("" for no sample)."""
    parts = []
    for sample in members.itertuples(index=False):
        sample_tokens = tokens[(tokens["model"] == side) & (tokens["prompt_id"] == sample.prompt_id)
                               & (tokens["sample_id"] == sample.sample_id)]
        text = str(sample.text)
        ident = f"unc-map-{side}-{sample.prompt_id}-{sample.sample_id}"
        if text:
            parts.append(heatmap.render(text, heatmap.token_cells(text, sample_tokens, "entropy", unit, label),
                                        scale, ident))
        else:
            parts.append(heatmap.render("∅ (empty answer)", [], scale, ident))
    return heatmap.fragment("".join(parts)) if parts else ""


def _model_column(result: UncertaintyResult, clusters: Clustered, choice: int, side: str, unit: str, scale):
    """One model's samples of the prompt; returns its cluster table, or None when it has no samples."""
    label = result.labels[0 if side == "a" else 1]
    st.markdown(f"#### {NAMES[side]} · {literal(label)}")
    samples = result.samples
    here = samples[(samples["prompt_id"] == choice) & (samples["model"] == side)]
    if here.empty:
        st.info(f"No samples from model {NAMES[side]}.")
        return None
    inputs = result.model_inputs
    used = inputs[(inputs["model"] == side) & (inputs["prompt_id"] == choice)]
    if len(used):
        st.caption(("Chat template applied. " if bool(used["chat_template"].iloc[0]) else "No chat template. ")
                   + f"Prompt: {int(used['n_prompt_tokens'].iloc[0])} tokens.")
    reference = here[here["is_reference"]]
    if len(reference):
        st.markdown(f"**Reference answer** (temperature {result.settings['reference_temperature']}):")
        st.code(str(reference["text"].iloc[0]).strip() or "∅ (empty)", language=None, wrap_lines=True)
    summary = clusters.summary
    row = summary[(summary["prompt_id"] == choice) & (summary["model"] == side)]
    if len(row):
        r = row.iloc[0]
        m1, m2, m3 = st.columns(3)
        m1.metric("Clusters", int(r["n_clusters"]))
        m2.metric(f"Semantic entropy ({unit})", f"{to_display_units(r['discrete_semantic_entropy'], unit):.3f}")
        m3.metric(f"Likelihood SE ({unit})", f"{to_display_units(r['likelihood_semantic_entropy'], unit):.3f}")
    table, members = gen.clusters_of(samples, clusters.labels, choice, side)
    for rank, cluster in enumerate(table.itertuples(index=False), start=1):
        st.markdown(f"**Cluster {rank}** · {int(cluster.size)} sample{'s' if cluster.size != 1 else ''} · "
                    f"share {cluster.frequency:.0%} · likelihood probability {cluster.probability:.3f}")
        body = sample_heatmaps(members[members["cluster"] == cluster.cluster], result.tokens, side, label, unit, scale)
        if body:
            st.html(body)
    return table


def prompt_detail(result: UncertaintyResult, clusters: Clustered, unit: str) -> int:
    """Both models' samples of one prompt, grouped by cluster; returns the prompt shown."""
    prompts = result.prompts
    choice = st.selectbox("Prompt", list(range(len(prompts))), key="unc_detail",
                          format_func=lambda i: f"{i + 1}: {prompts[i][:100]}")
    tokens = result.tokens
    scale = heatmap.scale_for("entropy", unit, tokens[tokens["prompt_id"] == choice]["entropy"].to_numpy())
    tables = {}
    for column, side in zip(st.columns(2), ("a", "b")):
        with column:
            table = _model_column(result, clusters, choice, side, unit, scale)
            if table is not None:
                tables[side] = table
    st.html(heatmap.fragment(heatmap.legend_html(scale)))
    if tables:
        fig = plots.cluster_bars(tables, result.labels)
        st.plotly_chart(fig, key="unc_bars")
        downloads.figure_buttons(fig, f"duet-clusters-prompt-{choice + 1}", "unc_bars_dl")
    return choice
