"""Differences: where, and in which contexts, one model beats the other (issue 6).

Pick a run (the result on screen or any saved run). Three views over its word
table, Δ = logprob_A − logprob_B per word (positive: A predicted it better):
leaderboards of the biggest wins each way, aggregates by word group with
bootstrap intervals, and BehaviorBox (a sparse autoencoder over contextual,
performance-aware word vectors) for finer contexts, with feature cards.

UI only: the numbers come from analysis/differences.py, analysis/behaviorbox.py
and backend/behaviorbox/run.py. Torch is imported only when training starts.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from analysis import behaviorbox as B
from analysis import differences as D
from analysis.plots import COLOUR_A, COLOUR_B
from analysis.schema import to_display_units
from backend.behaviorbox import run as R
from backend.errors import user_message
from ui import downloads
from ui.state import ShownResult, current_result, set_result, units
from ui.tables import readable_time
from ui.markdown import literal
from ui.router import use_router

use_router()  # before drawing anything: see ui/router.py

st.header("Differences", anchor=False)
st.caption("Where, and in which contexts, one model predicts the text better than the other. "
           "Δ = log p(word | A) − log p(word | B): positive means **A** predicted the word better, negative **B**. "
           "Words are shared by both models, so different tokenisers compare fairly.")

CURRENT = "__current__"
FEW_WORDS = 1000  # below this, BehaviorBox rarely finds a feature that passes the selection (see the info)
CARD_EXAMPLES = 8  # examples drawn per card; the rest are in the feature table export
# The models' colours everywhere else in Duet (plots, the A − B heatmap): a red B here read as a third model.
COLOURS = {"a": COLOUR_A, "b": COLOUR_B}


# --- which run ------------------------------------------------------------------------

def _run_choices() -> dict[str, str]:
    choices = {}
    shown = current_result()
    if shown is not None and shown.pair is not None:
        n = len(shown.pair.texts)
        choices[CURRENT] = f"On screen now: {n} text{'s' if n != 1 else ''} ({shown.labels[0]} vs {shown.labels[1]})"
    try:
        from backend.store.runs import RunStore

        runs = RunStore().list()
    except Exception as error:  # noqa: BLE001 - the run store is optional here
        st.warning(f"Saved runs unavailable: {user_message(error)}")
        return choices
    for run_id, created, name in zip(runs["id"], runs["created"], runs["name"]):
        if shown is not None and shown.run_id == run_id:
            continue  # already listed as the current result
        choices[run_id] = f"{readable_time(created)} · {name}"
    return choices


def _load_run(run_id: str) -> ShownResult | None:
    """A saved run as a ShownResult, kept in the session so reruns do not reread it."""
    loaded = st.session_state.setdefault("_diff_runs", {})
    if run_id not in loaded:
        from backend.store.runs import RunStore

        try:
            pair, meta = RunStore().load(run_id)
        except Exception as error:  # noqa: BLE001 - RunNotFound, a damaged file
            st.error(f"Could not load run {run_id}: {user_message(error)}")
            return None
        settings = meta.get("settings") or {}
        loaded.clear()  # one saved run in memory at a time: corpora can be large
        loaded[run_id] = ShownResult(pair=pair, model_a=meta.get("model_a", ""), model_b=meta.get("model_b", ""),
                                     settings=settings, errors=dict(settings.get("failed") or {}), run_id=run_id)
    return loaded[run_id]


choices = _run_choices()
if not choices:
    st.info("No results yet. Score texts on the **Token view** (or with `python -m backend score`), "
            "then come back here.")
    st.stop()
choice = st.selectbox("Run", list(choices), format_func=choices.get, key="diff_run",
                      help="The result on screen, or any saved run (the Runs page lists them).")
shown = current_result() if choice == CURRENT else _load_run(choice)
if shown is None:
    st.stop()
pair = shown.pair
label_a, label_b = shown.labels
names = {"a": f"A · {label_a}", "b": f"B · {label_b}"}
unit = units()
run_key = shown.run_id or f"memory-{id(pair)}"
words = pair.words
for side in ("a", "b"):
    if side in shown.errors:
        st.error(f"Model {side.upper()} has no results in this run: {shown.errors[side]}")
n_compared = int(np.isfinite(words["delta"].to_numpy(float)).sum()) if len(words) else 0
n_texts = len(pair.texts)
st.markdown(f"**A** = {literal(label_a)} · **B** = {literal(label_b)} · {n_texts:,} text{'s' if n_texts != 1 else ''} · "
            f"{n_compared:,} words compared · Δ in {unit}")
if n_compared == 0:
    st.info("No word was scored by both models in this run, so there is nothing to compare.")
    st.stop()


def _fmt(value: float, digits: int = 2) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:+.{digits}f}"


def _prob(logprob: float) -> str:
    """A probability for the examples: three decimals, or two significant digits when smaller than 0.001
    (a Δ of 15 nats next to "p 0.000" looked like a division by zero)."""
    if logprob is None or not np.isfinite(logprob):
        return "–"
    p = float(np.exp(logprob))
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def _show_word(word: str) -> str:
    return D.visible(word) if word.isspace() else word


def _context_html(left: str, word: str, right: str, side: str | None) -> str:
    """One example: escaped context, the word marked, newlines shown as ↵."""
    def flat(s: str) -> str:
        return html.escape(s).replace("\n", " ↵ ")

    colour = COLOURS.get(side or "", "#adb5bd")  # a tie: neither model's colour
    return (f"<span style='color:#555'>{flat(left)}</span>"
            f"<mark style='background:{colour}33;border-bottom:2px solid {colour};padding:0 2px'>"
            f"{html.escape(_show_word(word))}</mark><span style='color:#555'>{flat(right)}</span>")


def _context_line(f, cut: float) -> str:
    """The card's verdict of analysis.behaviorbox.context_check, in words (numbers only: nothing to escape)."""
    if "holds_in_context" not in f.index:
        return "**Holds when words are picked by context alone:** unknown (saved before this check)"
    verdict = "yes" if f["holds_in_context"] else "no"
    if int(f["context_n"]) == 0:
        return f"**Holds when words are picked by context alone:** {verdict}, the feature never fires on context alone"
    p = f["context_p"]
    d = float(to_display_units(f["context_median_dlogprob"], unit))
    return (f"**Holds when words are picked by context alone:** {verdict}, "
            f"p = {'–' if not np.isfinite(p) else f'{p:.2g}'} (needs < {cut:.2g}) · "
            f"{int(f['context_n'])} words picked by context, median Δ {_fmt(d)} {unit}, "
            f"{f['winner'].upper()} wins {f['context_consistency']:.0%}")


def _open_token_view(text_id: int, start: int, end: int) -> None:
    """Show this run in the token view at text_id; the word's span goes in session_state["focus"]."""
    if current_result() is not shown:
        set_result(shown)
    st.session_state["tv_text"] = int(text_id)
    st.session_state["focus"] = {"run_id": shown.run_id, "text_id": int(text_id), "char_start": int(start),
                                 "char_end": int(end)}
    st.switch_page("pages/token_view.py")


def _example_rows(rows, key: str) -> None:
    """Examples with their context, both probabilities and Δ, each with a button to open it in the token view.

    rows: a table with text_id, char_start, char_end, logprob_a, logprob_b, left, word_text, right.
    """
    for i, r in enumerate(rows.itertuples(index=False)):
        delta = r.logprob_a - r.logprob_b
        side = "a" if delta > 0 else "b" if delta < 0 else None
        d = float(to_display_units(delta, unit))
        body = (f"<div style='font-size:0.9em;line-height:1.5'>"
                f"<b style='color:{COLOURS.get(side or '', '#555')}'>Δ {_fmt(d)}</b> "
                f"<span style='color:#777'>p<sub>A</sub> {_prob(r.logprob_a)} · "
                f"p<sub>B</sub> {_prob(r.logprob_b)} · text {r.text_id + 1}</span><br>"
                f"{_context_html(r.left, r.word_text, r.right, side)}</div>")
        c1, c2 = st.columns([14, 1], vertical_alignment="center")
        c1.html(body)
        if c2.button("", key=f"{key}_{i}", icon=":material/open_in_new:", help="Open this text in the token view"):
            _open_token_view(r.text_id, r.char_start, r.char_end)


def _ci_text(low: float, high: float, n: int) -> str:
    """The group's interval in display units, or why it has none (D.MIN_CI_WORDS)."""
    if n < D.MIN_CI_WORDS or not (np.isfinite(low) and np.isfinite(high)):
        return f"– (under {D.MIN_CI_WORDS} words)"
    return f"{low:+.3f} to {high:+.3f}"


def _groups_table(view):
    """The group aggregates as the Groups tab shows them: display units, the interval as one readable cell."""
    low = to_display_units(view["ci_low"].to_numpy(float), unit)
    high = to_display_units(view["ci_high"].to_numpy(float), unit)
    return view.assign(
        mean_delta=to_display_units(view["mean_delta"], unit),
        median_delta=to_display_units(view["median_delta"], unit),
        ci=[_ci_text(lo, hi, n) for lo, hi, n in zip(low, high, view["n"])],
        winner=np.where(~view["significant"], "–", np.where(view["mean_delta"] > 0, "A", "B")),
        a_win_share=view["a_win_share"] * 100,  # percent with a fixed format (see the column config)
    )[["family", "group", "n", "mean_delta", "median_delta", "a_win_share", "ci", "significant", "winner"]]


tab_leader, tab_groups, tab_bb = st.tabs(["Leaderboards", "Groups", "BehaviorBox"])

# --- leaderboards -------------------------------------------------------------------------

with tab_leader:
    c1, c2 = st.columns(2)
    n_top = c1.slider("Words per list", 5, 100, 20, key="diff_top_n")
    context = c2.slider("Context (words each side)", 2, 30, 10, key="diff_context")
    boards = {side: D.leaderboard(words, pair.texts, n_top, side, context) for side in ("a", "b")}
    columns = st.columns(2)
    for column, side in zip(columns, ("a", "b")):
        with column:
            other = "b" if side == "a" else "a"
            st.markdown(f"**Where {names[side]} beats {other.upper()} most**")
            board = boards[side]
            wins = board[(board["delta"] > 0) if side == "a" else (board["delta"] < 0)]
            if wins.empty:
                st.info(f"{side.upper()} predicted no word better than {other.upper()}.")
            else:
                _example_rows(wins, f"diff_lb_{side}")
            downloads.table_buttons(board, f"duet-leaderboard-{side}-wins", f"diff_lb_dl_{side}")

# --- groups -------------------------------------------------------------------------------

with tab_groups:
    cache = st.session_state.setdefault("_diff_groups", {})
    if run_key not in cache:
        with st.spinner("Bootstrapping group intervals…"):
            cache.clear()
            cache[run_key] = D.group_aggregates(words)
    agg = cache[run_key]
    c1, c2, c3 = st.columns([3, 2, 1], vertical_alignment="bottom")
    families = c1.multiselect("Families", list(D.GROUPS), default=list(D.GROUPS), key="diff_families",
                              help="\n".join(f"- **{g.name}**: {g.description}" for g in D.GROUPS.values()))
    query = c2.text_input("Filter groups", key="diff_group_filter", placeholder="e.g. the, numbers, p1")
    only_sig = c3.checkbox("Significant only", key="diff_sig", help="95% bootstrap interval of the mean excludes 0")
    view = agg[agg["family"].isin(families)]
    if query:
        view = view[view["group"].str.contains(query, case=False, regex=False)
                    | view["family"].str.contains(query, case=False, regex=False)]
    if only_sig:
        view = view[view["significant"]]
    # A group with no word scored by both models (e.g. first words, when a model has no start token) has no
    # mean to show: left out of the table and chart (the export keeps it), and named below.
    unscored = view[view["n"] == 0]
    view = view[view["n"] > 0]
    table = _groups_table(view)
    st.dataframe(
        table, hide_index=True, width="stretch", key="diff_groups_table",
        column_config={
            "n": st.column_config.NumberColumn("words", help="words with a Δ"),
            "mean_delta": st.column_config.NumberColumn(f"mean Δ ({unit})", format="%+.3f"),
            "median_delta": st.column_config.NumberColumn(f"median Δ ({unit})", format="%+.3f"),
            # Not format="percent": it drops trailing zeros, printing 40% above 57.14% in one column.
            "a_win_share": st.column_config.NumberColumn("A wins (%)", format="%.1f", help="share of words with Δ > 0"),
            # Text, not two number columns: Streamlit prints a missing number as "None", and a group too
            # small for an interval should read as "no interval", not as a value that went missing.
            "ci": st.column_config.TextColumn(f"95% CI ({unit})", help="percentile bootstrap interval of the mean; "
                                              f"only for groups of at least {D.MIN_CI_WORDS} words"),
            "significant": st.column_config.CheckboxColumn("significant", help="the interval excludes 0"),
            "winner": st.column_config.TextColumn("better", help="the model with the higher mean, when significant"),
        },
    )
    n_small = int((view["n"] < D.MIN_CI_WORDS).sum())
    st.caption("Click a column header to sort. Intervals: percentile bootstrap of the mean (1,000 resamples, "
               "seeded per group). Many groups are tested at once: expect about 1 in 20 false 'significant' flags. "
               f"An interval needs at least {D.MIN_CI_WORDS} words: a bootstrap on fewer only repeats their spread, "
               "so smaller groups show their mean and median but no interval, and are never flagged"
               + (f" ({n_small} of the {len(view)} groups listed here)." if n_small else ".")
               + (" Left out, no word in them scored by both models: "
                  # group names hold words of the texts ('#1 "*"'): shown literally, not as markdown
                  + literal(", ".join(f"{f} · {g}" for f, g in zip(unscored["family"], unscored["group"].astype(str))))
                  + "."
                  if len(unscored) else ""))
    if view.empty:
        st.info("No group matches the filters.")
    else:
        labels = (view["family"] + " · " + view["group"].astype(str)).tolist()
        mean = to_display_units(view["mean_delta"].to_numpy(float), unit)
        lo = to_display_units(view["ci_low"].to_numpy(float), unit)
        hi = to_display_units(view["ci_high"].to_numpy(float), unit)
        colour = [COLOURS["a"] if (s and m > 0) else COLOURS["b"] if s else "#999999"
                  for s, m in zip(view["significant"], mean)]
        # A group too small for an interval: an open marker and no bar, so it never reads as a tight interval.
        small = (view["n"] < D.MIN_CI_WORDS).to_numpy()
        interval = np.where(small, f"no interval (under {D.MIN_CI_WORDS} words)", "")
        fig = go.Figure(go.Scatter(
            x=mean, y=labels, mode="markers",
            marker={"color": colour, "size": 9, "symbol": np.where(small, "circle-open", "circle")},
            error_x={"type": "data", "symmetric": False, "array": hi - mean, "arrayminus": mean - lo, "color": "#888"},
            # Object dtype: stacking numbers with the note as one array would turn the numbers into strings.
            customdata=np.array(list(zip(view["n"], view["a_win_share"] * 100, interval)), dtype=object),
            hovertemplate="%{y}<br>mean Δ %{x:+.3f} " + unit + "<br>%{customdata[0]} words, A wins %{customdata[1]:.0f}%"
                          "<br>%{customdata[2]}<extra></extra>",
        ))
        fig.add_vline(x=0, line_color="#444", line_width=1)
        fig.update_layout(
            title=f"Mean Δ by group with 95% CI · A = {label_a}, B = {label_b}",
            xaxis_title=f"mean Δ ({unit}) · right: A better, left: B better",
            yaxis={"autorange": "reversed"}, height=max(320, 22 * len(labels) + 120), margin={"l": 10, "r": 10},
            showlegend=False,
        )
        st.plotly_chart(fig, key="diff_groups_chart", config={"displaylogo": False})
        downloads.figure_buttons(fig, "duet-group-differences", "diff_groups_fig")
    downloads.table_buttons(agg, "duet-group-aggregates", "diff_groups_dl")

# --- BehaviorBox ---------------------------------------------------------------------------

with tab_bb:
    st.caption(
        "BehaviorBox (Tjuatja & Neubig, 2025): each word becomes its contextual embedding (all-MiniLM-L6-v2) joined "
        "with both models' probabilities; a sparse autoencoder splits these into features, and each feature's top "
        "words show a context where one model wins consistently."
    )
    results = st.session_state.setdefault("_diff_bb", {})
    folder = None
    if shown.run_id:
        try:
            folder = R.run_folder_of(shown.run_id)
        except Exception:  # noqa: BLE001 - deleted meanwhile: train in memory only
            folder = None
    if run_key not in results and folder is not None:
        try:
            saved = R.load_behaviorbox(folder)
        except Exception as error:  # noqa: BLE001
            st.warning(f"The saved BehaviorBox result of this run could not be read: {user_message(error)}")
            saved = None
        if saved is not None:
            results[run_key] = saved
    n_usable = len(R.usable_words(words))
    size, k = B.default_sae_size(n_usable)
    steps = R.default_steps(n_usable)
    if n_usable < FEW_WORDS:
        # Training still takes its 2,000 steps (minutes on a CPU), only to find nothing: say so first.
        st.info(f"Only {n_usable:,} words. BehaviorBox looks for contexts that recur across a corpus, and a feature "
                f"needs at least 10 example words; below about {FEW_WORDS:,} words expect few or no features. "
                "Score more text first: on the Token view, upload a file split into one text per paragraph, "
                "or use `python -m backend score`.", icon=":material/info:")
    with st.form("bb_form", border=True):
        st.markdown(f"**Train** on {n_usable:,} words. Defaults scale with the corpus: one feature per 30 words "
                    "(32 to 3,000), k = features / 60 (the paper's 3,000 and 50 from 90,000 words on), "
                    "at least 2,000 steps and 10 passes.")
        c1, c2, c3, c4 = st.columns(4)
        # Keys carry the corpus size: another run gets its own scaled defaults.
        dict_size = c1.number_input("Dictionary size", 8, 20000, size, step=8, key=f"bb_dict_{n_usable}")
        k_in = c2.number_input("k (active features per word)", 1, 500, k, key=f"bb_k_{n_usable}")
        steps_in = c3.number_input("Steps", 10, 200000, steps, step=100, key=f"bb_steps_{n_usable}")
        w = c4.slider("w (weight of the probabilities)", 0.0, 1.0, 0.7, 0.05, key="bb_w",
                      help="0: context only; 1: probabilities only. The paper uses 0.7.")
        with st.expander("More settings"):
            d1, d2, d3, d4 = st.columns(4)
            top = d1.number_input("Top words per feature", 5, 500, 50, key="bb_top")
            pct = d2.number_input("Keep above percentile", 0.0, 99.0, 25.0, key="bb_pct")
            min_frac = d3.number_input("…or this share of the max", 0.0, 1.0, 0.25, key="bb_min_frac")
            seed = d4.number_input("Seed", 0, 2**31 - 1, 0, key="bb_seed")
        train = st.form_submit_button("Train", type="primary", icon=":material/model_training:", key="bb_train")
    if train:
        settings = R.BehaviorBoxSettings(
            dict_size=int(dict_size), k=int(min(k_in, dict_size)), steps=int(steps_in), w=float(w), top=int(top),
            pct=float(pct), min_frac=float(min_frac), seed=int(seed),
        )
        bar = st.progress(0.0, text="Starting…")
        spans = {"embedding": (0.0, 0.3), "training": (0.3, 0.95), "features": (0.95, 1.0)}

        def progress(stage: str, done: int, total: int, note: str) -> None:
            a, b = spans.get(stage, (0.0, 1.0))
            bar.progress(min(1.0, a + (b - a) * (done / total if total else 1.0)), text=note)

        try:
            with st.spinner("Loading the sentence encoder…", show_time=True):
                from backend.models.resident import get_sentence_encoder

                encoder = get_sentence_encoder()
            with st.spinner("Training BehaviorBox…", show_time=True):
                results[run_key] = R.run_behaviorbox(pair, settings, progress, encoder=encoder, run_folder=folder)
            bar.progress(1.0, text="Done")
            st.session_state.pop("_diff_sel", None)
        except Exception as error:  # noqa: BLE001 - shown, and earlier results stay
            bar.empty()
            st.error(f"BehaviorBox training failed: {user_message(error)}"
                     + (" The earlier result below is kept." if run_key in results else ""))
    bb = results.get(run_key)
    if bb is None:
        st.info("Press **Train** to find the contexts where one model beats the other. "
                f"On this machine's CPU that takes roughly a minute per 5,000 words.")
        st.stop()

    s = bb.settings
    total_s = sum(bb.timings.values()) if bb.timings else float("nan")
    loss = bb.history.get("loss") or [float("nan")]
    st.caption(
        f"Trained on {bb.n_words:,} words · dictionary {s.dict_size:,}, k {s.k}, {s.steps:,} steps, w {s.w} · "
        f"final loss {loss[-1]:.4f} · {total_s:.0f} s"
        + (f" (embedding {bb.timings.get('embedding', 0):.0f} s, SAE {bb.timings.get('training', 0):.0f} s)"
           if bb.timings else "")
        + (" · saved with the run" if bb.folder else " · not saved (this result is not a saved run)")
    )
    c1, c2, c3, c4 = st.columns(4)
    min_lp = c1.number_input("min |median Δlogprob| (nats)", 0.0, 50.0, float(s.min_abs_median_logprob), 0.25,
                             key="bb_min_lp", help="A feature is kept when this OR the Δp threshold is passed.")
    min_p = c2.number_input("min |median Δp|", 0.0, 1.0, float(s.min_abs_median_p), 0.05, key="bb_min_p")
    min_ex = c3.number_input("min examples", 1, 500, int(s.min_examples), key="bb_min_ex")
    winner_filter = c4.radio("Winner", ["both", "a", "b"], horizontal=True, key="bb_winner",
                             format_func={"both": "Both", "a": "A wins", "b": "B wins"}.get)
    checked = R.has_context_check(bb)
    n_tested = max(1, len(bb.stats))
    cut = B.CONTEXT_ALPHA / n_tested
    require_context = st.checkbox(
        "Only features that hold when words are picked by context alone", value=bool(s.require_context),
        key="bb_require_context", disabled=not checked,
        help="The autoencoder sees both models' probabilities, so a feature can collect words where chance "
             "favoured one model. This check ranks words by the feature using context only (the probabilities "
             "set to their corpus average) and keeps the feature when its winner still wins on those words: "
             f"one-sided sign test, p < 0.05 / {n_tested:,} features tested = {cut:.2g} (Bonferroni).",
    )
    if not checked:
        st.caption("This result was saved before the context check existed: its features are shown unfiltered "
                   "and the check is unknown. Train again to check them.")
    sel_key = (run_key, id(bb), min_lp, min_p, int(min_ex), require_context)
    cached = st.session_state.get("_diff_sel")
    if cached is None or cached[0] != sel_key:
        cached = (sel_key, R.selected_features(bb, words, pair.texts, min_lp, min_p, int(min_ex),
                                                require_context=require_context))
        st.session_state["_diff_sel"] = cached
    selected = cached[1]
    shown_sel = selected if winner_filter == "both" else selected[selected["winner"] == winner_filter]
    counts = selected["winner"].value_counts()
    st.markdown(f"**{len(selected)}** of {len(bb.stats):,} features that fired pass the selection: "
                f"**{counts.get('a', 0)}** where A ({literal(label_a)}) wins, "
                f"**{counts.get('b', 0)}** where B ({literal(label_b)}) wins.")
    export = shown_sel.assign(winner_model=shown_sel["winner"].map({"a": label_a, "b": label_b}))
    with st.expander("Download the feature tables"):
        st.caption("Selected features (with descriptions and the winning model), then every feature that fired. "
                   "Δ in nats, Δp in probability.")
        downloads.table_buttons(export, "behaviorbox-selected", "bb_dl_sel")
        downloads.table_buttons(bb.stats, "behaviorbox-all", "bb_dl_all")

    if shown_sel.empty:
        st.info("No feature passed the selection"
                + ("" if winner_filter == "both" else f" with {winner_filter.upper()} winning")
                + ". Lower the thresholds above"
                + (", turn off the context check (only to look: without it, chance passes for a difference)"
                   if require_context and checked else "")
                + ", or train with more words or steps.")
        st.stop()

    # Overview: every feature that fired, the selected ones coloured by winner.
    st_all = bb.stats.assign(
        selected=bb.stats["feature"].isin(selected["feature"]),
        holds=bb.stats["holds_in_context"].map({True: "yes", False: "no"}) if checked else "unknown",
    )
    fig = go.Figure()
    for name, part, colour in (("not selected", st_all[~st_all["selected"]], "#bbbbbb"),
                               (f"A wins ({label_a})", st_all[st_all["selected"] & (st_all["winner"] == "a")], COLOURS["a"]),
                               (f"B wins ({label_b})", st_all[st_all["selected"] & (st_all["winner"] == "b")], COLOURS["b"])):
        fig.add_trace(go.Scatter(
            x=to_display_units(part["median_dlogprob"].to_numpy(float), unit), y=part["consistency"], mode="markers",
            name=name, marker={"color": colour, "size": 6 + 10 * np.sqrt(part["n_examples"] / max(1, s.top))},
            customdata=np.stack([part["feature"], part["n_examples"], part["holds"]], axis=1),
            hovertemplate="feature %{customdata[0]}<br>median Δ %{x:+.2f} " + unit
                          + "<br>consistency %{y:.0%}<br>%{customdata[1]} examples"
                          + "<br>holds in context: %{customdata[2]}<extra></extra>",
        ))
    fig.update_layout(title="Features: median Δ of their top words vs. consistency",
                      xaxis_title=f"median Δ ({unit}) · right: A better", yaxis_title="consistency", height=380,
                      yaxis={"tickformat": ".0%"})
    with st.expander("All features at a glance", expanded=False):
        st.plotly_chart(fig, key="bb_overview", config={"displaylogo": False})
        downloads.figure_buttons(fig, "duet-behaviorbox-features", "bb_overview_fig")

    c1, c2 = st.columns([1, 2])
    n_cards = c1.number_input("Cards shown", 1, max(1, len(shown_sel)), min(10, len(shown_sel)), key="bb_cards")
    describers = {"a": f"A · {label_a}", "b": f"B · {label_b}"}
    describer = c2.radio("Model-written descriptions by", list(describers), format_func=describers.get,
                         horizontal=True, key="bb_describer",
                         help="An instruct model (e.g. SmolLM2-135M-Instruct) reads 20 examples in context and "
                              "guesses what they share. A small model's guess: check it against the examples.")
    cards = shown_sel.head(int(n_cards))
    ex_all = R.examples_in_context(bb, words, pair.texts, cards["feature"].tolist(), context_words=10)
    for _, f in cards.iterrows():
        feat = int(f["feature"])
        ex = ex_all[ex_all["feature"] == feat]
        winner = f["winner"]
        with st.container(border=True):
            st.markdown(
                f"#### Feature {feat} · <span style='color:{COLOURS[winner]}'>{html.escape(names[winner])} wins</span>",
                unsafe_allow_html=True,
            )
            m1, m2, m3, m4 = st.columns(4)
            m1.metric(f"median Δ ({unit})", _fmt(float(to_display_units(f["median_dlogprob"], unit))))
            m2.metric("median Δp", _fmt(f["median_dp"], 3))
            m3.metric("consistency", f"{f['consistency']:.0%}", help="share of its examples the winner wins")
            m4.metric("examples", int(f["n_examples"]))
            st.markdown(_context_line(f, cut))
            st.markdown(f"**Automatic description:** {literal(f['description'])}")
            written = bb.model_descriptions.get(feat)
            if written:
                st.info(f"**Model-written** by {literal(written.get('model', '?'))} (a guess, not a measurement): "
                        f"{literal(written.get('text', ''))}", icon=":material/smart_toy:")
            if st.button(f"Ask {describers[describer]} to describe it", key=f"bb_describe_{feat}",
                         icon=":material/smart_toy:"):
                try:
                    from backend.models.resident import get_model
                    from backend.models.specs import ModelSpec

                    spec = ModelSpec.parse(shown.model_a if describer == "a" else shown.model_b)
                    with st.spinner(f"{spec.label} is reading 20 examples…", show_time=True):
                        text = R.describe_with_model(get_model(spec), ex)
                    bb.model_descriptions[feat] = {"text": text, "model": spec.label}
                    R.save_model_descriptions(bb)
                    st.session_state.pop("_diff_sel", None)
                    st.rerun()
                except Exception as error:  # noqa: BLE001
                    st.error(f"No model-written description: {user_message(error)}")
            left, right = st.columns([3, 2])
            with left:
                st.markdown(f"**Top examples** ({min(CARD_EXAMPLES, len(ex))} of {len(ex)})")
                _example_rows(ex.head(CARD_EXAMPLES), f"bb_ex_{feat}")
            with right:
                d = to_display_units(ex["dlogprob"].to_numpy(float), unit)
                hist = go.Figure(go.Histogram(x=d, marker_color=COLOURS[winner], nbinsx=20,
                                              hovertemplate="Δ %{x}<br>%{y} words<extra></extra>"))
                hist.add_vline(x=0, line_color="#444", line_width=1)
                hist.update_layout(title=f"Feature {feat}: Δ of its {len(ex)} examples",
                                   xaxis_title=f"Δ ({unit}) · right: A better", yaxis_title="words", height=260,
                                   margin={"t": 40, "b": 10, "l": 10, "r": 10}, bargap=0.05)
                st.plotly_chart(hist, key=f"bb_hist_{feat}", config={"displaylogo": False})
                downloads.figure_buttons(hist, f"duet-feature-{feat}-delta", f"bb_hist_dl_{feat}")
