"""The one HTML renderer: a text as coloured spans, each with a hover tooltip.

Every string that comes from a user or a model (the text, token pieces, top-k
alternatives, model labels, titles) goes through `html.escape` here and
nowhere else builds HTML, so `<script>` in a text shows as `<script>`.

Two levels:
  * tokens: one model's own tokenisation. Cells are cut from the original text
    by the token table's character offsets (`text[char_start:char_end]`), so the
    page shows exactly the text, never re-joined decoded pieces. A token whose
    span is empty after its predecessor (a byte-fallback piece of one
    character) joins the previous cell: the cell's surprisal is the sum of its
    tokens' surprisals (the cost of that visible text), entropy and rank are
    its first token's (the prediction made where the visible text begins).
  * words: the shared word table (analysis/words.py), both models on the same
    spans; this is where the difference A - B lives.

Values are stored in nats; `units` ("nats" | "bits") converts at display only.
The tooltip is pure CSS (no JavaScript): each cell carries its tooltip as plain
text in a data-tip attribute, drawn on hover or focus by a ::after rule. So the
standalone export works from a file with no server, and a map stays one element
per cell (nested tooltip markup made a 300-word map take seconds to draw).
"""

from __future__ import annotations

import dataclasses
import html
import math
from typing import Sequence

import numpy as np
import pandas as pd

from analysis.schema import to_display_units

# At most this many cells are drawn per heatmap; beyond it the page says the map is cut.
MAX_CELLS = 20_000

# Colourings and what they mean, for pickers and legends.
TOKEN_COLOURINGS = ("surprisal", "entropy", "rank")
WORD_COLOURINGS = ("surprisal", "entropy", "delta")
SAME_VOCAB_COLOURINGS = ("kl_a_b", "kl_b_a", "js", "topk_overlap")
COLOURING_NAMES = {
    "surprisal": "Surprisal",
    "entropy": "Entropy",
    "rank": "Rank bucket (GLTR)",
    "delta": "Difference A − B (words)",
    "kl_a_b": "KL(A‖B)",
    "kl_b_a": "KL(B‖A)",
    "js": "Jensen–Shannon",
    "topk_overlap": "Top-k overlap",
}

# Sequential palettes, light to dark (ColorBrewer YlOrRd, PuBu, Greens).
PALETTES = {
    "surprisal": ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"),
    "entropy": ("#fff7fb", "#ece7f2", "#d0d1e6", "#a6bddb", "#74a9cf", "#3690c0", "#0570b0", "#034e7b"),
    "divergence": ("#fcfbfd", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#4a1486"),
    "overlap": ("#f7fcf5", "#e5f5e0", "#c7e9c0", "#a1d99b", "#74c476", "#41ab5d", "#238b45", "#005a32"),
}
# Diverging for A - B: orange where B predicted better, blue where A did (the models' plot colours).
DIVERGING = ("#b35806", "#e08214", "#fdb863", "#fee0b6", "#f7f7f7", "#d1e5f0", "#92c5de", "#4393c3", "#2166ac")
# GLTR-style rank buckets: (upper rank bound, name, colour).
RANK_BUCKETS = (
    (1, "top-1", "#b7e4c7"),
    (10, "top-10", "#fff3a3"),
    (100, "top-100", "#ffc285"),
    (math.inf, "worse", "#e4b5f5"),
)
MISSING_COLOUR = "#e9ecef"  # no score: the first token of a model without BOS

CSS = """
.duet-heatmap{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:14px;line-height:1.9;
  white-space:pre-wrap;word-break:break-word;padding:10px 12px;border:1px solid #dee2e6;border-radius:8px;
  background:#fff;color:#212529}
.duet-heatmap.duet-scroll{max-height:560px;overflow-y:auto}
.duet-cell{position:relative;border-radius:3px;padding:1px 0;cursor:default;outline:none}
.duet-cell:hover,.duet-cell:focus{box-shadow:0 0 0 2px #212529;z-index:5}
.duet-nl{color:#adb5bd}
/* The tooltip is the cell's data-tip text, drawn by CSS: one element per cell keeps big maps fast to draw. */
.duet-cell[data-tip]:hover::after,.duet-cell[data-tip]:focus::after{content:attr(data-tip);display:block;position:absolute;
  left:0;top:100%;margin-top:4px;z-index:1000;min-width:240px;max-width:380px;width:max-content;padding:8px 10px;
  border-radius:6px;background:#212529;color:#f8f9fa;font-size:12px;line-height:1.45;white-space:pre-wrap;
  font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;box-shadow:0 4px 14px rgba(0,0,0,.25);
  text-align:left;pointer-events:none}
.duet-legend{font-family:system-ui,sans-serif;font-size:12px;color:#495057;display:flex;flex-wrap:wrap;
  align-items:center;gap:6px 14px;margin:4px 0 8px}
.duet-legend .duet-bar{display:inline-block;width:180px;height:12px;border-radius:3px;border:1px solid #ced4da;
  vertical-align:middle;margin:0 6px}
.duet-legend .duet-swatch{display:inline-block;width:14px;height:12px;border-radius:3px;border:1px solid #ced4da;
  vertical-align:middle;margin-right:4px}
.duet-note{font-family:system-ui,sans-serif;font-size:12px;color:#6c757d;margin-top:4px}
"""


# --- colour scales -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Scale:
    """How a value (already in display units) becomes a colour."""

    kind: str  # "sequential" | "diverging" | "buckets"
    title: str  # legend title, with units
    vmin: float = 0.0
    vmax: float = 1.0
    palette: tuple[str, ...] = PALETTES["surprisal"]
    low_label: str = ""  # diverging: what the low end means
    high_label: str = ""

    def colour(self, value: float) -> str:
        if value is None or not np.isfinite(value):
            return MISSING_COLOUR
        if self.kind == "buckets":
            for bound, _, colour in RANK_BUCKETS:
                if value <= bound:
                    return colour
            return RANK_BUCKETS[-1][2]
        span = self.vmax - self.vmin
        t = 0.5 if span <= 0 else (value - self.vmin) / span
        return _interpolate(self.palette, min(1.0, max(0.0, t)))


def _hex(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def _interpolate(palette: Sequence[str], t: float) -> str:
    x = t * (len(palette) - 1)
    i = min(int(x), len(palette) - 2)
    f = x - i
    lo, hi = _hex(palette[i]), _hex(palette[i + 1])
    return "#" + "".join(f"{round(a + (b - a) * f):02x}" for a, b in zip(lo, hi))


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on this background (WCAG relative luminance)."""

    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _hex(background))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#000000" if luminance > 0.23 else "#ffffff"


def _robust_max(values: np.ndarray, default: float) -> float:
    """The 98th percentile: one near-impossible token should not wash out the rest of the map."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return default
    top = float(np.percentile(finite, 98))
    return top if top > 0 else float(finite.max()) if finite.max() > 0 else default


def scale_for(colouring: str, units: str, *values: np.ndarray, per: str = "token or word") -> Scale:
    """One scale shared by every map it colours (so A and B are comparable), from their values in nats.

    per: what one coloured piece is ("token", "word"), for the surprisal legend's unit.
    """
    unit = units
    joined = np.concatenate([np.asarray(v, dtype=float) for v in values]) if values else np.zeros(0)
    shown = to_display_units(joined, units)
    if colouring == "rank":
        return Scale(kind="buckets", title="rank of the actual token among the model's predictions")
    if colouring == "surprisal":
        return Scale("sequential", f"surprisal ({unit} per {per})", 0.0, _robust_max(shown, 1.0), PALETTES["surprisal"])
    if colouring == "entropy":
        return Scale("sequential", f"entropy of the prediction ({unit})", 0.0, _robust_max(shown, 1.0), PALETTES["entropy"])
    if colouring == "delta":
        bound = _robust_max(np.abs(shown), 1.0)
        return Scale(
            "diverging", f"log-probability A − B ({unit})", -bound, bound, DIVERGING,
            low_label="B predicted better", high_label="A predicted better",
        )
    if colouring in ("kl_a_b", "kl_b_a", "js"):
        name = COLOURING_NAMES[colouring]
        return Scale("sequential", f"{name} of the next-token distributions ({unit})", 0.0, _robust_max(shown, 1.0), PALETTES["divergence"])
    if colouring == "topk_overlap":
        return Scale("sequential", "top-k overlap (share of the top-k both models share)", 0.0, 1.0, PALETTES["overlap"])
    raise ValueError(f"unknown colouring {colouring!r}")


def legend_html(scale: Scale) -> str:
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
    low = f"{scale.vmin:.2g}"
    high = f"{scale.vmax:.2g}"
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


def visible_piece(piece: str) -> str:
    """A token piece with its whitespace and control characters made visible (plain text, not escaped)."""
    shown = piece.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥").replace("\r", "␍")
    # Other control characters would be invisible (or break the layout): show their code.
    return "".join(f"\\x{ord(c):02x}" if ord(c) < 32 or 0x7F <= ord(c) < 0xA0 else c for c in shown)


def _num(value: float, digits: int = 3) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"


def _prob(logprob: float) -> str:
    if logprob is None or not np.isfinite(logprob):
        return "–"
    p = math.exp(logprob)
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def _token_tip(row, units: str, model_label: str, extra: dict | None) -> str:
    """Tooltip lines for one token: piece, probability, logprob, entropy, rank, top-k (plain text)."""
    lp = float(row.logprob)
    scored = np.isfinite(lp)
    # Counted from 1 for the reader (the table's position column stays 0-based).
    lines = [f"{model_label} · token {int(row.position) + 1} “{visible_piece(str(row.token))}”"]
    if not scored:
        lines.append("no score: the first token, with no context before it")
    else:
        lines.append(f"probability {_prob(lp)} · logprob {_num(to_display_units(lp, units))} {units}")
        lines.append(f"surprisal {_num(to_display_units(-lp, units))} {units} · "
                     f"entropy {_num(to_display_units(float(row.entropy), units))} {units} · rank {_num(float(row.rank), 6)}")
    if extra:
        lines.append(" · ".join(
            f"{COLOURING_NAMES[k]} {_num(v if k == 'topk_overlap' else to_display_units(v, units))}"
            + ("" if k == "topk_overlap" else f" {units}") for k, v in extra.items()))
    pieces = list(row.topk_tokens) if isinstance(row.topk_tokens, (list, tuple, np.ndarray)) else []
    logprobs = list(row.topk_logprobs) if isinstance(row.topk_logprobs, (list, tuple, np.ndarray)) else []
    if scored and pieces:
        shown = [f"“{visible_piece(str(p))}”" for p in pieces]
        width = min(24, max(len(x) for x in shown))
        lines.append(f"top-{len(pieces)} predictions:")
        lines += [f"  {x:<{width}} {_prob(float(q)):>7}" for x, q in zip(shown, logprobs)]
    return "\n".join(lines)


def token_cells(
    text: str,
    tokens: pd.DataFrame,
    colouring: str,
    units: str,
    model_label: str,
    same_vocab: pd.DataFrame | None = None,
) -> list[Cell]:
    """Cells over one model's tokens of one text (tokens: that text's rows of the token table)."""
    tokens = tokens.sort_values("position")
    extras: dict[int, dict] = {}
    if same_vocab is not None and len(same_vocab):
        cols = [c for c in SAME_VOCAB_COLOURINGS if c in same_vocab.columns]
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
    for cell, rows in zip(cells, members):
        first = rows[0]
        if colouring == "surprisal":
            lps = np.array([float(r.logprob) for r in rows])
            raw = -lps.sum()  # NaN if any token has no score
        elif colouring == "entropy":
            raw = float(first.entropy)
        elif colouring == "rank":
            raw = float(first.rank)
        elif colouring in SAME_VOCAB_COLOURINGS:
            raw = extras.get(int(first.position), {}).get(colouring, math.nan)
        else:
            raise ValueError(f"tokens cannot be coloured by {colouring!r}")
        cell.value = raw if colouring in ("rank", "topk_overlap") else float(to_display_units(raw, units))
        tips = [_token_tip(r, units, model_label, extras.get(int(r.position))) for r in rows]
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
    """Cells over the shared words of one text. side "a"/"b" colours by that model; colouring "delta" by A - B."""
    words = words.sort_values("word_index")
    cells = []
    for w in words.itertuples(index=False):
        lp = {"a": float(w.logprob_a), "b": float(w.logprob_b)}
        ent = {"a": float(w.entropy_a), "b": float(w.entropy_b)}
        ntok = {"a": int(w.n_tokens_a), "b": int(w.n_tokens_b)}
        if colouring == "delta":
            value = float(to_display_units(float(w.delta), units))
        elif colouring == "surprisal":
            value = float(to_display_units(-lp[side], units))
        elif colouring == "entropy":
            value = float(to_display_units(ent[side], units))
        else:
            raise ValueError(f"words cannot be coloured by {colouring!r}")
        sides = ("a", "b") if colouring == "delta" or side is None else (side,)
        lines = [f"word “{visible_piece(str(w.word))}”"]
        for s_ in sides:
            label = labels[0 if s_ == "a" else 1]
            lines.append(
                f"{label}: probability {_prob(lp[s_])} · logprob {_num(to_display_units(lp[s_], units))} {units}"
                f" · entropy {_num(to_display_units(ent[s_], units))} {units} · {ntok[s_]} token{'s' if ntok[s_] != 1 else ''}"
            )
        if colouring == "delta" or side is None:
            d = float(to_display_units(float(w.delta), units))
            verdict = "A predicted it better" if d > 0 else "B predicted it better" if d < 0 else "a tie"
            if not np.isfinite(d):
                verdict = "not scored by both"
            lines.append(f"A − B = {_num(d)} {units}: {verdict}")
        cells.append(Cell(int(w.char_start), int(w.char_end), value, "\n".join(lines)))
    return cells


# --- rendering ---------------------------------------------------------------------------


def render(text: str, cells: list[Cell], scale: Scale, element_id: str = "", max_cells: int = MAX_CELLS) -> str:
    """The text as HTML: coloured cells with tooltips, plain escaped text between them.

    Cells must be in text order and must not overlap. Past max_cells the rest of
    the text is not drawn and a note says so.
    """
    out = []
    cursor = 0
    cut = len(cells) > max_cells
    for cell in cells[:max_cells]:
        if cell.start > cursor:
            out.append(html.escape(text[cursor:cell.start]))
        piece = text[cell.start:cell.end]
        background = scale.colour(cell.value)
        shown = html.escape(piece)
        if piece.strip() == "" and "\n" in piece:
            # A line break is a prediction too: give it something to colour and hover.
            shown = '<span class="duet-nl">↵</span>' + shown
        out.append(
            f'<span class="duet-cell" tabindex="0" style="background:{background};color:{text_colour(background)}" '
            f'data-tip="{html.escape(cell.tooltip, quote=True)}">{shown}</span>'
        )
        cursor = max(cursor, cell.end)
    if not cut and cursor < len(text):
        out.append(html.escape(text[cursor:]))
    scroll = " duet-scroll" if len(text) > 4000 else ""
    ident = f' id="{html.escape(element_id, quote=True)}"' if element_id else ""
    note = (f'<div class="duet-note">Showing the first {max_cells:,} of {len(cells):,} pieces; '
            "download the data for the rest.</div>") if cut else ""
    return f'<div class="duet-heatmap{scroll}"{ident}>{"".join(out)}</div>{note}'


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


# --- the pair, as the token view shows it ---------------------------------------------------


@dataclasses.dataclass
class PairMaps:
    """Everything the token view draws for one text: one map per model (or one for A - B) and a legend."""

    maps: dict[str, str]  # "a", "b", or "delta" -> HTML fragment body (no <style>)
    legend: str
    scale: Scale


def pair_heatmaps(
    text: str,
    text_id: int,
    tokens: pd.DataFrame,
    words: pd.DataFrame,
    colouring: str,
    level: str,
    units: str,
    labels: tuple[str, str],
    same_vocab: pd.DataFrame | None = None,
) -> PairMaps:
    """Heatmaps of one text for both models on one shared scale.

    tokens: the combined token table (column "model"); words: the word table.
    level "tokens" draws each model's own tokens; "words" the shared words.
    colouring "delta" is always at word level (one map); "rank" and the
    same-vocabulary measures always at token level.
    """
    text_tokens = tokens[tokens["text_id"] == text_id]
    text_words = words[words["text_id"] == text_id]
    if colouring == "delta":
        scale = scale_for("delta", units, text_words["delta"].to_numpy())
        cells = word_cells(text, text_words, "delta", units, None, labels)
        return PairMaps({"delta": render(text, cells, scale, f"duet-map-delta-{text_id}")}, legend_html(scale), scale)
    if colouring in ("rank",) + SAME_VOCAB_COLOURINGS:
        level = "tokens"
    per_model = {m: text_tokens[text_tokens["model"] == m] for m in ("a", "b")}
    if level == "words":
        column = {"surprisal": "logprob", "entropy": "entropy"}[colouring]
        values = [(-1 if colouring == "surprisal" else 1) * text_words[f"{column}_{m}"].to_numpy() for m in ("a", "b")]
        scale = scale_for(colouring, units, *values, per="word")
        maps = {}
        for i, m in enumerate(("a", "b")):
            if len(per_model[m]):
                cells = word_cells(text, text_words, colouring, units, m, labels)
                maps[m] = render(text, cells, scale, f"duet-map-{m}-{text_id}")
        return PairMaps(maps, legend_html(scale), scale)
    sv = None
    if same_vocab is not None and len(same_vocab):
        sv = same_vocab[same_vocab["text_id"] == text_id]
    if colouring in SAME_VOCAB_COLOURINGS:
        scale = scale_for(colouring, units, sv[colouring].to_numpy() if sv is not None else np.zeros(0))
    elif colouring == "rank":
        scale = scale_for("rank", units)
    else:
        source = {"surprisal": lambda t: -t["logprob"].to_numpy(), "entropy": lambda t: t["entropy"].to_numpy()}[colouring]
        scale = scale_for(colouring, units, *[source(t) for t in per_model.values()], per="token")
    maps = {}
    for i, m in enumerate(("a", "b")):
        if len(per_model[m]):
            cells = token_cells(text, per_model[m], colouring, units, labels[i], sv)
            maps[m] = render(text, cells, scale, f"duet-map-{m}-{text_id}")
    return PairMaps(maps, legend_html(scale), scale)
