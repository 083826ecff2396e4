"""How a metric is declared, ordered and computed: the @metric decorator, lookups, graphlib ordering.

A metric is either stored (a column the scorer or a summary already wrote:
logprob, entropy, rank, the same-vocabulary divergences, the per-prompt
uncertainty and diversity numbers) or derived: a pure function of other
metrics' columns, numpy arrays in (one per name in `requires`, passed by that
name), an array of the same length out. `compute` adds derived columns to a
table in dependency order (stdlib graphlib), so a derived metric may require
another derived one.

Everything a picker, legend, tooltip, axis or header says about a metric
(label, unit, help, palette, what a higher value means) is read from here.
The metrics themselves are declared in analysis/metrics.py; import that
module, not this one (this one holds an empty registry until it is imported).
"""

from __future__ import annotations

import dataclasses
import graphlib
import inspect
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from analysis.schema import WORD_COLUMNS, to_display_units

LEVELS = ("token", "word", "sample", "prompt")
# Where a stored metric's column lives: the token table, the word table, the same-vocabulary table
# (analysis/schema.py), or the per-prompt summary of sampled answers (analysis/generations.py).
# "ranks" is not stored: both models' ranks side by side (schema.RANK_PAIR_COLUMNS), joined from the token
# table when drawn, per word (first tokens) and per position where the vocabulary is shared.
TABLES = ("tokens", "words", "same_vocab", "prompts", "ranks")
# How the tokens of one visible piece combine (a byte-fallback character split over two tokens):
# costs add up, a prediction is the one made where the piece begins.
JOINS = ("sum", "first")


class UnknownMetric(ValueError):
    """A name the registry does not hold."""


@dataclasses.dataclass(frozen=True)
class Metric:
    name: str  # column name in every table that holds it
    label: str  # pickers, headings, table headers: "Surprisal"
    help: str  # one or two sentences for a tooltip
    unit: str  # "nats" (stored in nats, shown in the nats/bits toggle's unit) or a fixed unit ("rank", "share", "")
    level: str  # the finest piece it is defined on: token, word, sample or prompt
    requires: tuple[str, ...] = ()
    fn: Callable | None = None  # None: stored, read from its table
    table: str | None = None  # stored metrics: which table holds the column
    higher_is_better: bool | None = None  # None: neither (entropy, a signed difference)
    higher: str = ""  # what a higher value says, in words ("more uncertain")
    palette: str | None = None  # heatmap palette name; None: not offered as a colouring
    title: str = ""  # legend phrase without the unit; "" means the label in lower case
    ends: tuple[str, str] | None = None  # a signed metric, coloured centred on 0: what the low and high ends mean
    signs: tuple[str, str] | None = None  # traces: what the difference above and below 0 means (above: A better)
    pair: bool = False  # one value for both models (A − B, KL between them), not one per model
    join: str = "first"  # stored token metrics: how the tokens of one visible piece combine
    per_piece: bool = False  # a cost of the piece: the unit reads "nats per token" / "per word"
    vrange: tuple[float, float] | None = None  # a fixed colour range (a share is always 0..1)

    @property
    def stored(self) -> bool:
        return self.fn is None

    @property
    def phrase(self) -> str:
        return self.title or self.label.lower()


class Registry:
    """Metrics by name, in the order they were declared (the order pickers show them)."""

    def __init__(self) -> None:
        self._metrics: dict[str, Metric] = {}

    # --- declaring ------------------------------------------------------------------

    def _add(self, m: Metric) -> Metric:
        if m.name in self._metrics:
            raise ValueError(f"metric {m.name!r} is declared twice")
        if m.level not in LEVELS:
            raise ValueError(f"metric {m.name!r}: level {m.level!r} is not one of {LEVELS}")
        if m.join not in JOINS:
            raise ValueError(f"metric {m.name!r}: join {m.join!r} is not one of {JOINS}")
        if m.stored and m.table not in TABLES:
            raise ValueError(f"stored metric {m.name!r}: table {m.table!r} is not one of {TABLES}")
        self._metrics[m.name] = m
        return m

    def metric(self, name: str, *, requires: Iterable[str], unit: str, label: str, help: str, level: str,
               higher_is_better: bool | None = None, **display) -> Callable[[Callable], Callable]:
        """Decorator: declare a derived metric computed by the decorated pure function.

        The function's parameters are the names in `requires`, in any order; it returns one value per row.
        """
        requires = tuple(requires)

        def register(fn: Callable) -> Callable:
            params = set(inspect.signature(fn).parameters)
            if params != set(requires):
                raise ValueError(f"metric {name!r}: the function takes {sorted(params)} but requires {sorted(requires)}")
            self._add(Metric(name=name, label=label, help=help, unit=unit, level=level, requires=requires, fn=fn,
                             higher_is_better=higher_is_better, **display))
            return fn

        return register

    def stored(self, name: str, *, table: str, unit: str, label: str, help: str, level: str,
               higher_is_better: bool | None = None, **display) -> Metric:
        """Declare a metric whose column is already in a table (nothing to compute)."""
        return self._add(Metric(name=name, label=label, help=help, unit=unit, level=level, table=table,
                                higher_is_better=higher_is_better, **display))

    # --- looking up -------------------------------------------------------------------

    def get(self, name: str) -> Metric:
        try:
            return self._metrics[name]
        except KeyError:
            raise UnknownMetric(f"unknown metric {name!r}; known: {', '.join(self._metrics)}") from None

    def find(self, name: str) -> Metric | None:
        return self._metrics.get(name)

    def declared(self) -> list[Metric]:
        """Every metric, in declaration order."""
        return list(self._metrics.values())

    def at_level(self, level: str) -> list[Metric]:
        """The metrics defined on this level's pieces, in declaration order."""
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r}: use one of {LEVELS}")
        return [m for m in self._metrics.values() if m.level == level]

    def order(self, names: Iterable[str]) -> list[str]:
        """names and everything they require, each after its requirements (graphlib; a cycle raises)."""
        graph: dict[str, tuple[str, ...]] = {}
        todo = list(names)
        while todo:
            name = todo.pop()
            if name not in graph:
                graph[name] = self.get(name).requires
                todo.extend(graph[name])
        return list(graphlib.TopologicalSorter(graph).static_order())

    def roots(self, name: str) -> list[str]:
        """The stored metrics a metric is computed from (itself when stored)."""
        return [n for n in self.order([name]) if self.get(n).stored]

    def tables(self, name: str) -> set[str]:
        """The tables a metric's stored roots live in."""
        return {self.get(root).table for root in self.roots(name)}

    def levels(self, name: str) -> tuple[str, ...]:
        """The levels a metric can be drawn at: THE rule for the heatmap's level choice.

        A token metric can also be drawn per word when the word table holds every stored column
        it is computed from (logprob and entropy, per model as <name>_a / <name>_b); rank and the
        same-vocabulary divergences cannot. The rank pair (table "ranks") is joined per word when drawn.
        """
        m = self.get(name)
        if m.level != "token":
            return (m.level,)
        on_words = all(
            self.get(root).table == "ranks" or (root if self.get(root).pair else f"{root}_a") in WORD_COLUMNS
            for root in self.roots(name)
        )
        return ("token", "word") if on_words else ("token",)

    # --- computing ---------------------------------------------------------------------

    def compute(self, table: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
        """A copy of table with the derived columns of `names` (and what they require) added in order."""
        out = table.copy()
        for name in self.order(names):
            m = self.get(name)
            if m.stored:
                if name not in out.columns:
                    raise ValueError(f"{name!r} is stored in the {m.table} table, but this table has no such column")
                continue
            args = {r: out[r].to_numpy(dtype=float) for r in m.requires}
            out[name] = np.asarray(m.fn(**args), dtype=float)
        return out

    def per_side(self, words: pd.DataFrame, side: str) -> pd.DataFrame:
        """One model's view of the word table: logprob_a -> logprob, entropy_a -> entropy; pair columns kept.

        So a token metric computes per word from the word's own values (its summed logprob,
        the entropy where it begins) by the same function as per token.
        """
        columns = {}
        for m in self._metrics.values():
            if not m.stored:
                continue
            column = m.name if m.pair else f"{m.name}_{side}"
            if column in words.columns:
                columns[m.name] = words[column]
        return pd.DataFrame(columns, index=words.index)

    # --- showing ------------------------------------------------------------------------

    def display(self, name: str, values, units: str):
        """Values in nats -> the chosen display unit; metrics in other units pass through."""
        return to_display_units(values, units) if self.get(name).unit == "nats" else values

    def unit_text(self, name: str, units: str) -> str:
        """The unit as shown: the nats/bits toggle for nats metrics, the metric's own unit otherwise."""
        unit = self.get(name).unit
        return units if unit == "nats" else unit

    def title(self, name: str, units: str, per: str | None = None) -> str:
        """Legend title with its unit: "surprisal (bits per token)", "entropy of the prediction (nats)"."""
        m = self.get(name)
        if m.unit != "nats":
            return m.phrase  # a rank or a share says what it is in its phrase
        return f"{m.phrase} ({units}{f' per {per}' if per and m.per_piece else ''})"

    def axis_title(self, name: str, units: str, per: str | None = None) -> str:
        """Axis title: the short name and its unit, "surprisal (nats per token)"."""
        m = self.get(name)
        unit = self.unit_text(name, units)
        per_text = f" per {per}" if per and m.per_piece else ""
        return f"{name.replace('_', ' ')} ({unit}{per_text})" if unit else name.replace("_", " ")

    # --- A against B: one sign everywhere, positive where A did better (the word table's Δ) -------------

    def a_better(self, name: str, a, b):
        """The difference a trace draws, positive where A did better, as Δ = logprob A − B is.

        Lower is better (surprisal): B − A, which per word is Δ itself. Higher is better: A − B.
        No better side (entropy, typicality): A − B, and the axis says "A higher" instead.
        """
        return b - a if self.get(name).higher_is_better is False else a - b

    def difference_title(self, name: str, units: str) -> str:
        """The difference axis with its order, unit and which way is up: "B − A (nats) · ↑ A better"."""
        m = self.get(name)
        unit = self.unit_text(name, units)
        order = "B − A" if m.higher_is_better is False else "A − B"
        up = "A higher" if m.higher_is_better is None else "A better"
        return f"{order} ({unit}) · ↑ {up}" if unit else f"{order} · ↑ {up}"

    def signs(self, name: str) -> tuple[str, str]:
        """What the difference above and below zero means, from the declaration (above: A better or higher)."""
        m = self.get(name)
        if m.signs:
            return m.signs
        if m.higher_is_better is not None:
            return "↑ above 0: A did better", "↓ below 0: B did better"
        return (f"↑ above 0: A {m.higher}", f"↓ below 0: B {m.higher}") if m.higher else ("↑ A higher", "↓ B higher")

    def colourings(self) -> list[Metric]:
        """Metrics a heatmap can be coloured by (they have a palette), in declaration order."""
        return [m for m in self._metrics.values() if m.palette is not None and m.level in ("token", "word")]

    def traces(self) -> list[Metric]:
        """Per-model colourings with a value per word: drawn along the text, A and B and A − B."""
        return [m for m in self.colourings() if not m.pair and "word" in self.levels(m.name)]
