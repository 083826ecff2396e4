"""Colour scales of the heatmaps: how a value (in display units) becomes a colour, for each colouring.

Each colouring names its palette and its kind (sequential, signed around 0,
GLTR rank buckets) in analysis/metrics.py; one scale is shared by every map
it colours, so model A and model B are comparable. No HTML here: the legend
is drawn by analysis/heatmap.py, the one renderer.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from analysis import metrics

# Heatmap palettes by name; each colouring names its own in analysis/metrics.py.
# Diverging for A - B: orange where B predicted better, blue where A did (the models' plot colours).
DIVERGING = ("#b35806", "#e08214", "#fdb863", "#fee0b6", "#f7f7f7", "#d1e5f0", "#92c5de", "#4393c3", "#2166ac")
PALETTES = {
    # Sequential, light to dark (ColorBrewer YlOrRd, PuBu, Purples, Greens).
    "surprisal": ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"),
    "entropy": ("#fff7fb", "#ece7f2", "#d0d1e6", "#a6bddb", "#74a9cf", "#3690c0", "#0570b0", "#034e7b"),
    "divergence": ("#fcfbfd", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#4a1486"),
    "overlap": ("#f7fcf5", "#e5f5e0", "#c7e9c0", "#a1d99b", "#74c476", "#41ab5d", "#238b45", "#005a32"),
    "diverging": DIVERGING,
    # Diverging for a signed value of one model (ColorBrewer PRGn): not the models' colours, which would read as A vs B.
    "signed": ("#762a83", "#9970ab", "#c2a5cf", "#e7d4e8", "#f7f7f7", "#d9f0d3", "#a6dba0", "#5aae61", "#1b7837"),
}
BUCKETS = "buckets"  # the palette name of a rank: GLTR buckets, not a gradient
# GLTR-style rank buckets: (upper rank bound, name, colour).
RANK_BUCKETS = (
    (1, "top-1", "#b7e4c7"),
    (10, "top-10", "#fff3a3"),
    (100, "top-100", "#ffc285"),
    (math.inf, "worse", "#e4b5f5"),
)
MISSING_COLOUR = "#e9ecef"  # no score: the first token of a model without BOS


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

    The kind, palette, title and ends come from the colouring's declaration in analysis/metrics.py.
    per: what one coloured piece is ("token", "word"), for the unit of a per-piece cost (surprisal).
    """
    m = metrics.get(colouring)
    if m.palette is None:
        raise ValueError(f"{colouring!r} is not a colouring")
    title = metrics.title(colouring, units, per)
    if m.palette == BUCKETS:
        return Scale(kind="buckets", title=title)
    joined = np.concatenate([np.asarray(v, dtype=float) for v in values]) if values else np.zeros(0)
    shown = metrics.display(colouring, joined, units)
    if m.ends is not None:  # signed: centred on 0, symmetric so that 0 is the middle colour
        bound = _robust_max(np.abs(shown), 1.0)
        return Scale("diverging", title, -bound, bound, PALETTES[m.palette], low_label=m.ends[0], high_label=m.ends[1])
    low, high = m.vrange if m.vrange is not None else (0.0, _robust_max(shown, 1.0))
    return Scale("sequential", title, low, high, PALETTES[m.palette])
