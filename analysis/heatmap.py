"""The one HTML renderer: a text as coloured spans, each with a hover tooltip, and the small snippets around it.

Every string that comes from a user or a model (the text, token pieces, top-k alternatives, model labels,
titles, an example's context, a feature's winner) goes through `html.escape` here and nowhere else
builds HTML, so `<script>` in a text shows as `<script>`.

Two levels:
  * tokens: one model's own tokenisation, cells cut from the text by the token table's character offsets
    (`text[char_start:char_end]`), never re-joined decoded pieces. A token whose span is empty after its
    predecessor (a byte-fallback piece) joins the previous cell: the cell's surprisal is its tokens' sum (the
    cost of that visible text), entropy and rank its first token's (the prediction where that text begins).
  * words: the shared word table (analysis/words.py), both models on the same spans: where A - B lives.

Values are stored in nats; `units` ("nats" | "bits") converts at display only. The tooltip is pure CSS
(no JavaScript): each cell carries its tooltip as plain text in a data-tip attribute, drawn on hover or
focus by a ::after rule. So the standalone export works from a file with no server, and a map stays one
element per cell (nested tooltip markup made a 300-word map take seconds to draw).
"""

from __future__ import annotations

import dataclasses
import html
import math
import unicodedata
from typing import Sequence

import numpy as np
import pandas as pd

from analysis import metrics
from analysis.scales import MISSING_COLOUR, RANK_BUCKETS, Scale, scale_for, text_colour
from analysis.schema import to_display_units
# What a result can be coloured by and at which level: kept there, named here too (heatmap.offered_colourings).
from analysis.colourings import POSITION_TABLES, drawn_level, levels_for, offered_colourings, rows_for  # noqa: F401

# At most this many cells are drawn per heatmap; beyond it the page says the map is cut.
MAX_CELLS = 20_000

CSS = """
.duet-heatmap{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:14px;line-height:1.9;
  white-space:pre-wrap;word-break:break-word;padding:10px 12px;border:1px solid #dee2e6;border-radius:8px;
  background:#fff;color:#212529}
.duet-heatmap.duet-scroll{max-height:560px;overflow-y:auto}
.duet-cell{position:relative;border-radius:3px;padding:1px 0;cursor:default;outline:none}
/* A hidden character (bidi override, zero-width, BOM) drawn as its code point; the tooltip names it. */
.duet-ctl{font-size:10px;border:1px dashed currentColor;border-radius:3px;padding:0 2px;margin:0 1px;opacity:.85}
/* The word an example was about (a leaderboard or BehaviorBox link): marked, and scrolled to. */
.duet-focus{outline:3px solid #d63384;outline-offset:1px}
.duet-cell:hover,.duet-cell:focus{box-shadow:0 0 0 2px #212529;z-index:5}
.duet-nl{color:#adb5bd}
/* The tooltip is the cell's data-tip text, drawn by CSS: one element per cell keeps big maps fast to draw. */
.duet-cell[data-tip]:hover::after,.duet-cell[data-tip]:focus::after{content:attr(data-tip);display:block;position:absolute;
  left:0;top:100%;margin-top:4px;z-index:1000;min-width:240px;max-width:380px;width:max-content;padding:8px 10px;
  border-radius:6px;background:#212529;color:#f8f9fa;font-size:12px;line-height:1.45;white-space:pre-wrap;
  font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;box-shadow:0 4px 14px rgba(0,0,0,.25);
  text-align:left;pointer-events:none;direction:ltr;unicode-bidi:isolate}
/* With anchor positioning the tooltip flips to its cell's right edge (or above it) rather than leave the screen. */
@supports (anchor-name:--a) and (position-try-fallbacks:flip-inline){
  .duet-cell{anchor-name:--duet-cell;anchor-scope:--duet-cell}
  .duet-cell[data-tip]:hover::after,.duet-cell[data-tip]:focus::after{position:fixed;position-anchor:--duet-cell;
    top:anchor(bottom);left:anchor(left);max-width:min(380px,calc(100vw - 16px));
    position-try-fallbacks:flip-inline,flip-block,flip-block flip-inline}
}
.duet-legend{font-family:system-ui,sans-serif;font-size:12px;color:#495057;display:flex;flex-wrap:wrap;
  align-items:center;gap:6px 14px;margin:4px 0 8px}
.duet-legend .duet-bar{display:inline-block;width:180px;height:12px;border-radius:3px;border:1px solid #ced4da;
  vertical-align:middle;margin:0 6px}
.duet-legend .duet-swatch{display:inline-block;width:14px;height:12px;border-radius:3px;border:1px solid #ced4da;
  vertical-align:middle;margin-right:4px}
.duet-note{font-family:system-ui,sans-serif;font-size:12px;color:#6c757d;margin-top:4px}
"""


def legend_html(scale: Scale) -> str:
    """The scale as a legend: its title with units, the gradient (or the rank buckets), and "no score"."""
    title = html.escape(scale.title)
    missing = f'<span><span class="duet-swatch" style="background:{MISSING_COLOUR}"></span>no score</span>'
    if scale.kind == "buckets":
        items = "".join(
            f'<span><span class="duet-swatch" style="background:{colour}"></span>{html.escape(name)}</span>'
            for _, name, colour in RANK_BUCKETS
        )
        return f'<div class="duet-legend"><b>{title}</b>{items}{missing}</div>'
    stops = ", ".join(scale.palette)
    bar = f'<span class="duet-bar" style="background:linear-gradient(to right, {stops})"></span>'
    low, high = f"{scale.vmin:.2g}", f"{scale.vmax:.2g}"
    if scale.kind == "diverging":
        low = f"{html.escape(scale.low_label)} {scale.vmin:+.2g}"
        high = f"{scale.vmax:+.2g} {html.escape(scale.high_label)}"
    else:
        high = f"≥ {high}"
    return f'<div class="duet-legend"><b>{title}</b><span>{low}{bar}{high}</span>{missing}</div>'


# --- cells -----------------------------------------------------------------------------


@dataclasses.dataclass
class Cell:
    start: int
    end: int
    value: float  # display units; NaN: no score
    tooltip: str  # plain text, several lines; escaped (once) by render()


def hidden(char: str) -> bool:
    """A character a reader cannot see or that reorders what follows: format (Cf: bidi controls, zero-width,
    BOM) and control (Cc) characters; line breaks and tabs are layout and stay as they are."""
    return char not in "\n\t\r" and unicodedata.category(char) in ("Cf", "Cc")


def has_hidden(text: str) -> bool:
    """Whether text has a hidden character; printable text (neither Cf nor Cc) is ruled out at C speed first."""
    return not text.replace("\n", "").replace("\t", "").replace("\r", "").isprintable() and any(map(hidden, text))


def code_point(char: str) -> str:
    """U+202E RIGHT-TO-LEFT OVERRIDE: how a tooltip names a hidden character."""
    return f"U+{ord(char):04X} {unicodedata.name(char, 'control character')}"


def show_hidden(text: str) -> str:
    """Plain text with each hidden character replaced by ⟨U+XXXX⟩ (for tooltips: attr() text is bidi-live too)."""
    return "".join(f"⟨U+{ord(c):04X}⟩" if hidden(c) else c for c in text) if has_hidden(text) else text


def visible_piece(piece: str) -> str:
    """A token piece with its whitespace and hidden characters made visible (plain text, not escaped)."""
    return show_hidden(piece.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥").replace("\r", "␍"))


def _escaped_with_marks(piece: str) -> str:
    """piece as escaped HTML, each hidden character drawn as a small boxed code point instead of itself."""
    if not has_hidden(piece):
        return html.escape(piece)
    return "".join(f'<span class="duet-ctl">U+{ord(c):04X}</span>' if hidden(c) else html.escape(c) for c in piece)


def _num(value: float, digits: int = 3) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"


def _prob(logprob: float) -> str:
    if logprob is None or not np.isfinite(logprob):
        return "–"
    p = math.exp(logprob)
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def _value(name: str, value: float, units: str) -> str:
    """One metric's value as a tooltip says it: in display units, with the unit when it is nats or bits."""
    shown = _num(metrics.display(name, float(value), units))
    return f"{shown} {units}" if metrics.get(name).unit == "nats" else shown


def _token_metrics(columns) -> list[str]:
    """The per-model token metrics a tooltip lists, those this token table can compute (declaration order)."""
    return [m.name for m in metrics.colourings()
            if m.level == "token" and not m.pair and set(metrics.roots(m.name)) <= set(columns)]


def _token_tip(row, units: str, model_label: str, extra: dict | None, shown: Sequence[str]) -> str:
    """Tooltip lines for one token: piece, probability, logprob, the shown metrics, same-vocabulary ones, top-k."""
    lp = float(row.logprob)
    scored = np.isfinite(lp)
    # Counted from 1 for the reader (the table's position column stays 0-based).
    lines = [f"{model_label} · token {int(row.position) + 1} “{visible_piece(str(row.token))}”"]
    if not scored:
        lines.append("no score: the first token, with no context before it")
    else:
        lines.append(f"probability {_prob(lp)} · logprob {_num(to_display_units(lp, units))} {units}")
        lines.append(" · ".join(f"{name} {_value(name, getattr(row, name), units)}" for name in shown))
    if extra:
        lines.append(" · ".join(f"{metrics.get(k).label} {_value(k, v, units)}" for k, v in extra.items()))
    pieces = list(row.topk_tokens) if isinstance(row.topk_tokens, (list, tuple, np.ndarray)) else []
    logprobs = list(row.topk_logprobs) if isinstance(row.topk_logprobs, (list, tuple, np.ndarray)) else []
    if scored and pieces:
        shown_pieces = [f"“{visible_piece(str(p))}”" for p in pieces]
        width = min(24, max(len(x) for x in shown_pieces))
        lines.append(f"top-{len(pieces)} predictions:")
        lines += [f"  {x:<{width}} {_prob(float(q)):>7}" for x, q in zip(shown_pieces, logprobs)]
    return "\n".join(lines)


def _cell_values(members: list[list], colouring: str, extras: dict[int, dict]) -> np.ndarray:
    """The colouring's raw value (nats) for each cell, from its tokens' stored values joined as declared.

    A stored cost sums over the cell's tokens (NaN if any has no score); a prediction and a
    same-vocabulary comparison are the first token's; derived metrics are then computed per cell.
    """
    columns = {}
    for root in metrics.roots(colouring):
        m = metrics.get(root)
        if m.table in POSITION_TABLES:
            columns[root] = [extras.get(int(rows[0].position), {}).get(root, math.nan) for rows in members]
        elif m.join == "sum":
            columns[root] = [np.sum([float(getattr(r, root)) for r in rows]) for rows in members]
        else:
            columns[root] = [float(getattr(rows[0], root)) for rows in members]
    return metrics.compute(pd.DataFrame(columns), [colouring])[colouring].to_numpy(float)


def token_cells(
    text: str,
    tokens: pd.DataFrame,
    colouring: str,
    units: str,
    model_label: str,
    same_vocab: pd.DataFrame | None = None,
) -> list[Cell]:
    """Cells over one model's tokens of one text (tokens: that text's rows of the token table)."""
    if metrics.get(colouring).level != "token":
        raise ValueError(f"tokens cannot be coloured by {colouring!r}")
    shown = _token_metrics(tokens.columns)
    tokens = metrics.compute(tokens.sort_values("position"), shown)
    extras: dict[int, dict] = {}
    if same_vocab is not None and len(same_vocab):
        cols = [m.name for m in metrics.declared() if m.table in POSITION_TABLES and m.name in same_vocab.columns]
        for rec in same_vocab[["position"] + cols].itertuples(index=False):
            extras[int(rec.position)] = {c: float(getattr(rec, c)) for c in cols}
    cells: list[Cell] = []
    members: list[list] = []  # token rows of each cell
    cursor = 0
    pending: list = []  # tokens with empty spans before any cell
    for row in tokens.itertuples(index=False):
        start, end = max(int(row.char_start), cursor), int(row.char_end)
        if end <= start:
            if members:
                members[-1].append(row)
            else:
                pending.append(row)
            continue
        cells.append(Cell(start, end, math.nan, ""))
        members.append(pending + [row])
        pending = []
        cursor = end
    values = _cell_values(members, colouring, extras)
    for cell, rows, raw in zip(cells, members, values):
        cell.value = float(metrics.display(colouring, raw, units))
        tips = [_token_tip(r, units, model_label, extras.get(int(r.position)), shown) for r in rows]
        if len(rows) > 1:
            total = -np.array([float(r.logprob) for r in rows]).sum()
            tips.insert(0, f"{len(rows)} tokens cover this text; surprisal together "
                           f"{_num(to_display_units(total, units))} {units}")
        cell.tooltip = "\n\n".join(tips)
    return cells


def word_cells(
    text: str,
    words: pd.DataFrame,
    colouring: str,
    units: str,
    side: str | None,
    labels: tuple[str, str] = ("A", "B"),
) -> list[Cell]:
    """Cells over the shared words of one text: coloured by model side ("a"/"b"), or by a pair colouring (A − B)."""
    if "word" not in metrics.levels(colouring):
        raise ValueError(f"words cannot be coloured by {colouring!r}")
    pair = metrics.get(colouring).pair
    words = words.sort_values("word_index")
    source = words if pair else metrics.per_side(words, side)
    values = metrics.display(colouring, metrics.compute(source, [colouring])[colouring].to_numpy(float), units)
    both = pair or side is None
    cells = []
    for w, value in zip(words.itertuples(index=False), values):
        lp = {"a": float(w.logprob_a), "b": float(w.logprob_b)}
        ent = {"a": float(w.entropy_a), "b": float(w.entropy_b)}
        ntok = {"a": int(w.n_tokens_a), "b": int(w.n_tokens_b)}
        lines = [f"word “{visible_piece(str(w.word))}”"]
        for s_ in ("a", "b") if both else (side,):
            label = labels[0 if s_ == "a" else 1]
            lines.append(
                f"{label}: probability {_prob(lp[s_])} · logprob {_num(to_display_units(lp[s_], units))} {units}"
                f" · entropy {_num(to_display_units(ent[s_], units))} {units} · {ntok[s_]} token{'s' if ntok[s_] != 1 else ''}"
            )
        if both:
            d = float(to_display_units(float(w.delta), units))
            verdict = "A predicted it better" if d > 0 else "B predicted it better" if d < 0 else "a tie"
            if not np.isfinite(d):
                verdict = "not scored by both"
            lines.append(f"A − B = {_num(d)} {units}: {verdict}")
        if both and "rank_a" in words.columns:
            lines.append(f"rank of the first token: A {_num(float(w.rank_a))} · B {_num(float(w.rank_b))}")
        cells.append(Cell(int(w.char_start), int(w.char_end), float(value), "\n".join(lines)))
    return cells


# --- rendering ---------------------------------------------------------------------------


def render(text: str, cells: list[Cell], scale: Scale, element_id: str = "", max_cells: int = MAX_CELLS,
           focus: tuple[int, int] | None = None) -> str:
    """The text as HTML: coloured cells with tooltips, plain escaped text between them.

    Cells must be in text order and must not overlap. Past max_cells the rest of
    the text is not drawn and a note says so.

    The map takes its direction from its text (dir="auto") and cells are plain spans, so Arabic cut
    into several tokens reads as the text does (an isolate per cell is a neutral in its line: the
    halves of a split word were laid left to right). No cell can reorder its neighbours: hidden
    characters (bidi controls, zero-width, BOM) are drawn as code points, named in the tooltip,
    and the cell keeps its offsets, so its scores are those of the real characters.
    focus: a (char_start, char_end) span to mark; its first cell gets the id <element_id>-focus.
    """
    out, cursor, focused = [], 0, False
    cut = len(cells) > max_cells
    for cell in cells[:max_cells]:
        if cell.start > cursor:
            out.append(_escaped_with_marks(text[cursor:cell.start]))
        piece = text[cell.start:cell.end]
        background = scale.colour(cell.value)
        shown = _escaped_with_marks(piece)
        if piece.strip() == "" and "\n" in piece:
            # A line break is a prediction too: give it something to colour and hover.
            shown = '<span class="duet-nl">↵</span>' + shown
        tip = show_hidden(cell.tooltip)
        marks = sorted({c for c in piece if hidden(c)}) if has_hidden(piece) else []
        if marks:
            tip += "\n\nhidden characters here: " + ", ".join(code_point(c) for c in marks)
        classes, ident = "duet-cell", ""
        if focus is not None and cell.start < focus[1] and cell.end > focus[0]:
            classes += " duet-focus"
            if not focused and element_id:
                ident = f' id="{html.escape(element_id, quote=True)}-focus"'
            focused = True
        out.append(
            f'<span class="{classes}"{ident} tabindex="0" style="background:{background};'
            f'color:{text_colour(background)}" data-tip="{html.escape(tip, quote=True)}">{shown}</span>'
        )
        cursor = max(cursor, cell.end)
    if not cut and cursor < len(text):
        out.append(_escaped_with_marks(text[cursor:]))
    scroll = " duet-scroll" if len(text) > 4000 else ""
    ident = f' id="{html.escape(element_id, quote=True)}"' if element_id else ""
    note = (f'<div class="duet-note">Showing the first {max_cells:,} of {len(cells):,} pieces; '
            "download the data for the rest.</div>") if cut else ""
    return f'<div class="duet-heatmap{scroll}"{ident} dir="auto">{"".join(out)}</div>{note}'


def fragment(body: str) -> str:
    """A piece of page: the stylesheet plus body (for st.html)."""
    return f"<style>{CSS}</style>{body}"


def standalone_html(title: str, sections: Sequence[tuple[str, str]], note: str = "") -> str:
    """A complete HTML document with inline CSS: opens from a file, no server, tooltips on hover.

    sections: (heading, body HTML) pairs; headings are escaped here, bodies come from render/legend_html.
    """
    parts = [f"<h2>{html.escape(h)}</h2>{body}" for h, body in sections]
    note_html = f"<p class='duet-note'>{html.escape(note)}</p>" if note else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<style>body{{font-family:system-ui,sans-serif;margin:24px;max-width:1100px;color:#212529}}"
        f"h1{{font-size:20px}}h2{{font-size:16px;margin-top:24px}}{CSS}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{note_html}{''.join(parts)}</body></html>\n"
    )


def example_in_context(left: str, word: str, right: str, colour: str) -> str:
    """An example word in its context (a leaderboard's, a feature card's): escaped, the word marked, ↵ for a line break."""
    flat = lambda s: f"<span style='color:#555'>{html.escape(s).replace(chr(10), ' ↵ ')}</span>"  # noqa: E731
    mark = f"background:{colour}33;border-bottom:2px solid {colour};padding:0 2px"
    return f"{flat(left)}<mark style='{mark}'>{html.escape(word)}</mark>{flat(right)}"


def feature_heading(feature: int, winner: str, colour: str) -> str:
    """A BehaviorBox card's heading (markdown with one coloured span): the feature and its winner's name, escaped."""
    return f"#### Feature {int(feature)} · <span style='color:{colour}'>{html.escape(winner)} wins</span>"


# --- the pair, as the token view shows it ---------------------------------------------------


@dataclasses.dataclass
class PairMaps:
    """Everything the token view draws for one text: one map per model (or one for A - B) and a legend."""

    maps: dict[str, str]  # "a", "b", or the pair colouring ("delta") -> HTML fragment body (no <style>)
    legend: str
    scale: Scale

    @property
    def joint(self) -> str | None:
        """The key of the one map both models share (A − B), or None for a map per model."""
        return next((k for k in self.maps if k not in ("a", "b")), None)


def pair_heatmaps(text: str, text_id: int, tokens: pd.DataFrame, words: pd.DataFrame, colouring: str, level: str,
                  units: str, labels: tuple[str, str], same_vocab: pd.DataFrame | None = None,
                  focus: tuple[int, int] | None = None) -> PairMaps:
    """Heatmaps of one text for both models on one shared scale.

    tokens: the combined token table (column "model"); words: the word table.
    level "tokens" draws each model's own tokens; "words" the shared words; a
    colouring with one level (A − B per word, rank per token) is drawn at it
    whatever was asked (drawn_level). A pair colouring per word is one map.
    focus: a (char_start, char_end) span of this text to mark in every map (render's focus).
    """
    pair = metrics.get(colouring).pair
    text_tokens = tokens[tokens["text_id"] == text_id]
    text_words = words[words["text_id"] == text_id]
    text_words, sv = rows_for(colouring, text, text_id, text_tokens, text_words, same_vocab)
    level = drawn_level(colouring, level, sv is not None)
    if level == "words" and pair:
        scale = scale_for(colouring, units, metrics.compute(text_words, [colouring])[colouring].to_numpy())
        cells = word_cells(text, text_words, colouring, units, None, labels)
        body = render(text, cells, scale, f"duet-map-{colouring}-{text_id}", focus=focus)
        return PairMaps({colouring: body}, legend_html(scale), scale)
    per_model = {m: text_tokens[text_tokens["model"] == m] for m in ("a", "b")}
    if level == "words":
        values = [metrics.compute(metrics.per_side(text_words, m), [colouring])[colouring].to_numpy() for m in ("a", "b")]
        scale = scale_for(colouring, units, *values, per="word")
        maps = {}
        for m in ("a", "b"):
            if len(per_model[m]):
                cells = word_cells(text, text_words, colouring, units, m, labels)
                maps[m] = render(text, cells, scale, f"duet-map-{m}-{text_id}", focus=focus)
        return PairMaps(maps, legend_html(scale), scale)
    if metrics.tables(colouring) & set(POSITION_TABLES):  # one value per position for both: scaled once, not twice
        values = [] if sv is None else [metrics.compute(sv, [colouring])[colouring].to_numpy()]
    else:
        values = [metrics.compute(t, [colouring])[colouring].to_numpy() for t in per_model.values()]
    scale = scale_for(colouring, units, *values, per="token")
    maps = {}
    for i, m in enumerate(("a", "b")):
        if len(per_model[m]):
            cells = token_cells(text, per_model[m], colouring, units, labels[i], sv)
            maps[m] = render(text, cells, scale, f"duet-map-{m}-{text_id}", focus=focus)
    return PairMaps(maps, legend_html(scale), scale)
