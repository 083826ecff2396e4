"""Uncertainty, A against B: the verdicts, the per-prompt table, the scatter and each model over all its samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from analysis import generation_plots as plots
from analysis import generations as gen
from analysis.schema import to_display_units
from analysis.uncertainty_result import UncertaintyResult
from ui import downloads
from ui.markdown import literal
from ui.uncertainty_clusters import Clustered

VERDICT_METRICS = ["discrete_semantic_entropy", "likelihood_semantic_entropy", "vendi_embedding", "distinct_2"]
SHOWN_BY_DEFAULT = (
    "discrete_semantic_entropy", "likelihood_semantic_entropy", "naive_predictive_entropy", "n_clusters",
    "reference_mean_entropy", "vendi_embedding", "distinct_2", "self_bleu",
)


def display_table(wide: pd.DataFrame, metrics, labels, unit: str) -> tuple[pd.DataFrame, dict]:
    """The side-by-side table in display units, with readable headers and tooltips."""
    shown = wide.copy()
    shown["prompt_id"] = shown["prompt_id"] + 1  # prompt 1 is the first, as the selector counts (exports keep the ids)
    # The prompt stays in view (pinned) while the metrics scroll past; headers say A and B, the
    # model names are in each header's help, so a screen holds several metrics, not one.
    config = {"prompt_id": st.column_config.NumberColumn("#", width="small", pinned=True),
              "prompt": st.column_config.TextColumn("Prompt", width="medium", pinned=True)}
    for metric in metrics:
        info = gen.METRIC_INFO[metric]
        suffix = f" ({unit})" if info["unit"] == "nats" else ""
        for side, name, who in (("a", "A", labels[0]), ("b", "B", labels[1]), ("diff", "A − B", "A minus B")):
            column = f"{metric}_{side}"
            if info["unit"] == "nats":
                shown[column] = to_display_units(shown[column].astype(float), unit)
            fmt = "%d" if metric == "n_clusters" and side != "diff" else "%.3f"
            config[column] = st.column_config.NumberColumn(
                f"{info['label']}{suffix} · {name}", help=f"{who}: {info['help']}. Higher: {info['higher']}.",
                format=fmt)
    return shown, config


THIN_EVIDENCE_PROMPTS = 10  # fewer prompts than this: an interval over prompts says little


def verdict_line(row, labels, unit: str) -> str:
    """One metric's verdict, read from the mean difference (said so), with its interval over prompts and the
    count of prompts won beside it (the two can disagree: a few large differences against many small ones)."""
    info = gen.METRIC_INFO[row.metric]
    if row.n_prompts == 0:
        return f"**{info['label']}**: no prompt has values for both models."
    shown = (lambda v: to_display_units(v, unit)) if info["unit"] == "nats" else (lambda v: v)
    a, b, diff = shown(row.mean_a), shown(row.mean_b), shown(row.mean_diff)
    low, high = shown(row.ci_low), shown(row.ci_high)
    suffix = f" {unit}" if info["unit"] == "nats" else ""
    names = {"a": f"**A · {literal(labels[0])}**", "b": f"**B · {literal(labels[1])}**"}
    leader = "neither model" if np.isclose(a, b) else names["a"] if a > b else names["b"]
    line = (f"**{info['label']}** ({info['higher']} when higher) · by the mean over {row.n_prompts} prompts: "
            f"{leader} higher, {a:.3f}{suffix} (A) vs {b:.3f}{suffix} (B), A − B = {diff:+.3f}{suffix}")
    if np.isfinite(low):
        clear = "excludes 0" if low > 0 or high < 0 else "includes 0: no clear difference"
        line += f", 95% interval {low:+.3f} to {high:+.3f} resampling prompts ({clear})"
    counted = "a" if row.prompts_a_higher > row.prompts_b_higher else "b" if row.prompts_b_higher > row.prompts_a_higher else None
    line += (f". Prompts won: A higher on {row.prompts_a_higher}, B on {row.prompts_b_higher}, "
             f"{row.prompts_tied} tied")
    if counted and leader != "neither model" and names[counted] != leader:
        line += " (the count and the mean disagree)"
    line += "."
    if row.n_prompts < THIN_EVIDENCE_PROMPTS:
        line += f" Only {row.n_prompts} prompt{'s' if row.n_prompts != 1 else ''}: the evidence is thin."
    return line


def verdicts(result: UncertaintyResult, clusters: Clustered, unit: str) -> None:
    """One line per metric, then how the clusters were made."""
    for row in gen.verdicts(clusters.summary, VERDICT_METRICS).itertuples(index=False):
        st.markdown("- " + verdict_line(row, result.labels, unit))
    clustering = clusters.clustering
    by = {"answer": f"answer-aware embeddings, threshold {clustering['threshold']}",
          "embedding": f"whole-answer embeddings, threshold {clustering['threshold']}"}.get(
        clustering["method"], f"NLI: {clustering.get('name')}")
    st.caption(f"{len(result.prompts)} prompts × {result.settings['n_samples']} samples per model; "
               f"clusters by {by}. Semantic entropy counts meanings, not wordings; diversity counts wordings too.")


def per_prompt(result: UncertaintyResult, clusters: Clustered, unit: str) -> pd.DataFrame:
    """The metrics picker and the side-by-side table; returns the table in nats (for the download)."""
    prompts = dict(enumerate(result.prompts))
    chosen = st.multiselect("Metrics", list(gen.METRIC_INFO), default=list(SHOWN_BY_DEFAULT), key="unc_metrics",
                            format_func=lambda m: gen.METRIC_INFO[m]["label"])
    wide = gen.side_by_side(clusters.summary, chosen or ["discrete_semantic_entropy"], prompts)
    shown, config = display_table(wide, chosen or ["discrete_semantic_entropy"], result.labels, unit)
    st.dataframe(shown, column_config=config, hide_index=True, key="unc_table")
    st.caption("Click a column header to sort. A − B > 0: model A is higher on that metric.")
    return wide


def scatter(result: UncertaintyResult, clusters: Clustered, unit: str) -> None:
    metric = st.selectbox("Metric", list(gen.METRIC_INFO), key="unc_scatter_metric",
                          format_func=lambda m: gen.METRIC_INFO[m]["label"])
    wide = gen.side_by_side(clusters.summary, [metric], dict(enumerate(result.prompts)))
    fig = plots.scatter_a_vs_b(wide, metric, result.labels, unit)
    st.plotly_chart(fig, key="unc_scatter")
    downloads.figure_buttons(fig, f"duet-{metric}-a-vs-b", "unc_scatter_dl")


def overall(result: UncertaintyResult, clusters: Clustered, unit: str) -> None:
    """Each model over all its samples: per-prompt means and pooled diversity."""
    names = result.labels
    table = clusters.per_model.copy()
    table.insert(0, "model name", [names[0] if m == "a" else names[1] for m in table["model"]])
    for column in table.columns:
        if column.startswith("mean_") and column[5:] in gen.NATS_COLUMNS:
            table[column] = to_display_units(table[column], unit)
    st.dataframe(table, hide_index=True, key="unc_overall")
    st.caption("mean_…: the per-prompt values averaged over prompts; all_…: diversity of all the model's "
               f"samples pooled. Entropies in {unit}.")
