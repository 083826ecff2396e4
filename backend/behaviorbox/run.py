"""BehaviorBox on a scored pair, end to end, persisted with the run.

  word table (PairResult.words) -> contextual word vectors (backend/behaviorbox/word_embeddings.py)
  -> performance-aware vectors (analysis.behaviorbox, + both models' word probabilities)
  -> BatchTopK SAE (backend/behaviorbox/sae.py) -> each feature's top words -> stats
  -> the context check: the same SAE on the vectors with the probability part set to its corpus mean
     ranks words by context alone; does the feature's winner still win on those words?
  -> selection (large, consistent gap that holds in context), descriptions

Only this module orchestrates; the maths lives in analysis/behaviorbox.py and
backend/behaviorbox/sae.py. Importing it does not import torch (the page imports it to
read saved results): torch comes in with the first training.

A result is saved in the run's folder of the run store, under behaviorbox/:
  sae.safetensors, sae.json   the trained SAE (backend/sae.save_sae)
  stats.parquet               per-feature statistics (analysis.behaviorbox.STATS_COLUMNS, then
                              CONTEXT_COLUMNS: context_n, context_median_dlogprob, context_consistency,
                              context_p, holds_in_context), every feature that fired; results saved
                              before the context check lack those columns and are read unfiltered
  examples.parquet            each feature's kept top words (analysis.behaviorbox.feature_examples), every feature
  result.json                 settings as run, training summary, timings, model-written descriptions
  word_embeddings.npy/.json   the encoder's word vectors (float16), reused when training again with other settings
The folder is written under a temporary name and swapped in, like a run.
Selection thresholds are applied when reading (`selected_features`), so
changing them needs no training.

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
import dataclasses
import hashlib
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from analysis import behaviorbox as B
from analysis.differences import word_contexts

SUBDIR = "behaviorbox"
EMBEDDINGS_FILE = "word_embeddings.npy"
FORMAT_VERSION = 2  # 2: stats.parquet carries the context check columns

# (stage "embedding" | "training" | "features", done, total, a short note for the progress bar)
Progress = Callable[[str, int, int, str], None]


@dataclasses.dataclass(frozen=True)
class BehaviorBoxSettings:
    dict_size: int | None = None  # None: analysis.behaviorbox.default_sae_size(n_words)
    k: int | None = None  # None: with dict_size, from default_sae_size
    steps: int | None = None  # None: default_steps(n_words) (backend/behaviorbox/sae.py's rule)
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
    """backend.behaviorbox.sae.default_steps, without importing torch (a test keeps the two equal)."""
    return max(2000, 10 * math.ceil(n_words / max(1, min(batch_size, n_words))))


def resolve(settings: BehaviorBoxSettings, n_words: int) -> BehaviorBoxSettings:
    """Fill the None sizes from the corpus size: dict_size and k by default_sae_size
    (one feature per 30 words, k = dict_size/60, the paper's 3000/50 from 90k words on),
    steps by default_steps (at least 2000, at least 10 passes)."""
    size, k = B.default_sae_size(n_words)
    return dataclasses.replace(
        settings,
        dict_size=int(settings.dict_size or size),
        k=int(settings.k or (k if not settings.dict_size else _k_for(settings.dict_size))),
        steps=int(settings.steps or default_steps(n_words, settings.batch_size)),
    )


def _k_for(dict_size: int) -> int:
    # default_sae_size's k rule for a dictionary size chosen by hand: the paper's 50/3000, 4 to 50.
    return int(min(dict_size, np.clip(round(dict_size * B.PAPER_K / B.PAPER_DICT_SIZE), 4, B.PAPER_K)))


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


def _words_key(texts: list[str], words: pd.DataFrame) -> str:
    """A fingerprint of the texts and the word spans, so cached vectors are never reused for other words."""
    h = hashlib.sha256()
    for t in texts:
        h.update(hashlib.sha256(t.encode("utf-8")).digest())
    for col in ("text_id", "char_start", "char_end"):
        h.update(np.ascontiguousarray(words[col].to_numpy(np.int64)).tobytes())
    return h.hexdigest()[:32]


def _load_cached_embeddings(folder: Path | None, key: str, encoder_name: str) -> np.ndarray | None:
    if folder is None:
        return None
    meta_path = folder / SUBDIR / "word_embeddings.json"
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("key") != key or meta.get("encoder") != encoder_name:
            return None
        return np.load(folder / SUBDIR / EMBEDDINGS_FILE).astype(np.float32)
    except (OSError, ValueError):
        return None


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
    vectors = _load_cached_embeddings(folder, key, encoder_name)
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


# --- persistence --------------------------------------------------------------------


def run_folder_of(run_id: str, store=None) -> Path:
    """The folder of a saved run (backend.store.runs.RunStore layout: <root>/<run_id>)."""
    from backend.store.runs import RunNotFound, RunStore

    store = store or RunStore()
    folder = store.root / run_id
    if not run_id or "/" in run_id or not folder.is_dir():
        raise RunNotFound(run_id)
    return folder


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(type(value).__name__)


def _meta(bb: BehaviorBoxResult) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "settings": dataclasses.asdict(bb.settings),
        "n_words": bb.n_words,
        "history": bb.history,
        "timings": bb.timings,
        "encoder": bb.encoder,
        "model_descriptions": {str(k): v for k, v in bb.model_descriptions.items()},
    }


def save_behaviorbox(bb: BehaviorBoxResult, run_folder: str | Path, vectors: np.ndarray | None = None,
                     words_key: str | None = None) -> Path:
    """Write bb (and its SAE, when in memory) into <run_folder>/behaviorbox, replacing an earlier one."""
    from backend.behaviorbox.sae import save_sae

    final = Path(run_folder) / SUBDIR
    tmp = Path(run_folder) / f".tmp-{SUBDIR}-{os.getpid()}-{time.time_ns()}"
    tmp.mkdir(parents=True)
    try:
        if bb.sae is not None:
            save_sae(bb.sae, tmp)
        bb.stats.to_parquet(tmp / "stats.parquet", index=False)
        bb.examples.to_parquet(tmp / "examples.parquet", index=False)
        (tmp / "result.json").write_text(json.dumps(_meta(bb), default=_json_default))
        if vectors is not None and words_key is not None:
            # float16 halves the file; the SAE's inputs are balanced sums of these, far above its rounding.
            np.save(tmp / EMBEDDINGS_FILE, vectors.astype(np.float16))
            (tmp / "word_embeddings.json").write_text(json.dumps({"key": words_key, "encoder": bb.encoder}))
        elif (final / EMBEDDINGS_FILE).is_file():  # keep the cached vectors of an earlier training
            for name in (EMBEDDINGS_FILE, "word_embeddings.json"):
                shutil.copy2(final / name, tmp / name)
        old = None
        if final.exists():
            old = final.with_name(f".tmp-old-{SUBDIR}-{time.time_ns()}")
            os.rename(final, old)
        os.rename(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    bb.folder = str(final)
    return final


def load_behaviorbox(run_folder: str | Path) -> BehaviorBoxResult | None:
    """The result saved with a run, or None when it has none (the SAE itself stays
    on disk: `load_sae_of` reads it)."""
    folder = Path(run_folder) / SUBDIR
    if not (folder / "result.json").is_file():
        return None
    meta = json.loads((folder / "result.json").read_text())
    return BehaviorBoxResult(
        settings=BehaviorBoxSettings(**meta["settings"]),
        n_words=int(meta["n_words"]),
        stats=pd.read_parquet(folder / "stats.parquet"),
        examples=pd.read_parquet(folder / "examples.parquet"),
        history=meta.get("history", {}),
        timings=meta.get("timings", {}),
        encoder=meta.get("encoder", ""),
        model_descriptions={int(k): v for k, v in (meta.get("model_descriptions") or {}).items()},
        folder=str(folder),
    )


def load_sae_of(bb: BehaviorBoxResult, device: str | None = None):
    """The trained SAE of a saved result (backend.behaviorbox.sae.SAEModel)."""
    from backend.behaviorbox.sae import load_sae

    if bb.sae is None:
        if bb.folder is None:
            raise ValueError("this result was never saved and holds no SAE")
        bb.sae = load_sae(bb.folder, device)
    return bb.sae


def save_model_descriptions(bb: BehaviorBoxResult) -> None:
    """Rewrite result.json with bb.model_descriptions (atomic replace); no-op when unsaved."""
    if bb.folder is None:
        return
    path = Path(bb.folder) / "result.json"
    tmp = path.with_name(f".result-{os.getpid()}-{time.time_ns()}.json")
    tmp.write_text(json.dumps(_meta(bb), default=_json_default))
    os.replace(tmp, path)


# --- model-written descriptions --------------------------------------------------------

DESCRIBE_EXAMPLES = 20  # enough to show a pattern, short enough for a 135M model's context
DESCRIBE_PROMPT = (
    "Here are {n} short text snippets. In each one, a single word is marked like [[this]].\n\n{snippets}\n\n"
    "What do the marked words have in common, taking their context into account "
    "(the kind of word, what comes before it, the kind of text)? "
    "Answer with one short sentence."
)


def _snippet(left: str, word: str, right: str, width: int = 60) -> str:
    left = " ".join(left.split())[-width:]
    right = " ".join(right.split())[:width]
    word = word.replace("\n", "\\n").replace("\t", "\\t") if word.isspace() else word
    return f"…{left} [[{word}]] {right}…"


def describe_prompt(examples: pd.DataFrame, n: int = DESCRIBE_EXAMPLES) -> str:
    """The user message asking for a description: the n strongest examples
    (rows of examples_in_context for one feature) with the word marked."""
    ex = examples.sort_values("activation", ascending=False).head(n)
    snippets = "\n".join(
        f"{i + 1}. {_snippet(l, w, r)}" for i, (l, w, r) in enumerate(zip(ex["left"], ex["word_text"], ex["right"]))
    )
    return DESCRIBE_PROMPT.format(n=len(ex), snippets=snippets)


def describe_with_model(loaded, examples: pd.DataFrame, n: int = DESCRIBE_EXAMPLES, max_new_tokens: int = 60) -> str:
    """A description written by an instruct model (backend.models.loading.LoadedModel,
    e.g. smollm2-135m) from the feature's n strongest examples in context.
    Greedy decoding, under the model's lock. The caller must show it as
    model-written: a small model's guess, not a measurement."""
    import torch

    tok = loaded.tokenizer
    if not getattr(tok, "chat_template", None):
        raise ValueError(f"{loaded.spec.label} has no chat template: pick an instruct model to write descriptions")
    messages = [{"role": "user", "content": describe_prompt(examples, n)}]
    prompt = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)
    device = next(loaded.model.parameters()).device
    with loaded.lock, torch.inference_mode():
        out = loaded.model.generate(
            input_ids=ids["input_ids"].to(device), attention_mask=ids["attention_mask"].to(device),
            max_new_tokens=max_new_tokens, do_sample=False,
            pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
        )
    text = tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
    return " ".join(text.split()) or "(the model wrote nothing)"
