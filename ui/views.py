"""The result views, shared by the token view and the runs page: heatmaps, summary, traces, distributions, exports.

Everything here draws from the tables of a ShownResult; nothing calls a
model, so changing a colouring, unit or window is instant.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

from analysis import heatmap, metrics, plots
from analysis.summary import corpus_totals
from ui import calibration_view, downloads
from ui.focus import focus_span, scroll_to_focus
from ui.markdown import literal
from ui.sidebar import unit_controls
from ui.state import ShownResult, current_result, units
from ui.tables import summary_display, text_choices

LEVELS = {"tokens": "Tokens (each model's own)", "words": "Words (shared by both)"}


def _scored_sides(shown: ShownResult) -> tuple[str, ...]:
    """The models with results in this run: both, or the one left when the other failed."""
    present = set(shown.pair.tokens["model"].unique())
    return tuple(side for side in ("a", "b") if side in present)


def _colourings(shown: ShownResult) -> list[str]:
    has_same = shown.same_vocab is not None and len(shown.same_vocab) > 0
    return heatmap.offered_colourings(len(_scored_sides(shown)) == 2, has_same)


def _label(name: str) -> str:
    return metrics.get(name).label


def _one_level(colourings: list[str], level: str, same_vocab: bool) -> list[str]:
    return [_label(c) for c in colourings if heatmap.levels_for(c, same_vocab) == (level,)]


def _model_error(shown: ShownResult, side: str) -> None:
    name = side.upper()
    reason = shown.errors.get(side, "no results for this model")
    st.error(f"Model {name} has no results: {literal(reason)}")


def render_result(shown: ShownResult, prefix: str, link: Callable[[ShownResult], None] | None = None) -> None:
    """Every view of one result, in one fragment: the text picker, units and word probability rerun only the
    views, not the page. A view's own controls (colouring, level, rolling window, tab) rerun only that view
    (fragments inside it). link: called with the result at the top of each run of the views (ui/links.write_link,
    so the address follows a text or units pick)."""
    if shown.settings.get("partial"):
        st.warning(f"Partial result: {shown.settings['partial']} were scored by both models before the scoring "
                   "was cancelled. Press **Score** again to finish: the texts done are in the score cache.",
                   icon=":material/hourglass_bottom:")
    # The session's result is drawn in the word probability picked inside the fragment (ui/state.as_chosen).
    _views(None if shown is current_result() else shown, prefix, link)


@st.fragment
def _views(fixed: ShownResult | None, prefix: str, link) -> None:
    """fixed: a result to draw as given; None: the session's result (ui/state.current_result)."""
    shown = fixed or current_result()  # a pick's callback has already run: the word probability is the new one
    with st.container(horizontal=True, vertical_alignment="bottom"):
        unit_controls()
        if link is not None:
            link(shown)
    texts = shown.pair.texts
    text_id = 0
    if len(texts) > 1:
        choices = text_choices(texts)
        text_id = st.selectbox("Text", list(choices), format_func=choices.get, key=f"{prefix}_text")
    _maps(shown, prefix, text_id)
    _summary(shown)
    _tabs(shown, prefix, text_id)


@st.fragment
def _maps(shown: ShownResult, prefix: str, text_id: int) -> None:
    """The colouring and level pickers, the heatmaps and their HTML exports: a pick reruns only this."""
    pair = shown.pair
    unit = units()
    labels = shown.labels
    texts = pair.texts
    text = texts[text_id]
    left, right = st.columns([3, 2])
    colourings = _colourings(shown)
    colouring = left.radio(
        "Colour by", colourings, format_func=_label, horizontal=True, key=f"{prefix}_colour",
        help=" ".join(f"{_label(c)}: {metrics.get(c).help}" for c in colourings),
    )
    # The level rule is heatmap.levels_for; pair_heatmaps draws a one-level colouring at its level whatever is picked.
    same = shown.same_vocab is not None and len(shown.same_vocab) > 0
    only = {lv: _one_level(colourings, lv, same) for lv in ("token", "word")}
    level = right.radio(
        "Level", list(LEVELS), format_func=LEVELS.get, horizontal=True, key=f"{prefix}_level",
        disabled=len(heatmap.levels_for(colouring, same)) == 1,
        help="Tokens: each model's own tokenisation. Words: the same words for both, so the maps line up."
             + "".join(f" Per {lv} only: {', '.join(names)}." for lv, names in only.items() if names),
    )
    focus = focus_span(shown, text_id)
    maps = heatmap.pair_heatmaps(text, text_id, pair.tokens, pair.words, colouring, level, unit, labels,
                                 shown.same_vocab, focus=focus)
    st.html(heatmap.fragment(maps.legend))
    st.caption("Hover (or tab to) a piece for its probability, entropy, rank and the model's top alternatives.")
    exports_for_maps = []
    if maps.joint:
        st.markdown(f"**A − B** · A = {literal(labels[0])}, B = {literal(labels[1])}")
        st.html(heatmap.fragment(maps.maps[maps.joint]))
        exports_for_maps.append((maps.joint, f"A − B: {labels[0]} vs {labels[1]}", maps.maps[maps.joint]))
        for side in ("a", "b"):
            if side in shown.errors:
                _model_error(shown, side)
    else:
        columns = st.columns(2)
        for column, side, label in zip(columns, ("a", "b"), labels):
            with column:
                st.markdown(f"**{side.upper()} · {literal(label)}**")  # labels come from typed paths
                if side in maps.maps:
                    st.html(heatmap.fragment(maps.maps[side]))
                    exports_for_maps.append((side, f"{side.upper()}: {label}", maps.maps[side]))
                else:
                    _model_error(shown, side)
    if focus is not None:
        st.caption("The marked word is the example you opened.")
        scroll_to_focus()
    if exports_for_maps:
        buttons = st.columns(len(exports_for_maps) + 1)
        for column, (side, title, body) in zip(buttons, exports_for_maps):
            # Built with the view: a deferred (on-click) file was lost when the address changed under it
            # (ui/links.py rewrites it on every run), and the download never came.
            page = heatmap.standalone_html(
                f"Duet · {title} · {_label(colouring)}",
                [("Legend", maps.legend), (title, body)],
                note=f"Text {text_id + 1} of {len(texts)}. Hover a piece for details. Units: {unit}.",
            ).encode("utf-8")
            column.download_button(
                f"Heatmap {side.upper() if side in ('a', 'b') else 'A − B'} (HTML)", data=page,
                file_name=f"duet-heatmap-{side}-{colouring}-text{text_id + 1}.html", mime="text/html",
                key=f"{prefix}_map_{side}", on_click="ignore", icon=":material/download:", width="stretch",
            )


def _summary(shown: ShownResult) -> None:
    pair, texts, labels, unit = shown.pair, shown.pair.texts, shown.labels, units()
    st.subheader("Summary")
    sides = _scored_sides(shown)
    if len(sides) == 1:
        scored, missing = sides[0].upper(), "B" if sides == ("a",) else "A"
        st.info(f"Only model {scored} scored: model {missing} failed (see above), so these numbers are "
                f"{scored}'s alone and nothing compares the two (no words won, no A − B).",
                icon=":material/info:")
    totals = corpus_totals(texts, pair.tokens, pair.words) if len(texts) > 1 else None
    st.dataframe(
        summary_display(pair.summary, texts, labels, unit, totals), hide_index=True, width="stretch",
        column_config={
            "text": st.column_config.TextColumn(pinned=True),
            "model": st.column_config.TextColumn(pinned=True),
            "perplexity": st.column_config.NumberColumn(format="%.2f"),
            "bits per byte": st.column_config.NumberColumn(format="%.3f", help="Comparable across tokenisers"),
            "top-1 (%)": st.column_config.NumberColumn(format="%.1f", help="Share of tokens the model ranked first"),
            f"surprisal ({unit}/token)": st.column_config.NumberColumn(format="%.3f", help="Mean over the model's tokens"),
            f"entropy ({unit})": st.column_config.NumberColumn(format="%.3f", help="Mean over the model's tokens"),
        },
    )
    st.caption("Bits per byte compares models with different tokenisers fairly; per-token numbers do not."
               + (f" The last rows pool all {len(texts)} texts: means over every token, bits over every byte, "
                  "every word counted." if totals is not None else "")
               + (" Words won: words where that model gave the higher probability." if len(sides) == 2 else ""))


@st.fragment
def _tabs(shown: ShownResult, prefix: str, text_id: int) -> None:
    """Traces, distributions, same vocabulary, downloads. Only the open tab's figures are built (a figure
    costs about a second); switching tabs or moving a slider reruns only this."""
    pair, labels, unit, sides = shown.pair, shown.labels, units(), _scored_sides(shown)
    text_words = pair.words[pair.words["text_id"] == text_id]
    text_tokens = pair.tokens[pair.tokens["text_id"] == text_id]
    tab_names = ["Traces", "Distributions"]
    has_same = shown.same_vocab is not None and len(shown.same_vocab)
    if has_same:
        tab_names.append("Same vocabulary")
    tab_names += ["Calibration", "Download data"]
    tabs = dict(zip(tab_names, st.tabs(tab_names, key=f"{prefix}_tabs", on_change="rerun")))
    with tabs["Traces"]:
        window = st.slider("Rolling mean over words", 1, 50, 1, key=f"{prefix}_window",
                           help="Smooths the lines; 1 shows every word.")
        if tabs["Traces"].open is not False:
            for metric in (m.name for m in metrics.traces()):
                fig = plots.word_trace(text_words, metric, unit, window, labels, sides=sides)
                st.plotly_chart(fig, key=f"{prefix}_trace_{metric}", config={"displaylogo": False})
                downloads.figure_buttons(fig, f"duet-{metric}-trace-text{text_id + 1}", f"{prefix}_dl_trace_{metric}")
    with tabs["Distributions"]:
        dist_level = st.radio("Per", ["tokens", "words"], format_func={"tokens": "token (each model's own)",
                              "words": "word (shared)"}.get, horizontal=True, key=f"{prefix}_dist_level")
        if tabs["Distributions"].open is not False:
            fig = plots.distribution(text_tokens, text_words, unit, dist_level, labels)
            st.plotly_chart(fig, key=f"{prefix}_dist", config={"displaylogo": False})
            downloads.figure_buttons(fig, f"duet-surprisal-distribution-text{text_id + 1}", f"{prefix}_dl_dist")
    if has_same:
        with tabs["Same vocabulary"]:
            st.caption("Both models share one vocabulary, so their whole next-token distributions can be compared "
                       "at every position.")
            sv_window = st.slider("Rolling mean over tokens", 1, 50, 1, key=f"{prefix}_sv_window")
            if tabs["Same vocabulary"].open is not False:
                sv = shown.same_vocab[shown.same_vocab["text_id"] == text_id]
                fig = plots.same_vocab_trace(sv, text_tokens[text_tokens["model"] == "a"], unit, sv_window)
                st.plotly_chart(fig, key=f"{prefix}_sv", config={"displaylogo": False})
                downloads.figure_buttons(fig, f"duet-same-vocabulary-text{text_id + 1}", f"{prefix}_dl_sv")
    with tabs["Calibration"]:
        if tabs["Calibration"].open is not False:  # built only when open (a toggle elsewhere reruns the view)
            calibration_view.show(shown, prefix)
    with tabs["Download data"]:
        st.caption("All texts, both models. Values in nats (the storage unit), whatever the display unit.")
        named = dict(zip("ab", labels))  # the files say which model "a" and "b" are
        downloads.table_buttons(pair.tokens, "duet-tokens", f"{prefix}_tokens", named)
        downloads.table_buttons(pair.words, "duet-words", f"{prefix}_words", named)
        downloads.table_buttons(pair.summary, "duet-summary", f"{prefix}_summary", named)
        if has_same:
            downloads.table_buttons(shown.same_vocab, "duet-same-vocabulary", f"{prefix}_same", named)
    if "same_vocab" in shown.errors:
        st.warning(f"Same-vocabulary comparison unavailable: {literal(shown.errors['same_vocab'])}")
