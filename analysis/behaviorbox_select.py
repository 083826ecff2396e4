"""BehaviorBox settings and results, and reading a result: sizes, feature selection, examples in context.

The pure half of backend/behaviorbox/ (no torch): the Differences page reads a saved
result with these, and backend/behaviorbox/train.py resolves its settings here.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from analysis import behaviorbox as B
from analysis.differences import word_contexts


@dataclasses.dataclass(frozen=True)
class BehaviorBoxSettings:
    dict_size: int | None = None  # None: analysis.behaviorbox.default_sae_size(n_words)
    k: int | None = None  # None: with dict_size, from default_sae_size
    steps: int | None = None  # None: default_steps(n_words)
    w: float = 0.7  # weight of the probability part (the paper's default)
    top: int = 50  # top activating words looked at per feature
    pct: float = 25.0  # keep those above this percentile of the top activations...
    min_frac: float = 0.25  # ...or at least this fraction of the feature's max
    min_abs_median_logprob: float = 1.0  # selection, nats
    min_abs_median_p: float = 0.1  # selection, probability
    min_examples: int = 10
    # Selection: keep only features whose winner still wins on the words picked by context
    # alone (analysis.behaviorbox.context_check); without it, noise the SAE read off the
    # probabilities passes as a difference when the two models are equal.
    require_context: bool = True
    seed: int = 0
    lr: float = 1e-3
    batch_size: int = 256
    # Steps without activation before backend/behaviorbox/sae.py re-initialises a feature; None: never.
    # Off by default for now: sae._resample gives a new feature encoder weights of the mean
    # alive norm, and on these vectors (the two probability columns carry most of the
    # variance) the new features swamp BatchTopK and training diverges (loss 0.04 -> 300 on
    # tests/backend/test_behaviorbox_run.py's corpus). Anthropic's recipe scales by 0.2 of
    # that norm, which trains cleanly; set 200 here once backend/behaviorbox/sae.py does.
    dead_steps: int | None = None
    # torch intra-op threads while embedding and training; None: torch's own choice. Fixed,
    # never picked from the machine's load, so the same seed trains the same SAE.
    threads: int | None = None


def default_steps(n_words: int, batch_size: int = 256) -> int:
    """SAE training steps for n_words words (backend/behaviorbox/sae.py trains this many when not told):
    at least 2000 (small corpora converge slowly per pass, but steps are cheap), at least 10 passes
    over large ones. A batch is never larger than the corpus."""
    return max(2000, 10 * math.ceil(n_words / max(1, min(batch_size, n_words))))


def k_for(dict_size: int) -> int:
    """default_sae_size's k rule for a dictionary size chosen by hand: the paper's 50/3000, 4 to 50."""
    return int(min(dict_size, np.clip(round(dict_size * B.PAPER_K / B.PAPER_DICT_SIZE), 4, B.PAPER_K)))


def resolve(settings: BehaviorBoxSettings, n_words: int) -> BehaviorBoxSettings:
    """Fill the None sizes from the corpus size: dict_size and k by default_sae_size
    (one feature per 30 words, k = dict_size/60, the paper's 3000/50 from 90k words on),
    steps by default_steps (at least 2000, at least 10 passes)."""
    size, k = B.default_sae_size(n_words)
    return dataclasses.replace(
        settings,
        dict_size=int(settings.dict_size or size),
        k=int(settings.k or (k if not settings.dict_size else k_for(settings.dict_size))),
        steps=int(settings.steps or default_steps(n_words, settings.batch_size)),
    )


@dataclasses.dataclass
class BehaviorBoxResult:
    settings: BehaviorBoxSettings  # as run (sizes resolved)
    n_words: int  # words used (both logprobs finite)
    stats: pd.DataFrame  # STATS_COLUMNS + CONTEXT_COLUMNS (absent when saved before), every feature that fired
    examples: pd.DataFrame  # feature_examples(...) + word_row (label in the run's word table)
    history: dict  # backend.behaviorbox.sae.train_sae's history (loss per step, threshold, dead features, device...)
    timings: dict  # seconds: embedding, training, features
    encoder: str
    model_descriptions: dict = dataclasses.field(default_factory=dict)  # feature -> {"text", "model"}
    folder: str | None = None  # where it is saved; None: only in memory
    sae: object = None  # the trained backend.behaviorbox.sae.SAEModel when in memory


def usable_words(words: pd.DataFrame) -> pd.DataFrame:
    """The word-table rows BehaviorBox can use: both logprobs finite (a text's first
    word has no context, and a failed model leaves NaN)."""
    ok = np.isfinite(words["logprob_a"].to_numpy(float)) & np.isfinite(words["logprob_b"].to_numpy(float))
    return words[ok]


# --- reading a result -------------------------------------------------------------


def selected_features(
    bb: BehaviorBoxResult,
    words: pd.DataFrame,
    texts: list[str],
    min_abs_median_logprob: float | None = None,
    min_abs_median_p: float | None = None,
    min_examples: int | None = None,
    context_words: int = 10,
    require_context: bool | None = None,
) -> pd.DataFrame:
    """analysis.behaviorbox.select_features over the stored stats (thresholds
    and require_context default to the ones trained with), strongest first,
    with `description` (automatic, from the examples) and `model_description`
    (model-written, "" when none was asked for). A result saved before the
    context check has no such columns and is not filtered by it
    (`has_context_check`)."""
    s = bb.settings
    sel = B.select_features(
        bb.stats,
        s.min_abs_median_logprob if min_abs_median_logprob is None else min_abs_median_logprob,
        s.min_abs_median_p if min_abs_median_p is None else min_abs_median_p,
        s.min_examples if min_examples is None else min_examples,
        s.require_context if require_context is None else require_context,
    )
    ex = examples_in_context(bb, words, texts, sel["feature"].tolist(), context_words)
    by_feature = dict(tuple(ex.groupby("feature", sort=False)))
    sel["description"] = [
        B.describe_feature(by_feature[f]["word_text"].tolist(), list(zip(by_feature[f]["left"], by_feature[f]["right"])))
        for f in sel["feature"]
    ]
    sel["model_description"] = [bb.model_descriptions.get(int(f), {}).get("text", "") for f in sel["feature"]]
    return sel


def has_context_check(bb: BehaviorBoxResult) -> bool:
    """Whether bb's stats carry the context check (results saved before it do not)."""
    return "holds_in_context" in bb.stats.columns


def examples_in_context(
    bb: BehaviorBoxResult, words: pd.DataFrame, texts: list[str], features=None, context_words: int = 10
) -> pd.DataFrame:
    """The kept examples of `features` (default all), strongest first per
    feature, with left / word_text / right context strings (plain text, see
    analysis.differences.word_contexts)."""
    ex = bb.examples if features is None else bb.examples[bb.examples["feature"].isin(list(features))]
    ex = ex.sort_values(["feature", "activation"], ascending=[True, False], kind="stable")
    ctx = word_contexts(words, texts, ex["word_row"].to_numpy(), context_words)
    return pd.concat([ex.reset_index(drop=True), ctx.reset_index(drop=True)], axis=1)
