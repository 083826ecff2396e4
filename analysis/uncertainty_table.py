"""Every added uncertainty estimator per (prompt, model) of a samples table: one row per group, one column each.

Input is the samples table of backend/sampling/sampler.py (prompt_id, model,
is_reference, text, n_tokens, total_logprob, mean_logprob, ...) and, when
there are any, the answers' sentence embeddings ([n_rows, dim], aligned with
the rows by position). The reference answer feeds the reference estimators
only; the N samples feed the rest. The graph estimators' W comes from NLI
entailment probabilities when `entail_prob` is given, otherwise from the
embeddings' cosine; with neither they are NaN. Registered (label, unit, help)
in analysis/metrics.py; these columns join the per-prompt summary of
analysis/generations.py on (prompt_id, model).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from analysis import uncertainty_estimators as est
from analysis import uncertainty_graph as graph
from analysis.generations import answer_texts
from analysis.metrics import at_level

# The columns `estimator_table` adds, in the order analysis/metrics.py declares them.
ESTIMATOR_COLUMNS = (
    "reference_nll",
    "reference_perplexity",
    "mc_sequence_entropy",
    "lexical_dissimilarity",
    "eigv",
    "degree",
    "eccentricity",
    "kernel_language_entropy",
    "eigenscore",
    "semantic_volume",
)
GRAPH_COLUMNS = ("eigv", "degree", "eccentricity", "kernel_language_entropy")


def estimator_names() -> list[str]:
    """The per-prompt metrics that estimate uncertainty (higher = more uncertain), in registry order.

    The old ones (semantic entropies, naive predictive entropy, meaning clusters, reference
    entropy) and the ones added here; diversity metrics are not uncertainty estimators.
    """
    return [m.name for m in at_level("prompt") if m.higher == "more uncertain"]


def group_estimators(texts: list[str], total_logprobs: np.ndarray, reference: Mapping | None,
                     embeddings: np.ndarray | None, similarity: np.ndarray | None) -> dict:
    """All ESTIMATOR_COLUMNS of one (prompt, model).

    reference: {"total_logprob", "mean_logprob", "n_tokens"} of the reference answer, or None.
    similarity: the samples' W ([N, N]) or None.
    """
    n = len(texts)
    out = {
        "reference_nll": math.nan if reference is None else est.reference_nll(reference["total_logprob"],
                                                                            reference["n_tokens"]),
        "reference_perplexity": math.nan if reference is None else est.reference_perplexity(reference["mean_logprob"]),
        "mc_sequence_entropy": est.mc_sequence_entropy(total_logprobs),
        "lexical_dissimilarity": est.lexical_dissimilarity(texts),
    }
    graph_ok = similarity is not None and n > 0
    out["eigv"] = graph.eigv(similarity) if graph_ok else math.nan
    out["degree"] = graph.degree(similarity) if graph_ok else math.nan
    out["eccentricity"] = graph.eccentricity(similarity) if graph_ok else math.nan
    out["kernel_language_entropy"] = graph.kernel_language_entropy(similarity) if graph_ok else math.nan
    embedded = embeddings is not None and n > 0
    out["eigenscore"] = est.eigenscore(embeddings) if embedded else math.nan
    out["semantic_volume"] = est.semantic_volume(embeddings) if embedded else math.nan
    return out


def estimator_table(samples: pd.DataFrame, embeddings: np.ndarray | None = None,
                    entail_prob: Callable[[str, str], float] | None = None,
                    prompts: Mapping[int, str] | None = None) -> pd.DataFrame:
    """One row per (prompt_id, model) with ESTIMATOR_COLUMNS.

    entail_prob(premise, hypothesis): an NLI model's entailment probability; when given, W is
    built from it (graph.entailment_similarity), each answer after its question when
    `prompts` (prompt_id -> text) is given. Otherwise W is the embeddings' cosine graph.
    """
    if embeddings is not None and np.asarray(embeddings).shape[0] != len(samples):
        raise ValueError(f"{np.asarray(embeddings).shape[0]} embeddings for {len(samples)} sample rows")
    vectors = None if embeddings is None else np.asarray(embeddings, dtype=np.float64)
    texts = answer_texts(samples)
    is_ref = samples["is_reference"].to_numpy(dtype=bool)
    total = samples["total_logprob"].to_numpy(dtype=float)
    mean = samples["mean_logprob"].to_numpy(dtype=float)
    n_tokens = samples["n_tokens"].to_numpy()
    keys = samples[["prompt_id", "model"]].astype(object).to_numpy()
    records = []
    for (prompt_id, model), positions in pd.Series(range(len(samples))).groupby(
            [keys[:, 0], keys[:, 1]], sort=True):
        positions = positions.to_numpy()
        rows = positions[~is_ref[positions]]
        refs = positions[is_ref[positions]]
        reference = None if not len(refs) else {
            "total_logprob": total[refs[0]], "mean_logprob": mean[refs[0]], "n_tokens": int(n_tokens[refs[0]])}
        group_texts = [texts[i] for i in rows]
        group_vectors = None if vectors is None else vectors[rows]
        if entail_prob is not None:
            prompt = None if prompts is None else prompts[int(prompt_id)]
            similarity = graph.entailment_similarity(group_texts, entail_prob, prompt)
        elif group_vectors is not None and len(rows):
            similarity = graph.cosine_similarity_graph(group_vectors)
        else:
            similarity = None
        record = {"prompt_id": int(prompt_id), "model": model}
        record.update(group_estimators(group_texts, total[rows], reference, group_vectors, similarity))
        records.append(record)
    return pd.DataFrame(records, columns=["prompt_id", "model", *ESTIMATOR_COLUMNS])


def with_estimators(summary: pd.DataFrame, estimators: pd.DataFrame) -> pd.DataFrame:
    """The per-prompt summary with the estimator columns joined on (prompt_id, model), its row order kept."""
    keep = summary.drop(columns=[c for c in ESTIMATOR_COLUMNS if c in summary.columns])
    keyed = estimators.astype({"prompt_id": "int64"}).assign(model=estimators["model"].astype(str))
    out = keep.assign(model=keep["model"].astype(str)).merge(keyed, on=["prompt_id", "model"], how="left")
    out["model"] = out["model"].astype(summary["model"].dtype)
    return out
