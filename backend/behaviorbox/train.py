"""BehaviorBox training on a scored pair: word vectors -> SAE -> each feature's top words -> stats.

  word table (PairResult.words) -> contextual word vectors (backend/behaviorbox/word_embeddings.py)
  -> performance-aware vectors (analysis.behaviorbox, + both models' word probabilities)
  -> BatchTopK SAE (backend/behaviorbox/sae.py) -> each feature's top words -> stats
  -> the context check: the same SAE on the vectors with the probability part set to its corpus mean
     ranks words by context alone; does the feature's winner still win on those words?
The result is saved with the run (backend/behaviorbox/store.py); selection and descriptions
are applied when reading (analysis/behaviorbox_select.py, backend/behaviorbox/describe.py).

Only this module orchestrates; the maths lives in analysis/behaviorbox.py and
backend/behaviorbox/sae.py. Importing it does not import torch: torch comes in with
the first training.

Why the context check: the SAE sees both models' probabilities, so when the
two models are equal up to noise some features gather the words where noise
favoured one model, and their own top words show a gap by construction. The
words a feature picks by context alone were chosen without looking at either
model, so a one-sided sign test on them (Bonferroni over the features) is
free of that selection bias; `require_context` (default on) keeps only the
features that pass it.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from analysis import behaviorbox as B
from analysis.behaviorbox_select import BehaviorBoxResult, BehaviorBoxSettings, resolve, usable_words
from backend.behaviorbox.store import load_cached_embeddings, save_behaviorbox

# (stage "embedding" | "training" | "features", done, total, a short note for the progress bar)
Progress = Callable[[str, int, int, str], None]


def _words_key(texts: list[str], words: pd.DataFrame) -> str:
    """A fingerprint of the texts and the word spans, so cached vectors are never reused for other words."""
    h = hashlib.sha256()
    for t in texts:
        h.update(hashlib.sha256(t.encode("utf-8")).digest())
    for col in ("text_id", "char_start", "char_end"):
        h.update(np.ascontiguousarray(words[col].to_numpy(np.int64)).tobytes())
    return h.hexdigest()[:32]


def run_behaviorbox(
    result,
    settings: BehaviorBoxSettings = BehaviorBoxSettings(),
    progress: Progress | None = None,
    encoder=None,
    run_folder: str | Path | None = None,
    device: str | None = None,
) -> BehaviorBoxResult:
    """Train BehaviorBox on a backend.scoring.pair.PairResult and find its features.

    encoder: a backend.models.sentence_encoder.SentenceEncoder (default: the
    embedded all-MiniLM-L6-v2, on the GPU when there is one). run_folder: a
    run's folder (`run_folder_of`); the result is saved there and word
    vectors cached there are reused. device: the SAE's (default: cuda when
    available). Raises ValueError when the corpus has too few usable words.
    """
    words = usable_words(result.words)
    n = len(words)
    if n < 2:
        raise ValueError(f"BehaviorBox needs at least 2 words scored by both models; this run has {n}")
    settings = resolve(settings, n)
    with _torch_threads(settings.threads):
        return _run(result, words, settings, progress, encoder, run_folder, device)


def _run(result, words, settings, progress, encoder, run_folder, device) -> BehaviorBoxResult:
    n = len(words)
    say = progress or (lambda *a: None)
    folder = Path(run_folder) if run_folder is not None else None
    timings = {}

    t0 = time.perf_counter()
    if encoder is None:
        encoder = default_encoder()
    encoder_name = getattr(encoder, "name", type(encoder).__name__)
    key = _words_key(result.texts, words)
    vectors = load_cached_embeddings(folder, key, encoder_name)
    if vectors is not None and len(vectors) == n:
        say("embedding", 1, 1, f"Word vectors reused from the run ({n:,} words)")
    else:
        from backend.behaviorbox.word_embeddings import word_embeddings

        say("embedding", 0, 1, f"Embedding {n:,} words in context…")
        vectors = word_embeddings(
            encoder, result.texts, words,
            progress=lambda d, t: say("embedding", d, t, f"Embedding words in context: window {d:,} of {t:,}"),
        ).vectors
    timings["embedding"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    p_a = np.exp(words["logprob_a"].to_numpy(float))
    p_b = np.exp(words["logprob_b"].to_numpy(float))
    x = B.performance_aware_embeddings(vectors, p_a, p_b, settings.w)
    from backend.behaviorbox import sae as S

    def on_step(step: int, total: int, loss: float) -> None:
        say("training", step, total, f"Training the sparse autoencoder: step {step:,} of {total:,}, loss {loss:.4f}")

    model, history = S.train_sae(
        x, settings.dict_size, settings.k, steps=settings.steps, lr=settings.lr, seed=settings.seed,
        progress=on_step, batch_size=settings.batch_size, device=device,
        dead_steps=settings.dead_steps or settings.steps + 1,
    )
    timings["training"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say("features", 0, 1, "Finding each feature's top words…")
    top = S.top_activations(model, x, top=settings.top)
    examples = B.feature_examples(top, words, settings.top, settings.pct, settings.min_frac)
    examples.insert(3, "word_row", words.index.to_numpy()[examples["row"].to_numpy()])
    stats = B.stats_from_examples(examples)
    say("features", 0, 1, "Checking each feature on words picked by context alone…")
    stats = stats.merge(_context_check(model, x, words, stats, settings), on="feature", how="left")
    timings["features"] = time.perf_counter() - t0
    say("features", 1, 1, "Done")

    out = BehaviorBoxResult(
        settings=settings, n_words=n, stats=stats, examples=examples, history=history, timings=timings,
        encoder=encoder_name, sae=model,
    )
    if folder is not None:
        save_behaviorbox(out, folder, vectors=vectors, words_key=key)
    return out


def _context_check(model, x: np.ndarray, words: pd.DataFrame, stats: pd.DataFrame, settings) -> pd.DataFrame:
    """analysis.behaviorbox.context_check with the context-only examples of this SAE: the same
    inference encoding (threshold rule, backend.behaviorbox.sae.top_activations) and keep rule as the
    features' own examples, on vectors whose probability part is the corpus mean."""
    from backend.behaviorbox import sae as S

    top = S.top_activations(model, B.context_only_vectors(x), top=settings.top)
    examples = B.feature_examples(top, words, settings.top, settings.pct, settings.min_frac)
    return B.context_check(examples, stats)


@contextlib.contextmanager
def _torch_threads(n: int | None):
    """torch's intra-op threads set to n for a block (None: unchanged), then put back.
    Process-wide while it lasts (torch has no per-thread setting)."""
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def default_encoder():
    """The embedded all-MiniLM-L6-v2, on the GPU when there is one."""
    import torch

    from backend.models.sentence_encoder import load_sentence_encoder

    return load_sentence_encoder(device="cuda" if torch.cuda.is_available() else "cpu")
