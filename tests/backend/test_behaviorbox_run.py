"""BehaviorBox end to end on a scored pair (backend/behaviorbox/: train, store, describe, through run.py's names), with the real encoder.

A synthetic pair result (deterministic) where model B is much worse only on
the digits after a currency sign: the pipeline must find that context with B
as the loser, and find nothing when the two models are equal up to noise
(which takes the context check, analysis.behaviorbox.context_check).
Then persistence with the run, cached word vectors, and the description prompt.
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from analysis import behaviorbox as B
from analysis.words import split_words
from backend.behaviorbox import run as R
from backend.scoring.pair import PairResult

ITEMS = ["apples", "a lamp", "two chairs", "the ticket", "a coat", "bread", "tea", "a map"]


def corpus(n_texts: int = 40, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    texts = []
    for _ in range(n_texts):
        parts = []
        for _ in range(3):
            item, price, count = rng.choice(ITEMS), rng.integers(2, 99), rng.integers(2, 30)
            parts.append(
                rng.choice([
                    f"We paid ${price} for {item} and carried {count} boxes home.",
                    f"The shop sold {item} for ${price}, about {count} percent less than last year.",
                    f"There were {count} people waiting, and {item} cost ${price} today.",
                ])
            )
        texts.append(" ".join(parts))
    return texts


def pair_result(texts: list[str], planted: bool, seed: int = 0, noise: float = 0.02, text_sd: float = 0.0) -> PairResult:
    rng = np.random.default_rng(seed)
    frames = []
    for i, t in enumerate(texts):
        w = split_words(t).assign(text_id=i)
        w["word_index"] = np.arange(len(w))
        frames.append(w)
    words = pd.concat(frames, ignore_index=True)
    base = rng.uniform(-6.0, -0.5, size=len(words))
    # `noise` nats per model (0.02 as in tests/backend/test_sae.py): the SAE sees the probabilities,
    # so a feature can gather the words where noise favoured one model (median Δp ≈ 2 × noise × p);
    # the context check is what keeps such features out.
    lp_a = base + rng.normal(0, noise, len(words))
    lp_b = base + rng.normal(0, noise, len(words))
    texts_of = words["text_id"].to_numpy()
    # A per-text effect (sd text_sd nats): in some texts A happens to do better on every word, as
    # real corpora do by topic and style; equal models in expectation, correlated within a text.
    lp_a = lp_a + rng.normal(0, text_sd, len(texts))[texts_of] if text_sd else lp_a
    starts = words["char_start"].to_numpy()
    currency = np.array([s > 0 and texts[t][s - 1] == "$" for t, s in zip(texts_of, starts)])
    if planted:
        lp_b[currency] -= 5.0  # B is lost only on the amount after "$"
    first = words["word_index"].to_numpy() == 0
    lp_a[first] = lp_b[first] = np.nan  # a text's first word has no context
    words = words.assign(
        logprob_a=lp_a, logprob_b=lp_b, entropy_a=1.0, entropy_b=1.0, n_tokens_a=1, n_tokens_b=1, delta=lp_a - lp_b
    )[["text_id", "word_index", "word", "char_start", "char_end", "logprob_a", "logprob_b", "entropy_a",
       "entropy_b", "n_tokens_a", "n_tokens_b", "delta"]]
    return PairResult(texts=texts, tokens=pd.DataFrame(), words=words.assign(currency=currency), summary=pd.DataFrame())


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny SAEs: threads wait for each other on a busy 2-core machine
    yield
    torch.set_num_threads(before)


SETTINGS = R.BehaviorBoxSettings(steps=800)


@pytest.fixture(scope="module")
def planted(encoder, tmp_path_factory):
    pair = pair_result(corpus(), planted=True)
    folder = tmp_path_factory.mktemp("run")
    calls = []
    bb = R.run_behaviorbox(pair, SETTINGS, lambda *a: calls.append(a), encoder=encoder, run_folder=folder, device="cpu")
    return pair, bb, folder, calls


def test_finds_the_planted_context_with_b_as_the_loser(planted):
    pair, bb, _, _ = planted
    sel = R.selected_features(bb, pair.words, pair.texts)
    assert len(sel) >= 1
    assert set(sel["winner"]) == {"a"}  # nothing else differs, so only A can win
    best = sel.iloc[0]
    ex = bb.examples[bb.examples["feature"] == best["feature"]]
    share = pair.words.loc[ex["word_row"], "currency"].mean()
    assert share >= 0.8, (share, best.to_dict())
    assert best["median_dlogprob"] > 3 and best["consistency"] >= 0.9
    assert "numbers" in best["description"] and '"$"' in best["description"]
    # It holds when its words are picked by context alone (seen: 50 words, all won by A, p = 8.9e-16).
    assert best["holds_in_context"] and best["context_median_dlogprob"] > 3
    assert best["context_p"] < 0.05 / len(bb.stats) and best["context_n"] >= 10
    assert sel["holds_in_context"].all()


@pytest.fixture(scope="module")
def equal_models(planted, encoder, tmp_path_factory):
    """noise (nats per model) -> (pair, result) of a run where A and B are equal up to that noise."""
    runs = {}

    def run(noise: float, text_sd: float = 0.0):
        if (noise, text_sd) not in runs:
            pair = pair_result(corpus(), planted=False, noise=noise, text_sd=text_sd)
            folder = tmp_path_factory.mktemp("equal")
            # The same texts: reuse the planted run's word vectors (they do not depend on the models).
            (folder / R.SUBDIR).mkdir()
            for name in (R.EMBEDDINGS_FILE, "word_embeddings.json"):
                shutil.copy2(planted[2] / R.SUBDIR / name, folder / R.SUBDIR / name)
            runs[noise, text_sd] = pair, R.run_behaviorbox(pair, SETTINGS, encoder=encoder, run_folder=folder, device="cpu")
        return runs[noise, text_sd]

    return run


@pytest.mark.parametrize("noise, text_sd", [(0.02, 0.0), (0.1, 0.0), (0.2, 0.0), (0.1, 0.5)])
def test_nothing_selected_when_the_models_are_equal_up_to_noise(equal_models, noise, text_sd):
    pair, bb = equal_models(noise, text_sd)
    assert len(bb.stats) > 0
    assert R.selected_features(bb, pair.words, pair.texts).empty
    # The context check is a test at 5% family-wise (Bonferroni over the features): under no difference a
    # feature may pass it by chance in about 1 run in 20 (seen once, at 0.1 nats: 1 of 26 features, p =
    # 0.0012 over texts), never more than a handful of features.
    assert bb.stats["holds_in_context"].sum() <= 1


def test_without_the_context_check_noise_passes_for_a_difference(equal_models):
    # At 0.1 nats the old rule alone selects nothing on this corpus (largest |median Δp| 0.13, on
    # fewer than 10 examples); at 0.2 nats it selects a few features, all of them noise.
    pair, bb = equal_models(0.2)
    unfiltered = R.selected_features(bb, pair.words, pair.texts, require_context=False)
    assert len(unfiltered) >= 1
    assert not unfiltered["holds_in_context"].any()
    # The setting trained with is the reading default.
    off = dataclasses.replace(bb, settings=dataclasses.replace(bb.settings, require_context=False))
    pd.testing.assert_frame_equal(R.selected_features(off, pair.words, pair.texts), unfiltered)


def test_sizes_scale_with_the_corpus_and_progress_covers_every_stage(planted):
    pair, bb, _, calls = planted
    n = int(np.isfinite(pair.words["logprob_a"]).sum())
    assert bb.n_words == n
    assert (bb.settings.dict_size, bb.settings.k) == B.default_sae_size(n)
    assert bb.settings.steps == 800 and len(bb.history["loss"]) == 800
    stages = [c[0] for c in calls]
    assert stages[0] == "embedding" and "training" in stages and stages[-1] == "features"
    last_training = [c for c in calls if c[0] == "training"][-1]
    assert last_training[1] == last_training[2] == 800
    # examples point at the run's word table by label
    ex = bb.examples
    assert (pair.words.loc[ex["word_row"], "char_start"].to_numpy() == ex["char_start"].to_numpy()).all()


def test_default_steps_is_the_sae_rule():
    from backend.behaviorbox import sae as S

    assert S.default_steps is R.default_steps  # one copy (analysis/behaviorbox_select.py)
    s = R.resolve(R.BehaviorBoxSettings(dict_size=600), 10_000)
    assert s.dict_size == 600 and s.k == 10 and s.steps == R.default_steps(10_000)


def test_saved_with_the_run_and_reloaded_without_training(planted, encoder, monkeypatch):
    pair, bb, folder, _ = planted
    files = {p.name for p in (folder / R.SUBDIR).iterdir()}
    assert {"sae.safetensors", "sae.json", "stats.parquet", "examples.parquet", "result.json",
            "word_embeddings.npy", "word_embeddings.json"} <= files
    back = R.load_behaviorbox(folder)
    pd.testing.assert_frame_equal(back.stats, bb.stats)
    pd.testing.assert_frame_equal(back.examples, bb.examples)
    assert back.settings == bb.settings and back.n_words == bb.n_words
    pd.testing.assert_frame_equal(
        R.selected_features(back, pair.words, pair.texts), R.selected_features(bb, pair.words, pair.texts)
    )
    sae = R.load_sae_of(back, device="cpu")
    assert torch.equal(sae.W_dec, bb.sae.W_dec.cpu())
    assert R.load_behaviorbox(folder / "nowhere") is None
    assert R.has_context_check(back)
    # Model-written descriptions survive a reload.
    back.model_descriptions[3] = {"text": "prices", "model": "tiny"}
    R.save_model_descriptions(back)
    assert R.load_behaviorbox(folder).model_descriptions == {3: {"text": "prices", "model": "tiny"}}

    # Training again with other settings reuses the cached word vectors.
    def no_encoder(*args, **kwargs):
        raise AssertionError("word vectors were recomputed")

    monkeypatch.setattr("backend.behaviorbox.word_embeddings.word_embeddings", no_encoder)
    again = R.run_behaviorbox(pair, R.BehaviorBoxSettings(steps=50, dict_size=32, k=4), encoder=encoder,
                              run_folder=folder, device="cpu")
    assert R.load_behaviorbox(folder).settings.dict_size == 32 == again.settings.dict_size
    # ...but not for other words.
    other = pair_result(corpus(10, seed=1), planted=True)
    with pytest.raises(AssertionError, match="recomputed"):
        R.run_behaviorbox(other, R.BehaviorBoxSettings(steps=50), encoder=encoder, run_folder=folder, device="cpu")


def test_results_saved_before_the_context_check_load_unfiltered(planted, tmp_path):
    pair, _, folder, _ = planted
    shutil.copytree(folder / R.SUBDIR, tmp_path / R.SUBDIR)
    new = R.load_behaviorbox(tmp_path)
    stats = pd.read_parquet(tmp_path / R.SUBDIR / "stats.parquet")
    stats[B.STATS_COLUMNS].to_parquet(tmp_path / R.SUBDIR / "stats.parquet", index=False)
    meta = json.loads((tmp_path / R.SUBDIR / "result.json").read_text())
    del meta["settings"]["require_context"]
    (tmp_path / R.SUBDIR / "result.json").write_text(json.dumps(meta))
    old = R.load_behaviorbox(tmp_path)
    assert not R.has_context_check(old) and old.settings.require_context
    sel = R.selected_features(old, pair.words, pair.texts)
    want = R.selected_features(new, pair.words, pair.texts, require_context=False)
    assert sel["feature"].tolist() == want["feature"].tolist()
    assert "holds_in_context" not in sel.columns


def test_too_few_words():
    pair = pair_result(["Hi."], planted=True)
    with pytest.raises(ValueError, match="at least 2 words"):
        R.run_behaviorbox(pair, SETTINGS, encoder=object())


def test_describe_prompt_marks_the_word_in_context(planted):
    pair, bb, _, _ = planted
    feat = R.selected_features(bb, pair.words, pair.texts)["feature"].iloc[0]
    ex = R.examples_in_context(bb, pair.words, pair.texts, [feat])
    prompt = R.describe_prompt(ex)
    lines = [line for line in prompt.splitlines() if line[:1].isdigit()]
    assert len(lines) == min(20, len(ex))
    assert all("[[" in line and "]]" in line for line in lines)
    assert "$[[" in prompt.replace(" ", "")


def test_describe_with_a_model(planted, tiny_a):
    from backend.models.loading import load_model
    from backend.models.specs import ModelSpec

    pair, bb, _, _ = planted
    ex = R.examples_in_context(bb, pair.words, pair.texts, [bb.examples["feature"].iloc[0]])
    loaded = load_model(ModelSpec.parse(str(tiny_a)))
    with pytest.raises(ValueError, match="chat template"):
        R.describe_with_model(loaded, ex)
    loaded.tokenizer.chat_template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant:{% endif %}"
    )
    text = R.describe_with_model(loaded, ex, n=3, max_new_tokens=5)
    assert isinstance(text, str) and text
    assert json.dumps(text)
