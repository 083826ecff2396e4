"""Which uncertainty estimator predicts each model's errors: accuracy, AUROC / PRR with intervals, rejection curves."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from analysis import metrics
from analysis import uncertainty_correctness as corr
from analysis import uncertainty_evaluation as ev
from analysis.uncertainty_plots import rejection_curves_figure
from analysis.uncertainty_result import UncertaintyResult
from analysis.uncertainty_table import estimator_names
from ui import downloads
from ui.markdown import literal
from ui.uncertainty_clusters import Clustered, clustering_key, memo

NAMES = {"a": "A", "b": "B"}
ROW_PX = 35  # st.dataframe's row height


def has_gold(result: UncertaintyResult) -> bool:
    return bool(result.answers) and any(corr.gold_alternatives(a) for a in result.answers)


def _interval(value: float, low: float, high: float) -> str:
    if math.isnan(value):
        return "—"
    return f"{value:.2f}" + ("" if math.isnan(low) else f" [{low:.2f}, {high:.2f}]")


def grid_height(n_rows: int) -> int:
    """Pixels for a table of n_rows and its header with no inner scroll bar."""
    return ROW_PX * (n_rows + 1) + 3


def estimator_grid(evaluation: pd.DataFrame) -> pd.DataFrame:
    """Estimators × (model A, model B): "AUROC [low, high]" and "PRR [low, high]" as text, one row per estimator.

    Columns are named by the model's letter only: with the labels in them ("AUROC · A · smollm2-135m
    (bos <|endoftext|>)") the four columns did not fit the page and model B's PRR was cut off.
    The caption under the table says which model each letter is.
    """
    rows = []
    for estimator, group in evaluation.groupby("estimator", sort=False):
        row = {"estimator": metrics.get(estimator).label}
        for side in "ab":
            here = group[group["model"] == side]
            r = here.iloc[0] if len(here) else None
            row[f"AUROC · {NAMES[side]}"] = "—" if r is None else _interval(r.auroc, r.auroc_low, r.auroc_high)
            row[f"PRR · {NAMES[side]}"] = "—" if r is None else _interval(r.prr, r.prr_low, r.prr_high)
        rows.append(row)
    return pd.DataFrame(rows)


def _accuracy(accuracy: pd.DataFrame, labels: tuple[str, str]) -> None:
    for column, side, label in zip(st.columns(2), "ab", labels):
        here = accuracy[accuracy["model"] == side]
        if not len(here) or here.iloc[0]["n_prompts"] == 0:
            column.metric(f"{NAMES[side]} · {label}: accuracy", "—")
            continue
        row = here.iloc[0]
        column.metric(f"{NAMES[side]} · {label}: accuracy", f"{row.accuracy:.0%}",
                      help="Share of prompts whose low-temperature reference answer is correct.")
        column.caption(f"{int(round(row.accuracy * row.n_prompts))} of {row.n_prompts} reference answers correct; "
                       f"{row.sample_accuracy:.0%} of the sampled answers.")


def sentence_hints(squad: pd.DataFrame, contains: pd.DataFrame, labels: tuple[str, str]) -> list[str]:
    """A line per model whose reference answers contain the gold answer far more often than they pass
    a SQuAD rule: long answers ("Paris is the capital and largest city of France, known for ...") fail
    token F1 ≥ 0.5 against "Paris" even after the question's words are removed, and under SQuAD as
    published so does "The capital of France is Paris." (F1 0.33)."""
    lines = []
    for side, label in zip("ab", labels):
        strict = squad[squad["model"] == side]["correct"].dropna()
        loose = contains[contains["model"] == side]["correct"].dropna()
        n_strict, n_loose = int(strict.sum()), int(loose.sum())
        if len(loose) and n_loose - n_strict >= max(2, 0.25 * len(loose)):
            lines.append(f"{NAMES[side]} · {literal(label)}: {n_loose} of {len(loose)} reference answers contain the "
                         f"gold answer, but only {n_strict} pass the rule chosen above (token F1 ≥ 0.5 favours short "
                         "answers) — its answers are long, or cut off by the token limit. Choose **the answer contains the gold answer** above to judge it by content.")
    return lines


def _best(evaluation: pd.DataFrame, labels: tuple[str, str]) -> dict[str, str]:
    best = ev.best_estimators(evaluation)
    for side, label in zip("ab", labels):
        if side not in best:
            st.markdown(f"- **{NAMES[side]} · {literal(label)}**: no estimator can be judged (it needs both right "
                        "and wrong answers among the prompts with gold).")
            continue
        r = evaluation[(evaluation["model"] == side) & (evaluation["estimator"] == best[side])].iloc[0]
        st.markdown(f"- **{NAMES[side]} · {literal(label)}**: best is **{metrics.get(best[side]).label}** — "
                    f"PRR {_interval(r.prr, r.prr_low, r.prr_high)}, AUROC {_interval(r.auroc, r.auroc_low, r.auroc_high)} "
                    f"over {r.n} prompts ({r.n_wrong} wrong).")
    return best


def show(result: UncertaintyResult, clusters: Clustered) -> None:
    """The section; says how to get it when the prompts came without gold answers."""
    if not has_gold(result):
        st.info("Give the prompts gold answers to see each model's accuracy and which estimator predicts its "
                "errors: type \"question<TAB>answer\" lines, upload a .csv / .jsonl with an `answer` column, or "
                "press **Load example questions with answers**.")
        return
    rule = st.radio("An answer is correct when", list(corr.RULES), format_func=corr.RULES.get, key="unc_rule",
                    horizontal=True,
                    help="The default scores the part of the answer that answers the question: the words it "
                         "repeats from the question are removed first, so \"The capital of France is Paris.\" "
                         "is right against \"Paris\" and \"The capital of Australia is Sydney.\" stays wrong "
                         "against \"Canberra\"; the whole answer is also tried. SQuAD as published scores the "
                         "whole answer only, which calls such sentences wrong (F1 0.33). 'Contains' accepts any "
                         "answer with the gold in it, however long.")
    correct = memo("correct", (result.id, rule),
                   lambda: corr.correctness(result.samples, result.answers, rule, result.prompts))
    per_prompt = corr.correctness_table(result.samples, correct)
    table = clusters.summary.assign(model=clusters.summary["model"].astype(str)).merge(
        per_prompt, on=["prompt_id", "model"], how="left")
    names = estimator_names()
    evaluation = memo("evaluation", (result.id, clustering_key(clusters.clustering), rule),
                      lambda: ev.evaluation_table(table, names))

    _accuracy(ev.accuracy_table(per_prompt), result.labels)
    if rule != "contains":
        contains = memo("correct", (result.id, "contains"),
                        lambda: corr.correctness(result.samples, result.answers, "contains"))
        for line in sentence_hints(per_prompt, corr.correctness_table(result.samples, contains), result.labels):
            st.warning(line, icon=":material/rule:")
    st.markdown("**Which estimator best predicts each model's errors** (highest PRR):")
    best = _best(evaluation, result.labels)
    grid = estimator_grid(evaluation)
    # Every estimator in view: at the default height the last five rows hid behind a scroll bar.
    st.dataframe(grid, hide_index=True, key="unc_eval_table", height=grid_height(len(grid)))
    st.caption(f"**A** = {literal(result.labels[0])}, **B** = {literal(result.labels[1])}. "
               f"Per estimator and model: AUROC (chance 0.5) and PRR (chance 0, oracle 1) of the uncertainty for "
               f"the reference answer being wrong, with {ev.LEVEL:.0%} intervals from {ev.N_BOOT} resamples of the "
               f"prompts (seed {ev.SEED}). Graph estimators use a similarity from {clusters.similarity}.")
    curves = {}
    for side in "ab":
        if side in best:
            group = table[table["model"] == side]
            curves[side] = (metrics.get(best[side]).label,
                            ev.rejection_curve(group[best[side]].to_numpy(float), group["correct"].to_numpy(float)))
    if curves:
        fig = rejection_curves_figure(curves, result.labels)
        st.plotly_chart(fig, key="unc_rejection")
        downloads.figure_buttons(fig, "duet-rejection-curves", "unc_rejection_dl")
    with st.expander("Each prompt's gold answer and reference answers"):
        st.dataframe(_answers_table(result, per_prompt), hide_index=True, key="unc_eval_answers")
    samples = result.samples.assign(gold=[result.answers[int(p)] for p in result.samples["prompt_id"]],
                                    correct=np.asarray(correct, dtype=float))
    c1, c2 = st.columns(2)
    with c1:
        downloads.table_buttons(evaluation, "duet-estimator-evaluation", "unc_dl_eval")
    with c2:
        downloads.table_buttons(samples, "duet-answers-correctness", "unc_dl_correct")


def _answers_table(result: UncertaintyResult, per_prompt: pd.DataFrame) -> pd.DataFrame:
    samples = result.samples
    refs = samples[samples["is_reference"]].assign(model=samples["model"].astype(str))
    out = pd.DataFrame({"#": np.arange(1, len(result.prompts) + 1), "prompt": result.prompts, "gold": result.answers})
    for side in "ab":
        texts = refs[refs["model"] == side].set_index("prompt_id")["text"]
        right = per_prompt[per_prompt["model"] == side].set_index("prompt_id")["correct"]
        out[f"reference {NAMES[side]}"] = [str(texts.get(i, "")).strip() for i in range(len(result.prompts))]
        out[f"correct {NAMES[side]}"] = [right.get(i, np.nan) for i in range(len(result.prompts))]
    return out
