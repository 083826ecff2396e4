"""Tables as the page shows them: units applied, columns named for people. Display only, no new numbers."""

from __future__ import annotations

import pandas as pd

from analysis.schema import to_display_units


def summary_display(summary: pd.DataFrame, texts: list[str], labels: tuple[str, str], units: str) -> pd.DataFrame:
    """The per text and model summary (schema.SUMMARY_COLUMNS) with display units and readable headers."""
    frame = summary.sort_values(["text_id", "model"]).reset_index(drop=True)
    names = {"a": f"A · {labels[0]}", "b": f"B · {labels[1]}"}
    snippet = {i: " ".join(t.split())[:24] + ("…" if len(" ".join(t.split())) > 24 else "") for i, t in enumerate(texts)}
    return pd.DataFrame(
        {
            "text": [f"{i + 1}: {snippet.get(i, '')}" for i in frame["text_id"]],
            "model": [names.get(m, m) for m in frame["model"]],
            "tokens": frame["n_tokens"].astype("int64"),
            f"surprisal ({units}/token)": to_display_units(frame["mean_surprisal"], units),
            "perplexity": frame["perplexity"],
            "bits per byte": frame["bits_per_byte"],
            f"entropy ({units})": to_display_units(frame["mean_entropy"], units),
            # In percent with a fixed format: Streamlit's "percent" format drops trailing zeros, so
            # 40% sat above 36.67% in the same column.
            "top-1 share (%)": frame["top1_share"] * 100,
            "words won": [f"{w} of {n}" for w, n in zip(frame["words_won"], frame["n_words"])],
        }
    )


def text_choices(texts: list[str]) -> dict[int, str]:
    return {i: f"{i + 1}: " + (" ".join(t.split())[:60] or "(blank)") for i, t in enumerate(texts)}
