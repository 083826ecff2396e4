"""Per-prompt uncertainty and diversity of two models' sampled answers: the tables the uncertainty page shows.

Input is the samples table that backend/sampling/sampler.py returns (one row per
sample: prompt_id, model, sample_id, is_reference, text, mean_logprob,
mean_entropy, ...) and, where needed, `embeddings`: an [n_rows, dim] array
aligned with the table's rows by position. The reference answer (is_reference)
is never clustered nor counted in diversity: it only gives the reference
answer's mean token entropy. Entropies are in nats.

Answers are compared after stripping surrounding whitespace (" Paris" and
"Paris\\n" are the same answer): `answer_texts`. Answer-aware clusters embed
`answer_part_texts` instead (the part of each answer that is its own, per
prompt and model: analysis/answer_text.py) and keep its must_differ pairs apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.answer_text import answer_parts, must_differ
from analysis.metrics import at_level
from analysis.metrics import find as find_metric  # `metrics` is a parameter name here
from analysis.diversity import DIVERSITY_METRICS, diversity_summary
from analysis.resampling import cluster_mean
from analysis.uncertainty import (
    DEFAULT_SWEEP_THRESHOLDS,
    UNCERTAINTY_METRICS,
    cluster_by_embedding,
    cluster_by_entailment,
    cluster_table,
    threshold_sweep,
    uncertainty_summary,
)

NOT_CLUSTERED = -1  # the label of reference answers

# The per-prompt metrics, in picker order, with their label, unit and help: declared in analysis/metrics.py.
PROMPT_METRICS = tuple(m.name for m in at_level("prompt"))
DIVERSITY_COLUMNS = tuple(m for m in DIVERSITY_METRICS if m != "n_samples")
UNCERTAINTY_COLUMNS = tuple(m for m in PROMPT_METRICS if m not in DIVERSITY_COLUMNS)
# unit "nats" columns follow the page's nats/bits toggle.
NATS_COLUMNS = tuple(m for m in PROMPT_METRICS if find_metric(m).unit == "nats")
# The registry's facts as the uncertainty page reads them (label, unit, higher, help), kept for that page
# until it reads analysis.metrics itself.
METRIC_INFO = {
    m.name: dict(label=m.label, unit=m.unit, higher=m.higher, help=m.help) for m in at_level("prompt")
}


def answer_texts(samples: pd.DataFrame) -> list[str]:
    return [str(t).strip() for t in samples["text"]]


def _groups(samples: pd.DataFrame):
    """(prompt_id, model, row positions of the N samples, row position of the reference or None)."""
    positions = pd.RangeIndex(len(samples))
    keys = samples[["prompt_id", "model"]].drop_duplicates()
    for prompt_id, model in keys.itertuples(index=False):
        here = ((samples["prompt_id"] == prompt_id) & (samples["model"] == model)).to_numpy()
        is_ref = samples["is_reference"].to_numpy(dtype=bool)
        reference = positions[here & is_ref]
        yield prompt_id, model, positions[here & ~is_ref].to_numpy(), (int(reference[0]) if len(reference) else None)


def answer_part_texts(samples: pd.DataFrame, prompts: Sequence[str] | Mapping[int, str]) -> list[str]:
    """[n_rows] the part of each answer to embed for answer-aware clusters, stripped against its
    prompt (prompts[prompt_id]) and the other samples of its (prompt, model). A reference answer,
    never clustered, keeps its whole text."""
    texts = answer_texts(samples)
    parts = list(texts)
    for prompt_id, _, rows, _ in _groups(samples):
        for i, part in zip(rows, answer_parts(prompts[int(prompt_id)], [texts[i] for i in rows])):
            parts[i] = part
    return parts


def _apart(parts: Sequence[str] | None, rows) -> np.ndarray | None:
    return None if parts is None else np.array(must_differ([parts[i] for i in rows]), dtype=bool).reshape(len(rows), len(rows))


def _check_aligned(samples: pd.DataFrame, embeddings: np.ndarray | None) -> None:
    if embeddings is not None and np.asarray(embeddings).shape[0] != len(samples):
        raise ValueError(f"{np.asarray(embeddings).shape[0]} embeddings for {len(samples)} sample rows")


# --- meaning clusters ------------------------------------------------------------


def embedding_labels(samples: pd.DataFrame, embeddings: np.ndarray, threshold: float,
                     parts: Sequence[str] | None = None) -> np.ndarray:
    """[n_rows] cluster label of every sample within its (prompt, model); references get NOT_CLUSTERED.

    parts: `answer_part_texts` when `embeddings` are theirs (answer-aware clusters): its must_differ
    pairs are kept apart. Identical answers share a cluster either way.
    """
    _check_aligned(samples, embeddings)
    embeddings = np.asarray(embeddings)
    texts = answer_texts(samples)
    labels = np.full(len(samples), NOT_CLUSTERED, dtype=np.int64)
    for _, _, rows, _ in _groups(samples):
        if len(rows):
            labels[rows] = cluster_by_embedding(embeddings[rows], threshold, [texts[i] for i in rows],
                                                _apart(parts, rows))
    return labels


def entailment_labels(
    samples: pd.DataFrame,
    entails: Callable[[str, str], bool],
    prompts: Mapping[int, str] | None = None,
    on_group: Callable[[list[str], str | None], None] | None = None,
) -> np.ndarray:
    """Like embedding_labels, by strict bidirectional entailment.

    prompts: prompt_id -> prompt text; when given, each answer is judged with
    its question before it (Farquhar et al.'s condition_on_question).
    on_group(texts, prompt): called before each group is clustered (to batch
    the NLI calls, or to report progress).
    """
    texts = answer_texts(samples)
    labels = np.full(len(samples), NOT_CLUSTERED, dtype=np.int64)
    for prompt_id, _, rows, _ in _groups(samples):
        if not len(rows):
            continue
        group = [texts[i] for i in rows]
        prompt = None if prompts is None else prompts[int(prompt_id)]
        if on_group is not None:
            on_group(group, prompt)
        labels[rows] = cluster_by_entailment(group, entails, prompt)
    return labels


# --- per-prompt and per-model tables ----------------------------------------------


def prompt_summary(samples: pd.DataFrame, labels: np.ndarray, embeddings: np.ndarray | None = None) -> pd.DataFrame:
    """One row per (prompt_id, model): every uncertainty and diversity metric, and the reference answer."""
    _check_aligned(samples, embeddings)
    texts = answer_texts(samples)
    mean_logprob = samples["mean_logprob"].to_numpy(dtype=float)
    mean_entropy = samples["mean_entropy"].to_numpy(dtype=float)
    records = []
    for prompt_id, model, rows, reference in _groups(samples):
        record = {"prompt_id": int(prompt_id), "model": model}
        record.update(uncertainty_summary(labels[rows], mean_logprob[rows]))
        record["reference_mean_entropy"] = math.nan if reference is None else float(mean_entropy[reference])
        record["reference_text"] = "" if reference is None else texts[reference]
        diversity = diversity_summary([texts[i] for i in rows], None if embeddings is None else np.asarray(embeddings)[rows])
        record.update({k: v for k, v in diversity.items() if k != "n_samples"})
        records.append(record)
    columns = ["prompt_id", "model", *UNCERTAINTY_METRICS, "reference_mean_entropy", "reference_text", *DIVERSITY_COLUMNS]
    return pd.DataFrame(records, columns=columns).sort_values(["prompt_id", "model"], ignore_index=True)


def model_summary(samples: pd.DataFrame, summary: pd.DataFrame, embeddings: np.ndarray | None = None) -> pd.DataFrame:
    """One row per model: the per-prompt metrics averaged over prompts, and diversity over ALL its samples.

    Columns: model, n_prompts, mean_<metric> for every per-prompt metric, and
    all_<diversity metric> computed over the model's samples of every prompt
    together (how varied the model is across the whole set).
    """
    _check_aligned(samples, embeddings)
    texts = answer_texts(samples)
    records = []
    for model, per_prompt in summary.groupby("model", sort=False):
        record = {"model": model, "n_prompts": int(len(per_prompt))}
        for metric in PROMPT_METRICS:
            if metric in per_prompt.columns:  # the added estimators join the summary later (analysis/uncertainty_table.py)
                record[f"mean_{metric}"] = float(per_prompt[metric].astype(float).mean())
        rows = np.flatnonzero((samples["model"] == model).to_numpy() & ~samples["is_reference"].to_numpy(dtype=bool))
        overall = diversity_summary([texts[i] for i in rows], None if embeddings is None else np.asarray(embeddings)[rows])
        record.update({f"all_{k}": v for k, v in overall.items()})
        records.append(record)
    return pd.DataFrame(records)


def side_by_side(summary: pd.DataFrame, metrics: Sequence[str], prompts: Mapping[int, str] | None = None,
                 models: tuple[str, str] = ("a", "b")) -> pd.DataFrame:
    """One row per prompt: <metric>_a, <metric>_b and <metric>_diff (= a - b) for each metric.

    A prompt one model has no samples for gets NaN on that side.
    """
    a, b = models
    wide = summary.pivot(index="prompt_id", columns="model", values=list(metrics))
    out = pd.DataFrame(index=wide.index)
    if prompts is not None:
        out["prompt"] = [prompts.get(int(i), "") for i in wide.index]
    for metric in metrics:
        side_a = wide[(metric, a)].astype(float) if (metric, a) in wide.columns else pd.Series(np.nan, index=wide.index)
        side_b = wide[(metric, b)].astype(float) if (metric, b) in wide.columns else pd.Series(np.nan, index=wide.index)
        out[f"{metric}_{a}"] = side_a
        out[f"{metric}_{b}"] = side_b
        out[f"{metric}_diff"] = side_a - side_b
    return out.reset_index()


def verdicts(summary: pd.DataFrame, metrics: Sequence[str], models: tuple[str, str] = ("a", "b")) -> pd.DataFrame:
    """Which model is higher on each metric: means over prompts, a count of prompts won, and an interval.

    Columns: metric, mean_a, mean_b, prompts_a_higher, prompts_b_higher,
    prompts_tied, n_prompts (prompts where both are defined), higher (what a
    higher value means, from analysis/metrics.py), mean_diff (mean of A − B per
    prompt), ci_low, ci_high (its 95% interval, resampling prompts: each prompt is
    its own cluster in resampling.cluster_mean; NaN with under 2 prompts). Means
    are over the prompts where both models have a value, so they compare like with
    like. The mean and the count can disagree (a few large differences against many
    small ones): the page shows both and says which one its verdict reads.
    """
    a, b = models
    wide = side_by_side(summary, metrics, models=models)
    rows = []
    for metric in metrics:
        va, vb = wide[f"{metric}_{a}"].to_numpy(), wide[f"{metric}_{b}"].to_numpy()
        both = ~(np.isnan(va) | np.isnan(vb))
        va, vb = va[both], vb[both]
        close = np.isclose(va, vb, rtol=1e-9, atol=1e-9)
        diff = cluster_mean(va - vb, np.arange(len(va)))
        rows.append({
            "metric": metric,
            "mean_a": float(va.mean()) if both.any() else math.nan,
            "mean_b": float(vb.mean()) if both.any() else math.nan,
            "prompts_a_higher": int(np.sum((va > vb) & ~close)),
            "prompts_b_higher": int(np.sum((vb > va) & ~close)),
            "prompts_tied": int(np.sum(close)),
            "n_prompts": int(both.sum()),
            "higher": m.higher if (m := find_metric(metric)) else "",
            "mean_diff": diff.mean,
            "ci_low": diff.ci_low,
            "ci_high": diff.ci_high,
        })
    return pd.DataFrame(rows)


# --- one prompt in detail ---------------------------------------------------------------


def clusters_of(samples: pd.DataFrame, labels: np.ndarray, prompt_id: int, model: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(clusters, members) of one prompt and model.

    clusters: cluster, size, frequency, probability (as analysis.uncertainty.cluster_table),
    sorted by size then probability, largest first. members: that group's sample rows
    (row = position in samples) with their cluster, in cluster order.
    """
    here = ((samples["prompt_id"] == prompt_id) & (samples["model"] == model)).to_numpy() & ~samples["is_reference"].to_numpy(dtype=bool)
    rows = np.flatnonzero(here)
    group_labels = np.asarray(labels)[rows]
    table = cluster_table(group_labels, samples["mean_logprob"].to_numpy(dtype=float)[rows])
    table = table.sort_values(["size", "probability", "cluster"], ascending=[False, False, True], ignore_index=True)
    members = samples.iloc[rows].assign(row=rows, cluster=group_labels)
    order = {c: i for i, c in enumerate(table["cluster"])}
    members = members.assign(_order=members["cluster"].map(order)).sort_values(["_order", "sample_id"]).drop(columns="_order")
    return table, members.reset_index(drop=True)


def sweep(samples: pd.DataFrame, embeddings: np.ndarray, thresholds: Sequence[float] = DEFAULT_SWEEP_THRESHOLDS,
          parts: Sequence[str] | None = None) -> pd.DataFrame:
    """Embedding clusters at every threshold, per (prompt_id, model): threshold_sweep's rows with the keys.
    parts: as in embedding_labels."""
    _check_aligned(samples, embeddings)
    embeddings = np.asarray(embeddings)
    texts = answer_texts(samples)
    mean_logprob = samples["mean_logprob"].to_numpy(dtype=float)
    frames = []
    for prompt_id, model, rows, _ in _groups(samples):
        if not len(rows):
            continue
        frame = threshold_sweep(embeddings[rows], [texts[i] for i in rows], thresholds, mean_logprob[rows],
                                _apart(parts, rows))
        frames.append(frame.assign(prompt_id=int(prompt_id), model=model))
    if not frames:
        return pd.DataFrame(columns=["prompt_id", "model", "threshold", "n_clusters",
                                     "discrete_semantic_entropy", "likelihood_semantic_entropy"])
    out = pd.concat(frames, ignore_index=True)
    return out[["prompt_id", "model", *[c for c in out.columns if c not in ("prompt_id", "model")]]]
