"""Uncertainty: sample answers from both models, group them by meaning, compare semantic entropy and diversity.

The button samples (backend), embeds the answers (backend) and keeps the
tables in the session; everything drawn afterwards (clustering threshold,
metrics, units, the prompt in detail, exports) reads those tables through
analysis/. Models, torch and the encoders are imported only when the button
is pressed, so the page draws at once.
"""

import time
import uuid

import numpy as np
import pandas as pd
import streamlit as st

from analysis import generation_plots as plots
from analysis import generations as gen
from analysis.schema import to_display_units
from analysis.uncertainty import DEFAULT_DISTANCE_THRESHOLD
from backend.errors import user_message
from backend.corpus.inputs import InputError, read_texts, table_columns
from ui.state import current_specs, units
from ui.markdown import literal
from ui.router import use_router

use_router()  # before drawing anything: see ui/router.py

try:  # the token view's download buttons (PNG/SVG need a local Chromium)
    from ui.downloads import figure_buttons, table_buttons
except ImportError:  # pragma: no cover - a checkout without them: HTML and CSV only
    figure_buttons = table_buttons = None
try:  # the one escaped heatmap renderer
    from analysis import heatmap
except ImportError:  # pragma: no cover
    heatmap = None

NAMES = {"a": "A", "b": "B"}
EXAMPLES = (
    "What is the capital of Australia?\n"
    "Who wrote the novel Frankenstein?\n"
    "What is the boiling point of water at sea level in degrees Fahrenheit?\n"
    "Which planet in the solar system has the most moons?\n"
    "In what year did the Berlin Wall fall?"
)
BASE_FORMAT = "Question: {prompt}\nAnswer:"
METHODS = ("Embeddings (all-MiniLM-L6-v2)", "NLI entailment")
SHOWN_BY_DEFAULT = (
    "discrete_semantic_entropy", "likelihood_semantic_entropy", "naive_predictive_entropy", "n_clusters",
    "reference_mean_entropy", "vendi_embedding", "distinct_2", "self_bleu",
)
RESULT = "unc_result"


# --- inputs ------------------------------------------------------------------------------


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


def settings_from_inputs():
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


# --- the button's work ----------------------------------------------------------------------


def run_sampling(prompts: list[str], raw_settings: dict) -> None:
    """Sample both models, embed the answers, keep the tables. On failure say why; earlier results stay."""
    if not prompts:
        st.error("Nothing to sample: type at least one prompt (one per line) or upload a file.")
        return
    try:
        specs = dict(zip("ab", current_specs()))
    except Exception as error:  # noqa: BLE001 - a bad spec string in the session
        st.error(f"Model choice is not valid: {user_message(error)}")
        return
    started = time.perf_counter()
    with st.status("Sampling…", expanded=True) as status:
        with st.spinner("Starting the model runtime…", show_time=True):
            from backend.models import resident
            from backend.store.samples import cached_sample_prompts
            from backend.sampling.sampler import SampleSettings
        try:
            settings = SampleSettings(**raw_settings)
        except InputError as error:
            status.update(label="Settings are not valid", state="error")
            st.error(f"Sampling settings: {error}")
            return
        bar = st.progress(0.0, text="Sampling…")
        n = len(prompts)
        results, errors, from_store = {}, {}, {}
        for index, (side, spec) in enumerate(specs.items()):
            status.update(label=f"Model {NAMES[side]} ({spec.label}): sampling {n} prompt{'s' if n != 1 else ''}…")

            def progress(done, total, _index=index, _side=side):
                bar.progress(min(1.0, (_index * total + done) / (2 * total)),
                             text=f"Model {NAMES[_side]}: {done:.1f} of {total} prompts "
                                  f"({_index * total + done:.1f} of {2 * total} prompt × model)")

            def load(_spec=spec, _side=side):
                st.write(f"Loading model {NAMES[_side]}: {_spec.label}…")
                return resident.get_model(_spec)

            try:
                with st.spinner(f"Model {NAMES[side]}: {spec.label}", show_time=True):
                    results[side], from_store[side] = cached_sample_prompts(
                        spec, load, prompts, settings, model=side, progress=progress)
                st.write(f"Model {NAMES[side]} ({spec.label}): "
                         + ("found in the sample store" if from_store[side] else "sampled"))
            except Exception as error:  # noqa: BLE001 - ModelLoadError, InputError, anything: one line
                errors[side] = f"{spec.label}: {user_message(error)}"
                st.error(f"Model {NAMES[side]}: {errors[side]}")
        if not results:
            status.update(label="Neither model could sample; the results below are unchanged", state="error")
            return
        samples = pd.concat([r.samples for r in results.values()], ignore_index=True)
        tokens = pd.concat([r.tokens for r in results.values()], ignore_index=True)
        model_inputs = pd.concat([r.prompts for r in results.values()], ignore_index=True)
        bar.progress(1.0, text="Embedding the answers…")
        embeddings = None
        try:
            with st.spinner("Embedding the answers with all-MiniLM-L6-v2…", show_time=True):
                embeddings = resident.get_sentence_encoder().embed(gen.answer_texts(samples))
        except Exception as error:  # noqa: BLE001 - clustering by embeddings is then unavailable
            st.error(f"The sentence encoder failed, so embedding clusters and embedding diversity are unavailable: "
                     f"{user_message(error)}")
        elapsed = time.perf_counter() - started
        status.update(label=f"Sampled in {elapsed:.1f} s" + (" (one model failed: see below)" if errors else ""),
                      state="complete", expanded=False)
    st.session_state[RESULT] = dict(
        id=uuid.uuid4().hex, prompts=list(prompts), samples=samples, tokens=tokens, model_inputs=model_inputs,
        embeddings=embeddings, labels=(specs["a"].label, specs["b"].label), specs=(str(specs["a"]), str(specs["b"])),
        settings=raw_settings, errors=errors, from_store=from_store, elapsed=elapsed,
    )
    st.session_state.pop("_unc_memo", None)


# --- derived tables, remembered per result and clustering -----------------------------------------


def memo(name: str, key, compute):
    store = st.session_state.setdefault("_unc_memo", {})
    if (name, key) not in store:
        store[(name, key)] = compute()
    return store[(name, key)]


def cluster_labels(result: dict, clustering: dict):
    """Labels per sample row, or None with an error shown."""
    samples, embeddings = result["samples"], result["embeddings"]
    if clustering["method"] == "embedding":
        if embeddings is None:
            st.error("No embeddings (the sentence encoder failed): choose NLI clustering, or sample again.")
            return None
        return memo("labels", (result["id"], "embedding", clustering["threshold"]),
                    lambda: gen.embedding_labels(samples, embeddings, clustering["threshold"]))
    key = (result["id"], "nli", clustering["name"], clustering["with_prompt"])
    failed = st.session_state.setdefault("_unc_nli_failed", {})
    if key in failed:
        st.error(failed[key])
        return None
    store = st.session_state.setdefault("_unc_memo", {})
    if ("labels", key) not in store:
        try:
            with st.spinner(f"Loading {clustering['name']} and judging entailment…", show_time=True):
                from backend.models import resident

                entails = resident.get_nli(clustering["name"]).entails_fn()
                prompts = dict(enumerate(result["prompts"])) if clustering["with_prompt"] else None

                def prefetch(texts, prompt):
                    entails.prefetch([t if prompt is None else f"{prompt} {t}" for t in texts])

                store[("labels", key)] = gen.entailment_labels(samples, entails, prompts, on_group=prefetch)
        except Exception as error:  # noqa: BLE001 - offline hub, not an NLI model, ...
            failed[key] = f"NLI clustering with {clustering['name']!r} failed: {user_message(error)}"
            st.error(failed[key])
            return None
    return store[("labels", key)]


# --- drawing ---------------------------------------------------------------------------------


def display_table(wide: pd.DataFrame, metrics, labels, unit: str) -> tuple[pd.DataFrame, dict]:
    """The side-by-side table in display units, with readable headers and tooltips."""
    shown = wide.copy()
    shown["prompt_id"] = shown["prompt_id"] + 1  # prompt 1 is the first, as the selector counts (exports keep the ids)
    config = {"prompt_id": st.column_config.NumberColumn("#", width="small"),
              "prompt": st.column_config.TextColumn("Prompt", width="medium")}
    for metric in metrics:
        info = gen.METRIC_INFO[metric]
        suffix = f" ({unit})" if info["unit"] == "nats" else ""
        for side, name in (("a", f"A · {labels[0]}"), ("b", f"B · {labels[1]}"), ("diff", "A − B")):
            column = f"{metric}_{side}"
            if info["unit"] == "nats":
                shown[column] = to_display_units(shown[column].astype(float), unit)
            fmt = "%d" if metric == "n_clusters" and side != "diff" else "%.3f"
            config[column] = st.column_config.NumberColumn(
                f"{info['label']}{suffix} · {name}", help=f"{info['help']}. Higher: {info['higher']}.", format=fmt)
    return shown, config


def verdict_line(row, labels, unit: str) -> str:
    info = gen.METRIC_INFO[row.metric]
    if row.n_prompts == 0:
        return f"**{info['label']}**: no prompt has values for both models."
    a, b = row.mean_a, row.mean_b
    if info["unit"] == "nats":
        a, b = to_display_units(a, unit), to_display_units(b, unit)
    suffix = f" {unit}" if info["unit"] == "nats" else ""
    if row.prompts_a_higher == row.prompts_b_higher and np.isclose(a, b):
        leader = "neither model"
    else:
        leader = f"**A · {literal(labels[0])}**" if (row.prompts_a_higher, a) > (row.prompts_b_higher, b) else f"**B · {literal(labels[1])}**"
    return (f"{info['label']} higher ({info['higher']}): {leader} — higher on {row.prompts_a_higher} of {row.n_prompts} "
            f"prompts for A, {row.prompts_b_higher} for B; mean {a:.3f}{suffix} (A) vs {b:.3f}{suffix} (B).")


def download_table(table: pd.DataFrame, name: str, key: str) -> None:
    if table_buttons is not None:
        table_buttons(table, name, key)
    else:  # pragma: no cover
        st.download_button(f"{name}.csv", table.to_csv(index=False).encode(), f"{name}.csv", key=f"{key}_csv")


def download_figure(fig, name: str, key: str) -> None:
    if figure_buttons is not None:
        figure_buttons(fig, name, key)
    else:  # pragma: no cover
        st.download_button("HTML", fig.to_html(include_plotlyjs=True).encode(), f"{name}.html", key=f"{key}_html")


def sample_heatmaps(members: pd.DataFrame, tokens: pd.DataFrame, side: str, label: str, unit: str, scale) -> str:
    """One escaped heatmap per sample (coloured by per-token entropy), as one HTML fragment."""
    parts = []
    for sample in members.itertuples(index=False):
        sample_tokens = tokens[(tokens["model"] == side) & (tokens["prompt_id"] == sample.prompt_id)
                               & (tokens["sample_id"] == sample.sample_id)]
        text = str(sample.text)
        ident = f"unc-map-{side}-{sample.prompt_id}-{sample.sample_id}"
        if heatmap is not None and text:
            cells = heatmap.token_cells(text, sample_tokens, "entropy", unit, label)
            parts.append(heatmap.render(text, cells, scale, ident))
        elif heatmap is not None:
            parts.append(heatmap.render("∅ (empty answer)", [], scale, ident))
    return heatmap.fragment("".join(parts)) if heatmap is not None and parts else ""


def prompt_detail(result: dict, labels_by_row, summary: pd.DataFrame, unit: str) -> int:
    """Both models' samples of one prompt, grouped by cluster; returns the prompt shown."""
    samples, tokens, prompts = result["samples"], result["tokens"], result["prompts"]
    names = result["labels"]
    choice = st.selectbox("Prompt", list(range(len(prompts))), key="unc_detail",
                          format_func=lambda i: f"{i + 1}: {prompts[i][:100]}")
    prompt_rows = samples[samples["prompt_id"] == choice]
    scale = None
    if heatmap is not None:
        values = tokens[tokens["prompt_id"] == choice]["entropy"].to_numpy()
        scale = heatmap.scale_for("entropy", unit, values)
    clusters = {}
    columns = st.columns(2)
    for column, side in zip(columns, ("a", "b")):
        label = names[0 if side == "a" else 1]
        with column:
            st.markdown(f"#### {NAMES[side]} · {literal(label)}")
            here = prompt_rows[prompt_rows["model"] == side]
            if here.empty:
                st.info(f"No samples from model {NAMES[side]}.")
                continue
            inputs = result["model_inputs"]
            used = inputs[(inputs["model"] == side) & (inputs["prompt_id"] == choice)]
            if len(used):
                st.caption(("Chat template applied. " if bool(used["chat_template"].iloc[0]) else "No chat template. ")
                           + f"Prompt: {int(used['n_prompt_tokens'].iloc[0])} tokens.")
            reference = here[here["is_reference"]]
            if len(reference):
                st.markdown("**Reference answer** (temperature "
                            f"{result['settings']['reference_temperature']}):")
                st.code(str(reference["text"].iloc[0]).strip() or "∅ (empty)", language=None, wrap_lines=True)
            row = summary[(summary["prompt_id"] == choice) & (summary["model"] == side)]
            if len(row):
                r = row.iloc[0]
                m1, m2, m3 = st.columns(3)
                m1.metric("Clusters", int(r["n_clusters"]))
                m2.metric(f"Semantic entropy ({unit})", f"{to_display_units(r['discrete_semantic_entropy'], unit):.3f}")
                m3.metric(f"Likelihood SE ({unit})", f"{to_display_units(r['likelihood_semantic_entropy'], unit):.3f}")
            table, members = gen.clusters_of(samples, labels_by_row, choice, side)
            clusters[side] = table
            for rank, cluster in enumerate(table.itertuples(index=False), start=1):
                st.markdown(f"**Cluster {rank}** · {int(cluster.size)} sample{'s' if cluster.size != 1 else ''} · "
                            f"share {cluster.frequency:.0%} · likelihood probability {cluster.probability:.3f}")
                in_cluster = members[members["cluster"] == cluster.cluster]
                body = sample_heatmaps(in_cluster, tokens, side, label, unit, scale)
                if body:
                    st.html(body)
                else:
                    for text in in_cluster["text"]:
                        st.text(str(text))
    if scale is not None:
        st.html(heatmap.fragment(heatmap.legend_html(scale)))
    if clusters:
        fig = plots.cluster_bars(clusters, names)
        st.plotly_chart(fig, key="unc_bars")
        download_figure(fig, f"duet-clusters-prompt-{choice + 1}", "unc_bars_dl")
    return choice


def render(result: dict, clustering: dict) -> None:
    unit = units()
    samples, names = result["samples"], result["labels"]
    prompts = dict(enumerate(result["prompts"]))
    for side, line in result["errors"].items():
        st.warning(f"Model {NAMES[side]} has no samples: {line}")
    labels_by_row = cluster_labels(result, clustering)
    if labels_by_row is None and clustering["method"] == "nli" and result["embeddings"] is not None:
        st.info(f"Showing embedding clusters instead (threshold {clustering['threshold']}).")
        clustering = {"method": "embedding", "threshold": clustering["threshold"]}
        labels_by_row = cluster_labels(result, clustering)
    if labels_by_row is None:
        return
    summary = memo("summary", (result["id"], clustering_key(clustering)),
                   lambda: gen.prompt_summary(samples, labels_by_row, result["embeddings"]))
    per_model = memo("per_model", (result["id"], clustering_key(clustering)),
                     lambda: gen.model_summary(samples, summary, result["embeddings"]))

    st.subheader("Which model is more uncertain, and which more diverse?")
    verdict = gen.verdicts(summary, ["discrete_semantic_entropy", "likelihood_semantic_entropy", "vendi_embedding",
                                     "distinct_2"])
    for row in verdict.itertuples(index=False):
        st.markdown("- " + verdict_line(row, names, unit))
    st.caption(f"{len(prompts)} prompts × {result['settings']['n_samples']} samples per model; "
               f"clusters by {'embeddings, threshold ' + str(clustering['threshold']) if clustering['method'] == 'embedding' else 'NLI: ' + clustering['name']}. "
               "Semantic entropy counts meanings, not wordings; diversity counts wordings too.")

    st.subheader("Per prompt, side by side")
    metric_names = list(gen.METRIC_INFO)
    chosen = st.multiselect("Metrics", metric_names, default=list(SHOWN_BY_DEFAULT), key="unc_metrics",
                            format_func=lambda m: gen.METRIC_INFO[m]["label"])
    wide = gen.side_by_side(summary, chosen or ["discrete_semantic_entropy"], prompts)
    shown, config = display_table(wide, chosen or ["discrete_semantic_entropy"], names, unit)
    st.dataframe(shown, column_config=config, hide_index=True, key="unc_table")
    st.caption("Click a column header to sort. A − B > 0: model A is higher on that metric.")

    st.subheader("A against B, one point per prompt")
    scatter_metric = st.selectbox("Metric", metric_names, key="unc_scatter_metric",
                                  format_func=lambda m: gen.METRIC_INFO[m]["label"])
    scatter = plots.scatter_a_vs_b(gen.side_by_side(summary, [scatter_metric], prompts), scatter_metric, names, unit)
    st.plotly_chart(scatter, key="unc_scatter")
    download_figure(scatter, f"duet-{scatter_metric}-a-vs-b", "unc_scatter_dl")

    with st.expander("Each model over all its samples"):
        overall = per_model.copy()
        overall.insert(0, "model name", [names[0] if m == "a" else names[1] for m in overall["model"]])
        for column in overall.columns:
            if column.startswith("mean_") and column[5:] in gen.NATS_COLUMNS:
                overall[column] = to_display_units(overall[column], unit)
        st.dataframe(overall, hide_index=True, key="unc_overall")
        st.caption("mean_…: the per-prompt values averaged over prompts; all_…: diversity of all the model's "
                   f"samples pooled. Entropies in {unit}.")

    st.subheader("One prompt in detail")
    st.caption("Each sample is coloured by the model's next-token entropy at each token (hover for the top "
               "alternatives). Samples are grouped by meaning cluster, largest first.")
    choice = prompt_detail(result, labels_by_row, summary, unit)

    st.subheader("How the clusters change with the threshold")
    if result["embeddings"] is None:
        st.info("Needs embeddings, which are unavailable for these samples.")
    else:
        table = memo("sweep", result["id"], lambda: gen.sweep(samples, result["embeddings"]))
        scope = st.radio("Show", ("Mean over prompts", "The prompt above"), horizontal=True, key="unc_sweep_scope")
        fig = plots.threshold_sweep_figure(table, clustering["threshold"], names, unit,
                                           prompt_id=choice if scope == "The prompt above" else None)
        st.plotly_chart(fig, key="unc_sweep")
        download_figure(fig, "duet-threshold-sweep", "unc_sweep_dl")
        if clustering["method"] == "nli":
            st.caption("These curves are for embedding clusters; the tables above use NLI clusters.")

    st.subheader("Download the data")
    st.caption(f"Entropies and logprobs in nats in every file. Sampled in {result['elapsed']:.1f} s.")
    with_labels = samples.assign(cluster=labels_by_row)
    c1, c2 = st.columns(2)
    with c1:
        download_table(wide, "duet-uncertainty-per-prompt", "unc_dl_wide")
        download_table(summary, "duet-uncertainty-long", "unc_dl_long")
    with c2:
        download_table(with_labels, "duet-samples", "unc_dl_samples")
        download_table(result["tokens"], "duet-sample-tokens", "unc_dl_tokens")


def clustering_key(clustering: dict):
    if clustering["method"] == "embedding":
        return ("embedding", clustering["threshold"])
    return ("nli", clustering["name"], clustering["with_prompt"])


# --- the page --------------------------------------------------------------------------------

st.title("Duet · uncertainty")
try:
    spec_a, spec_b = current_specs()
    st.caption(f"Ask both models the same questions many times. **A** = {literal(spec_a.label)}, **B** = {literal(spec_b.label)}. "
               "Answers that mean the same thing form a cluster; many clusters mean the model is unsure of the "
               "meaning of its answer (semantic entropy, Farquhar et al. 2024).")
except Exception:  # noqa: BLE001 - the sidebar shows what is wrong with the spec
    st.caption("Ask both models the same questions many times; pick them in the sidebar.")

prompts, input_errors = prompts_from_inputs()
for line in input_errors:
    st.error(line)
raw_settings = settings_from_inputs()
clustering = clustering_from_inputs()
if st.button("Sample and compare", type="primary", key="unc_run", icon=":material/play_arrow:"):
    if input_errors:
        st.error("Fix the upload problem above first; the results below are unchanged.")
    else:
        run_sampling(prompts, raw_settings)

result = st.session_state.get(RESULT)
if result is None:
    st.info("Type some questions (one per line) or load the examples, and press **Sample and compare**.")
else:
    st.divider()
    render(result, clustering)
