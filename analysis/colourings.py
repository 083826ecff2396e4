"""What a result can be coloured by and at which level, and the columns a colouring needs that no table stores.

The rank difference needs both models' ranks side by side, joined from the token table when a map is drawn.
Per word: the rank of each model's first token of the word (analysis/words.first_token_values), so any two
tokenizers compare. Per position: only when the vocabulary is shared, hence the tokenisation. Nothing is
stored: the columns (schema.RANK_PAIR_COLUMNS) are added to one text's rows as the map is drawn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import metrics
from analysis.words import first_token_values

# Pair tables with one row per position, the same for both models' maps: looked up by position, not per model.
POSITION_TABLES = ("same_vocab", "ranks")


def offered_colourings(both_models: bool, same_vocab: bool) -> list[str]:
    """The colourings a pair of results can be drawn by, in declaration order.

    A pair colouring (A − B) needs both models: with one failed it would be a map of "not scored
    by both". The same-vocabulary measures need the same-vocabulary table.
    """
    return [m.name for m in metrics.colourings()
            if (both_models or not m.pair) and (same_vocab or "same_vocab" not in metrics.tables(m.name))]


def drawn_level(colouring: str, level: str, same_vocab: bool = True) -> str:
    """"tokens" or "words": the level asked for when the colouring has it (levels_for), else the one it has."""
    allowed = levels_for(colouring, same_vocab)
    return level if level.removesuffix("s") in allowed else f"{allowed[0]}s"


def levels_for(colouring: str, same_vocab: bool = True) -> tuple[str, ...]:
    """metrics.levels, less the token level of the rank pair when the vocabularies differ: two tokenizers'
    positions are not the same pieces, so their ranks compare per word only."""
    allowed = metrics.levels(colouring)
    if not same_vocab and "ranks" in metrics.tables(colouring) and "word" in allowed:
        return ("word",)
    return allowed


def with_rank_pair(text: str, text_id: int, tokens: pd.DataFrame, words: pd.DataFrame,
                   same_vocab: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """One text's word rows with rank_a / rank_b (each model's first token of the word), and its same-vocabulary
    rows (when there are any) with each position's rank_a / rank_b: the "ranks" table, joined when drawn."""
    side = {m: tokens[(tokens["text_id"] == text_id) & (tokens["model"] == m)] for m in ("a", "b")}
    words = words.sort_values("word_index")
    index = words["word_index"].to_numpy()
    ranks = {}
    for m in ("a", "b"):
        first = first_token_values(text, side[m], "rank")  # by word_index
        ranks[f"rank_{m}"] = np.full(len(index), np.nan)
        inside = (index >= 0) & (index < len(first))
        ranks[f"rank_{m}"][inside] = first[index[inside]]
    words = words.assign(**ranks)
    if same_vocab is not None and len(same_vocab):
        by_position = {m: side[m].set_index("position")["rank"] for m in ("a", "b")}
        position = same_vocab["position"]
        same_vocab = same_vocab.assign(rank_a=position.map(by_position["a"]).to_numpy(dtype=float),
                                       rank_b=position.map(by_position["b"]).to_numpy(dtype=float))
    return words, same_vocab


def rows_for(colouring: str, text: str, text_id: int, tokens: pd.DataFrame, words: pd.DataFrame,
             same_vocab: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """One text's word rows and same-vocabulary rows (None when there are none), with the rank pair joined
    when the colouring needs it. tokens, words: that text's rows already."""
    sv = same_vocab[same_vocab["text_id"] == text_id] if same_vocab is not None and len(same_vocab) else None
    if "ranks" in metrics.tables(colouring):
        return with_rank_pair(text, text_id, tokens, words, sv)
    return words, sv
