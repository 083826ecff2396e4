"""backend/behaviorbox/sae.py: the BatchTopK SAE, and the BehaviorBox pipeline end to end
on a synthetic corpus with one planted difference."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from analysis import behaviorbox as B
from analysis.differences import word_contexts
from backend.behaviorbox import sae as S


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # These SAEs are tiny: on a busy 2-core machine, intra-op threads spend
    # more time waiting for each other than multiplying (5x slower here).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def clusters(n=600, d=16, n_clusters=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, d)) * 3
    return (centres[rng.integers(n_clusters, size=n)] + rng.normal(size=(n, d)) * 0.3).astype(np.float32)


@pytest.fixture(scope="module")
def trained():
    x = clusters()
    calls = []
    model, hist = S.train_sae(x, dict_size=32, k=3, steps=400, seed=0, progress=lambda *a: calls.append(a))
    return x, model, hist, calls


def test_same_seed_same_weights_other_seed_other_weights(trained):
    x, model, _, _ = trained
    again, _ = S.train_sae(x, dict_size=32, k=3, steps=400, seed=0)
    for name, v in model.state_dict().items():
        assert torch.equal(v, again.state_dict()[name]), name
    other, _ = S.train_sae(x, dict_size=32, k=3, steps=400, seed=1)
    assert not torch.equal(model.W_dec, other.W_dec)


def test_training_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    want = torch.rand(3)
    torch.manual_seed(123)
    S.train_sae(clusters(n=64), dict_size=8, k=2, steps=5, seed=0)
    assert torch.equal(torch.rand(3), want)


def test_decoder_rows_have_unit_norm(trained):
    _, model, _, _ = trained
    norms = model.W_dec.detach().norm(dim=1).cpu()
    torch.testing.assert_close(norms, torch.ones_like(norms), atol=1e-5, rtol=0)


def test_loss_decreases_and_progress_is_reported(trained):
    _, _, hist, calls = trained
    loss = np.array(hist["loss"])
    assert len(loss) == 400 and hist["step"][-1] == 400
    assert loss[-50:].mean() < 0.3 * loss[:10].mean()
    assert calls[-1][:2] == (400, 400) and 100 <= len(calls) <= 401
    assert all(isinstance(c[2], float) for c in calls)


def test_inference_threshold_gives_about_k_active_features(trained):
    x, model, hist, _ = trained
    acts = S.encode(model, x)
    assert acts.shape == (len(x), 32) and acts.dtype == np.float32
    assert (acts >= 0).all()
    assert hist["threshold"] > 0
    assert 1.5 <= (acts > 0).sum(1).mean() <= 6  # k = 3
    # Encoding a row alone gives the same code: no batch effects at inference.
    np.testing.assert_allclose(S.encode(model, x[:1]), acts[:1], rtol=1e-5, atol=1e-6)


def test_dead_features_are_reinitialised():
    # 4 tight clusters, 64 features, k=1: most features can never win a slot.
    x = clusters(n=400, d=8, n_clusters=4, seed=2)
    model, hist = S.train_sae(x, dict_size=64, k=1, steps=300, seed=0, dead_steps=20)
    assert hist["resampled"], "no dead feature was re-initialised"
    steps, counts = zip(*hist["resampled"])
    assert sum(counts) > 0 and max(steps) <= 0.8 * 300
    norms = model.W_dec.detach().norm(dim=1).cpu()
    torch.testing.assert_close(norms, torch.ones_like(norms), atol=1e-5, rtol=0)


def test_top_activations_match_the_dense_code(trained):
    x, model, _, _ = trained
    dense = S.encode(model, x)
    streamed = S.top_activations(model, x, top=10, batch_size=97)
    ref = B.top_activations(dense, top=10)
    key = ["feature", "rank"]
    got = streamed.sort_values(key).reset_index(drop=True)
    ref = ref.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[key], ref[key])
    np.testing.assert_allclose(got["activation"], ref["activation"], rtol=1e-5)
    assert (dense[got["row"], got["feature"]] == got["activation"].astype(np.float32)).all()


def test_save_and_load_round_trip(trained, tmp_path):
    x, model, _, _ = trained
    S.save_sae(model, tmp_path / "sae")
    cfg = json.loads((tmp_path / "sae" / S.CONFIG_FILE).read_text())
    assert (cfg["dict_size"], cfg["k"], cfg["seed"], cfg["steps"]) == (32, 3, 0, 400)
    back = S.load_sae(tmp_path / "sae", device=str(model.b_dec.device))
    assert float(back.threshold) == float(model.threshold)
    np.testing.assert_array_equal(S.encode(back, x), S.encode(model, x))


# --- planted difference --------------------------------------------------

VOCAB = (
    "the of and to in is it that was for on are with as be at by this had not but from or have "
    "an they which one you were all we her she there would their will when who him been has more"
).split()


def planted_corpus(shift_b: float, noise: float = 0.02, seed: int = 0, d: int = 24):
    """~3,600 words in 60 texts of toy prose with "$ 123" prices and plain
    numbers. Embeddings: a random direction per word type plus a bit of the
    previous word; every number shares a "digit" direction and a number right
    after "$" adds a distinctive "currency" direction. Both models have the
    same probability per word type, each plus N(0, noise) nats; model B loses
    `shift_b` nats on currency numbers only."""
    rng = np.random.default_rng(seed)
    vec = {w: rng.normal(size=d) / np.sqrt(d) for w in VOCAB + [".", ",", "$"]}
    p_word = {w: rng.uniform(0.02, 0.9) for w in vec}
    digit, currency = rng.normal(size=(2, d))
    digit, currency = digit / np.linalg.norm(digit), currency / np.linalg.norm(currency)
    texts, rows, embs = [], [], []
    for t in range(60):
        toks, kinds = [], []
        while len(toks) < 60:
            r = rng.random()
            if r < 0.08:
                toks += ["$", str(rng.integers(1, 500))]
                kinds += ["word", "currency"]
            elif r < 0.13:
                toks.append(str(rng.integers(1, 500)))
                kinds.append("number")
            elif r < 0.2:
                toks.append(rng.choice([".", ","]))
                kinds.append("word")
            else:
                toks.append(VOCAB[rng.integers(len(VOCAB))])
                kinds.append("word")
        text, prev = "", None
        for i, (tok, kind) in enumerate(zip(toks, kinds)):
            if text and tok not in ".," and prev != "$":
                text += " "
            start = len(text)
            text += tok
            if kind == "word":
                e, p = vec[tok].copy(), p_word[tok]
            else:
                e, p = digit + rng.normal(size=d) * 0.1, 0.3
                if kind == "currency":
                    e = e + currency
            if prev is not None:
                e = e + 0.3 * vec.get(prev, digit)
            embs.append(e + rng.normal(size=d) * 0.1)
            la = np.log(p) + rng.normal() * noise
            lb = np.log(p) + rng.normal() * noise - (shift_b if kind == "currency" else 0.0)
            rows.append((t, i, tok, start, len(text), min(la, -1e-4), min(lb, -1e-4), kind))
            prev = tok
        texts.append(text)
    cols = ["text_id", "word_index", "word", "char_start", "char_end", "logprob_a", "logprob_b", "kind"]
    words = pd.DataFrame(rows, columns=cols)
    words["delta"] = words["logprob_a"] - words["logprob_b"]
    return texts, words, np.asarray(embs)


def behaviorbox(words, emb, seed=0):
    x = B.performance_aware_embeddings(emb, np.exp(words["logprob_a"]), np.exp(words["logprob_b"]))
    dict_size, k = B.default_sae_size(len(words))
    model, _ = S.train_sae(x, dict_size, k, steps=1000, seed=seed)
    examples = B.feature_examples(S.encode(model, x), words)
    return examples, B.select_features(B.stats_from_examples(examples))


def test_planted_difference_is_found_with_b_as_the_loser():
    texts, words, emb = planted_corpus(shift_b=3.0)
    examples, selected = behaviorbox(words, emb)
    assert len(selected) > 0
    assert (selected["winner"] == "a").all()
    share = {
        f: (examples[examples.feature == f]["kind"] == "currency").mean() for f in selected["feature"]
    }
    best = selected.iloc[0]
    assert share[best.feature] >= 0.7 and best.median_dlogprob > 2
    assert max(share.values()) >= 0.95  # at least one feature is purely the planted context
    assert np.mean(list(share.values())) >= 0.6  # 0.74-0.86 over seeds 0-4
    # The description names the context.
    ex = examples[examples.feature == max(share, key=share.get)]
    ctx = word_contexts(words, texts, ex["row"].to_numpy(), context_words=3)
    desc = B.describe_feature(ex["word"].tolist(), ctx.values.tolist())
    assert desc.startswith("Mostly numbers") and 'Before: "$"' in desc


def test_no_feature_is_selected_when_the_models_are_equal_up_to_noise():
    # Noise of 0.02 nats per model. The SAE sees the probabilities, so a
    # feature can gather the words where noise happened to favour one model:
    # its median Δp grows to about 2 × noise × p, which must stay below the
    # 0.1 threshold (at 0.05 nats per model it reaches it now and then).
    _, words, emb = planted_corpus(shift_b=0.0)
    _, selected = behaviorbox(words, emb)
    assert selected.empty
