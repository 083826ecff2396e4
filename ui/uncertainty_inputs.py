"""The uncertainty page's inputs: the prompts (typed or uploaded) with their gold answers, the sampling settings and the clustering."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import streamlit as st

from analysis.uncertainty import DEFAULT_ANSWER_THRESHOLD, DEFAULT_DISTANCE_THRESHOLD
from analysis.uncertainty_correctness import split_gold
from backend.corpus.inputs import InputError, decode_utf8, read_texts, table_columns
from ui import jobs
from ui.sampling import KIND

EXAMPLES = (
    "What is the capital of Australia?\n"
    "Who wrote the novel Frankenstein?\n"
    "What is the boiling point of water at sea level in degrees Fahrenheit?\n"
    "Which planet in the solar system has the most moons?\n"
    "In what year did the Berlin Wall fall?"
)
BASE_FORMAT = "Question: {prompt}\nAnswer:"
METHODS = ("Answer-aware embeddings", "Embeddings of whole answers", "NLI entailment")
QUESTIONS_WITH_ANSWERS = Path(__file__).resolve().parents[1] / "data" / "example_questions.csv"
ANSWER_COLUMN = "answer"


def _load_examples() -> None:
    st.session_state["unc_text"] = EXAMPLES
    st.session_state["unc_mode"] = "Type"


def _load_questions_with_answers() -> None:
    """The shipped question set as "question<TAB>answer" lines in the prompt box."""
    with open(QUESTIONS_WITH_ANSWERS, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    st.session_state["unc_text"] = "\n".join(f"{row['text']}\t{row[ANSWER_COLUMN]}" for row in rows)
    st.session_state["unc_mode"] = "Type"


def _table(data: bytes, name: str) -> pd.DataFrame:
    """A .csv or .jsonl upload as strings, every row kept (prompts and answers must stay aligned)."""
    text = decode_utf8(data, name)
    try:
        if name.lower().endswith(".csv"):
            return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        return pd.DataFrame.from_records([json.loads(line) for line in text.splitlines() if line.strip()])
    except (ValueError, TypeError, pd.errors.ParserError) as error:
        raise InputError(f"{name} could not be parsed: {str(error).splitlines()[0]}") from None


def _with_answers(data: bytes, name: str, column: str) -> tuple[list[str], list[str]]:
    """(prompts, gold answers) from the prompt column and the `answer` column; rows with no prompt dropped."""
    frame = _table(data, name)
    pairs = [(str(q).strip(), "" if a is None or (isinstance(a, float) and a != a) else str(a).strip())
             for q, a in zip(frame[column], frame[ANSWER_COLUMN]) if isinstance(q, str) and q.strip()]
    if not pairs:
        raise InputError(f"{name} contains no text")
    return [q for q, _ in pairs], [a for _, a in pairs]


def prompts_from_inputs() -> tuple[list[str], list[str] | None, list[str]]:
    """(prompts, gold answers or None, error lines).

    Typed: one prompt per line, "question<TAB>answer" for a gold answer. Uploaded: a .csv /
    .jsonl `answer` column next to the prompts gives them.
    """
    mode = st.radio("Prompts", ("Type", "Upload"), horizontal=True, key="unc_mode", label_visibility="collapsed")
    if mode == "Type":
        c1, c2 = st.columns(2)
        c1.button("Load five example questions", key="unc_examples", on_click=_load_examples,
                  icon=":material/quiz:")
        c2.button("Load example questions with answers", key="unc_examples_gold", on_click=_load_questions_with_answers,
                  icon=":material/fact_check:",
                  help="40 short factual questions with gold answers: the page then shows each model's accuracy and "
                       "which uncertainty estimator predicts its errors.")
        text = st.text_area("Prompts, one per line (question, a tab, its gold answer — optional)", key="unc_text",
                            height=150, placeholder="What is the capital of France?\tParis\nWho painted the Mona Lisa?")
        prompts, answers = split_gold((text or "").splitlines())
        return prompts, answers, []
    upload = st.file_uploader("A .txt file (one prompt per line), or a .csv / .jsonl with a text column "
                              f"(and an optional '{ANSWER_COLUMN}' column of gold answers)",
                              type=["txt", "csv", "jsonl"], key="unc_upload")
    if upload is None:
        return [], None, []
    data, name = upload.getvalue(), upload.name
    try:
        column = "text"
        if name.lower().endswith((".csv", ".jsonl")):
            columns = table_columns(data, name)
            choices = [c for c in columns if c != ANSWER_COLUMN] or columns
            column = st.selectbox("Column with the prompts", choices, key="unc_column",
                                  index=choices.index("text") if "text" in choices else 0)
            if ANSWER_COLUMN in columns and column != ANSWER_COLUMN:
                prompts, answers = _with_answers(data, name, column)
                return prompts, answers, []
        return [p.strip() for p in read_texts(data, name, split="line", text_column=column)], None, []
    except InputError as error:
        return [], None, [str(error)]


def settings_from_inputs() -> dict:
    """The sampling settings as keyword arguments of backend.sampling.sampler.SampleSettings."""
    with st.expander("Sampling settings", expanded=False):
        c1, c2, c3 = st.columns(3)
        n_samples = c1.number_input("Samples per prompt", 1, 100, 10, key="unc_n",
                                    help="Answers drawn from each model for each prompt (Farquhar et al. use 10).")
        temperature = c2.number_input("Temperature", 0.05, 5.0, 1.0, step=0.1, key="unc_temperature",
                                      help="1.0 samples from the model's own distribution.")
        top_p = c3.number_input("Top-p", 0.05, 1.0, 1.0, step=0.05, key="unc_top_p",
                                help="1.0 keeps the whole vocabulary.")
        max_new = c1.number_input("Max new tokens", 1, 1024, 64, key="unc_max_new")
        seed = c2.number_input("Seed", 0, 2**31 - 1, 0, key="unc_seed",
                               help="The same seed and settings give the same samples, in any batch.")
        reference_t = c3.number_input("Reference temperature", 0.01, 2.0, 0.1, step=0.05, key="unc_ref_t",
                                      help="One extra near-greedy answer per prompt: the model's best answer.")
        chat = st.checkbox("Use the chat template when the model has one", True, key="unc_chat",
                           help="Instruct models (SmolLM2-Instruct) answer in their chat format; base models "
                                "(Gemma 270M base) have none and get the prompt format below.")
        # A text area, not a one-line input: the default has a line break before "Answer:", which a one-line
        # input hides (it showed "{prompt}Answer:") and drops as soon as the user edits the field.
        prompt_format = st.text_area("Prompt format for models without a chat template", BASE_FORMAT,
                                     key="unc_format", height=68, help="{prompt} is replaced by each prompt.")
        single_line = st.checkbox("Single-line answers (cut at the first newline)", True, key="unc_single",
                                  help="Short factual answers, as in the semantic-entropy papers.")
    return dict(n_samples=int(n_samples), temperature=float(temperature), top_p=float(top_p),
                max_new_tokens=int(max_new), seed=int(seed), reference_temperature=float(reference_t),
                chat_template=bool(chat), single_line=bool(single_line), prompt_format=prompt_format)


def clustering_from_inputs() -> dict:
    """{"method": "answer" | "embedding", "threshold"} or {"method": "nli", "name", "with_prompt", "threshold"}
    (an NLI clustering that fails falls back to answer-aware embeddings at their threshold)."""
    c1, c2 = st.columns([1, 2])
    method = c1.radio("Meaning clusters by", METHODS, key="unc_method",
                      help="Answer-aware embeddings (all-MiniLM-L6-v2) embed only what each answer adds to the "
                           "question and to the other answers (\"…is Sydney.\" / \"…is Canberra.\" → Sydney / "
                           "Canberra), and never merge answers that state different numbers, or yes and no. "
                           "Whole-answer embeddings measure wording as much as meaning, so such answers can land "
                           "in one cluster. NLI entailment (Farquhar et al.) needs an NLI model from the hub or "
                           "a folder.")
    if method == METHODS[0]:
        threshold = c2.slider("Cosine-distance threshold", 0.0, 1.0, DEFAULT_ANSWER_THRESHOLD, 0.01, key="unc_threshold",
                              help="Answers whose parts are on average at most this far apart share a meaning. "
                                   f"{DEFAULT_ANSWER_THRESHOLD} was chosen on labelled answer pairs "
                                   "(bench/clustering_accuracy.py). 0: only identical parts.")
        return {"method": "answer", "threshold": float(threshold)}
    if method == METHODS[1]:
        threshold = c2.slider("Cosine-distance threshold", 0.0, 1.0, DEFAULT_DISTANCE_THRESHOLD, 0.01,
                              key="unc_threshold_whole",
                              help="Answers whose average cosine distance is at most this share a meaning. "
                                   "0: only identical answers; 1: nearly everything merges.")
        return {"method": "embedding", "threshold": float(threshold)}
    name = c2.text_input("NLI model (hub id or folder)", "microsoft/deberta-large-mnli", key="unc_nli",
                         help="Any sequence classifier with an 'entailment' label. Needs the Hugging Face hub or a "
                              "local folder.")
    with_prompt = c2.checkbox("Judge each answer with its question before it", True, key="unc_nli_prompt")
    return {"method": "nli", "name": name.strip(), "with_prompt": bool(with_prompt),
            "threshold": float(st.session_state.get("unc_threshold", DEFAULT_ANSWER_THRESHOLD))}


def waiting_hint(prompts: list[str], answers: list[str] | None) -> str:
    """What to do next while there is no result yet: the sampling can run for many minutes, and a hint to
    type questions and press the button would then read as if nothing had started."""
    if jobs.running(KIND):
        return "The results appear here when the sampling above finishes (it keeps running if you switch pages)."
    if jobs.pending(KIND):
        return "Press **Go on** above to start the sampling, or **Not now**."
    if prompts:
        gold = " with gold answers" if answers and any(a.strip() for a in answers) else ""
        return f"{len(prompts)} prompt{'s' if len(prompts) != 1 else ''}{gold} ready: press **Sample and compare**."
    return "Type some questions (one per line) or load the examples, and press **Sample and compare**."
