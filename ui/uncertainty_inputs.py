"""The uncertainty page's inputs: the prompts (typed or uploaded), the sampling settings and the clustering."""

from __future__ import annotations

import streamlit as st

from analysis.uncertainty import DEFAULT_DISTANCE_THRESHOLD
from backend.corpus.inputs import InputError, read_texts, table_columns

EXAMPLES = (
    "What is the capital of Australia?\n"
    "Who wrote the novel Frankenstein?\n"
    "What is the boiling point of water at sea level in degrees Fahrenheit?\n"
    "Which planet in the solar system has the most moons?\n"
    "In what year did the Berlin Wall fall?"
)
BASE_FORMAT = "Question: {prompt}\nAnswer:"
METHODS = ("Embeddings (all-MiniLM-L6-v2)", "NLI entailment")


def _load_examples() -> None:
    st.session_state["unc_text"] = EXAMPLES
    st.session_state["unc_mode"] = "Type"


def prompts_from_inputs() -> tuple[list[str], list[str]]:
    """(prompts, error lines)."""
    mode = st.radio("Prompts", ("Type", "Upload"), horizontal=True, key="unc_mode", label_visibility="collapsed")
    if mode == "Type":
        st.button("Load five example questions", key="unc_examples", on_click=_load_examples,
                  icon=":material/quiz:")
        text = st.text_area("Prompts, one per line", key="unc_text", height=150,
                            placeholder="What is the capital of France?\nWho painted the Mona Lisa?")
        return [line.strip() for line in (text or "").splitlines() if line.strip()], []
    upload = st.file_uploader("A .txt file (one prompt per line), or a .csv / .jsonl with a text column",
                              type=["txt", "csv", "jsonl"], key="unc_upload")
    if upload is None:
        return [], []
    data, name = upload.getvalue(), upload.name
    try:
        column = "text"
        if name.lower().endswith((".csv", ".jsonl")):
            columns = table_columns(data, name)
            column = st.selectbox("Column with the prompts", columns, key="unc_column",
                                  index=columns.index("text") if "text" in columns else 0)
        return [p.strip() for p in read_texts(data, name, split="line", text_column=column)], []
    except InputError as error:
        return [], [str(error)]


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
        prompt_format = st.text_input("Prompt format for models without a chat template", BASE_FORMAT,
                                      key="unc_format", help="{prompt} is replaced by each prompt.")
        single_line = st.checkbox("Single-line answers (cut at the first newline)", True, key="unc_single",
                                  help="Short factual answers, as in the semantic-entropy papers.")
    return dict(n_samples=int(n_samples), temperature=float(temperature), top_p=float(top_p),
                max_new_tokens=int(max_new), seed=int(seed), reference_temperature=float(reference_t),
                chat_template=bool(chat), single_line=bool(single_line), prompt_format=prompt_format)


def clustering_from_inputs() -> dict:
    """{"method": "embedding", "threshold"} or {"method": "nli", "name", "with_prompt", "threshold"}."""
    c1, c2 = st.columns([1, 2])
    method = c1.radio("Meaning clusters by", METHODS, key="unc_method",
                      help="Embeddings are fast and need nothing from the hub, but they measure wording as much as "
                           "meaning: answers that differ in one key word (\"…is Sydney.\" / \"…is Canberra.\") can "
                           "land in one cluster. NLI entailment (Farquhar et al.) separates them.")
    if method == METHODS[0]:
        threshold = c2.slider("Cosine-distance threshold", 0.0, 1.0, DEFAULT_DISTANCE_THRESHOLD, 0.05, key="unc_threshold",
                              help="Answers whose average cosine distance is at most this share a meaning. "
                                   "0: only identical answers; 1: nearly everything merges.")
        return {"method": "embedding", "threshold": float(threshold)}
    name = c2.text_input("NLI model (hub id or folder)", "microsoft/deberta-large-mnli", key="unc_nli",
                         help="Any sequence classifier with an 'entailment' label. Needs the Hugging Face hub or a "
                              "local folder.")
    with_prompt = c2.checkbox("Judge each answer with its question before it", True, key="unc_nli_prompt")
    return {"method": "nli", "name": name.strip(), "with_prompt": bool(with_prompt),
            "threshold": float(st.session_state.get("unc_threshold", DEFAULT_DISTANCE_THRESHOLD))}
