"""Tables as the page shows them: units applied, columns named for people. Display only, no new numbers."""

from __future__ import annotations

import json
from urllib.parse import unquote

import pandas as pd

from analysis.schema import to_display_units
from backend.models.specs import ModelSpec


def summary_display(summary: pd.DataFrame, texts: list[str], labels: tuple[str, str], units: str,
                    totals: pd.DataFrame | None = None) -> pd.DataFrame:
    """The per text and model summary (schema.SUMMARY_COLUMNS) with display units and readable headers.

    Key columns first (text, model, words won, bits per byte), so a narrow screen shows who won
    without scrolling; the page pins the first two. totals (analysis.summary.corpus_totals, text_id
    -1) are appended as "all N texts" rows. "words won" compares the two models; with one model in
    the summary (the other failed) there is no comparison, so the column is left out rather than
    showing "0 of 0".
    """
    frame = summary.sort_values(["text_id", "model"]).reset_index(drop=True)
    if totals is not None and len(totals):
        frame = pd.concat([frame, totals.sort_values("model")], ignore_index=True)
    compared = frame["model"].nunique() >= 2
    names = {"a": f"A · {labels[0]}", "b": f"B · {labels[1]}"}
    snippet = {i: " ".join(t.split())[:24] + ("…" if len(" ".join(t.split())) > 24 else "") for i, t in enumerate(texts)}
    snippet[-1] = f"all {len(texts)} texts"
    table = pd.DataFrame(
        {
            "text": [f"{i + 1}: {snippet.get(i, '')}" if i >= 0 else snippet[-1] for i in frame["text_id"]],
            "model": [names.get(m, m) for m in frame["model"]],
            # No word scored by both (e.g. a one-word text with no start token): nothing won or lost.
            "words won": [f"{w} of {n}" if n else "–" for w, n in zip(frame["words_won"], frame["n_words"])],
            "bits per byte": frame["bits_per_byte"],
            f"surprisal ({units}/token)": to_display_units(frame["mean_surprisal"], units),
            "perplexity": frame["perplexity"],
            f"entropy ({units})": to_display_units(frame["mean_entropy"], units),
            # In percent with a fixed format: Streamlit's "percent" format drops trailing zeros, so
            # 40% sat above 36.67% in the same column.
            "top-1 (%)": frame["top1_share"] * 100,
            "tokens": frame["n_tokens"].astype("int64"),
        }
    )
    return table if compared else table.drop(columns="words won")


def text_choices(texts: list[str]) -> dict[int, str]:
    return {i: f"{i + 1}: " + (" ".join(t.split())[:60] or "(blank)") for i, t in enumerate(texts)}


def readable_spec(spec: str) -> str:
    """A spec string as typed: its option values are URL-encoded in storage (bos=%3C%7C... is <|...)."""
    return unquote(str(spec))


def variant_of(spec: str) -> str:
    """A run's model variant as the sidebar names it ("as is", "int8", "pruned 50%"); the spec's text when unreadable."""
    try:
        parsed = ModelSpec.parse(str(spec))
    except Exception:  # noqa: BLE001 - a run saved by another version
        return "?"
    if parsed.variant == "prune":
        return f"pruned {parsed.sparsity:.0%}"
    return "as is" if parsed.variant == "none" else parsed.variant


def _settings_dict(settings: str) -> dict | None:
    """A run's settings as stored in the catalog (JSON text); None when they are not a JSON object."""
    try:
        values = json.loads(settings) if settings else {}
    except (TypeError, ValueError):
        return None
    return values if isinstance(values, dict) else None


def readable_settings(settings: str) -> str:
    """A run's settings (JSON in the catalog) in a few words; the raw text when it is not JSON."""
    values = _settings_dict(settings)
    if values is None:
        return str(settings)
    parts = [f"top-k {values['top_k']}"] if values.get("top_k") is not None else []
    parts.append(f"window {values['window']:,} tokens" if values.get("window") else "window: the model's own")
    return " · ".join(parts)


def scored_by(settings: str) -> str:
    """Which models gave results in a run, in a few words: "A and B", or "A only: B failed"."""
    failed = sorted(side for side in ((_settings_dict(settings) or {}).get("failed") or {}) if side in ("a", "b"))
    if not failed:
        return "A and B"
    if len(failed) == 2:  # not saved by the app (nothing to save), but a catalog may hold one
        return "none: A and B failed"
    other = "b" if failed[0] == "a" else "a"
    return f"{other.upper()} only: {failed[0].upper()} failed"


def run_title(name: str, created: str) -> str:
    """How messages name a run: its name, or its time when it has none (the id means nothing to a reader)."""
    return str(name).strip() if name and str(name).strip() else readable_time(created)


def readable_time(created: str) -> str:
    """A catalog timestamp (ISO, UTC) as the pages show it: 2026-11-23 16:46:40 UTC."""
    text = str(created).replace("T", " ")
    return text.removesuffix("+00:00") + " UTC" if text.endswith("+00:00") else text


def runs_display(runs: pd.DataFrame) -> pd.DataFrame:
    """The run catalog (backend RunStore.list()) as the Runs page shows it."""
    return pd.DataFrame(
        {
            "name": runs["name"],
            # Near the left, short: a failed model must be seen without scrolling the table sideways.
            "scored by": runs["settings"].map(scored_by),
            # The variant next to the name: an int8 copy and its original differ only in ?variant=.
            "variant A": runs["model_a"].map(variant_of),
            "variant B": runs["model_b"].map(variant_of),
            "created": runs["created"].map(readable_time),
            "model A": runs["model_a"].map(readable_spec),
            "model B": runs["model_b"].map(readable_spec),
            "settings": runs["settings"].map(readable_settings),
            "texts": runs["n_texts"],
            "tokens": runs["n_tokens"],
            "size (KB)": (runs["size_bytes"] / 1024).round(1),
            "id": runs["id"],
        }
    )
