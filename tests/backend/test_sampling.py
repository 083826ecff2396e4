"""Batched sampling: untempered logprobs against teacher forcing, batching invariance, stops and trimming."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from backend.scoring.head import Head, chunk_size, position_stats
from backend.corpus.inputs import InputError
from backend.sampling.prompts import first_line_end, model_input
from backend.sampling.row_sampler import RowSampler
from backend.sampling.sampler import SampleSettings, sample_prompts
from analysis.sample_tables import REFERENCE_SAMPLE_ID, SAMPLE_COLUMNS, SAMPLE_TOKEN_COLUMNS
from backend.scoring.score import forward_hidden

PROMPTS = ["The quick brown fox", "1 + 2 =", "Alice: How are you?\nBob:"]  # different lengths: left padding


def teacher_forced(loaded, prompt_ids: list[int], sample_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The scoring engine's statistics of sample_ids after prompt_ids: one unpadded forward, float32 head.

    The shift: the hidden state at index p - 1 predicts the token at index p, so
    the sample's tokens (indices len(prompt) ..) are predicted from len(prompt) - 1 ...
    """
    ids = torch.tensor([prompt_ids + sample_ids])
    with torch.inference_mode():
        hidden = forward_hidden(loaded.model, ids, torch.ones_like(ids))[0]
        head = Head.of(loaded.model)
        n = len(prompt_ids)
        stats = position_stats(
            head, hidden[n - 1 : n - 1 + len(sample_ids)], torch.tensor(sample_ids), 1, chunk_size(head.vocab_size)
        )
    return stats.logprob.double().numpy(), stats.entropy.double().numpy()


@pytest.mark.parametrize("which", ["model_a", "model_b"])
def test_logprobs_match_teacher_forcing(which, request):
    """Every kept token's untempered logprob and entropy equal the scoring engine's, to 1e-3 nats."""
    loaded = request.getfixturevalue(which)
    settings = SampleSettings(n_samples=3, max_new_tokens=10, seed=1)
    result = sample_prompts(loaded, PROMPTS, settings, model="x")
    assert len(result.samples) == len(PROMPTS) * 4
    worst = 0.0
    for (prompt_id, sample_id), tokens in result.tokens.groupby(["prompt_id", "sample_id"]):
        prompt_ids = model_input(loaded.tokenizer, PROMPTS[prompt_id], settings).ids
        logprob, entropy = teacher_forced(loaded, prompt_ids, tokens["token_id"].tolist())
        worst = max(worst, np.abs(logprob - tokens["logprob"].to_numpy()).max())
        np.testing.assert_allclose(tokens["logprob"], logprob, atol=1e-3)
        np.testing.assert_allclose(tokens["entropy"], entropy, atol=1e-3)
    assert worst < 1e-3
    # Totals are the sums of the kept tokens' logprobs.
    totals = result.tokens.groupby(["prompt_id", "sample_id"])["logprob"].sum()
    joined = result.samples.set_index(["prompt_id", "sample_id"])["total_logprob"]
    np.testing.assert_allclose(joined.loc[totals.index], totals, atol=1e-9)


def test_tables_have_their_schema(model_a):
    result = sample_prompts(model_a, PROMPTS[:2], SampleSettings(n_samples=2, max_new_tokens=6), model="a")
    assert dict(result.samples.dtypes.astype(str)) == {
        c: ("object" if t == "string" else t) for c, t in SAMPLE_COLUMNS.items()
    } or list(result.samples.columns) == list(SAMPLE_COLUMNS)
    assert list(result.tokens.columns) == list(SAMPLE_TOKEN_COLUMNS)
    assert set(result.samples["model"]) == {"a"}
    references = result.samples[result.samples["is_reference"]]
    assert list(references["sample_id"]) == [REFERENCE_SAMPLE_ID] * 2
    assert list(result.samples.groupby("prompt_id").size()) == [3, 3]
    # Token spans tile each sample's text.
    for (p, s), tokens in result.tokens.groupby(["prompt_id", "sample_id"]):
        text = result.samples.set_index(["prompt_id", "sample_id"]).loc[(p, s), "text"]
        in_text = tokens[~tokens["is_eos"]]
        assert "".join(text[a:b] for a, b in zip(in_text["char_start"], in_text["char_end"])) == text


def test_batching_does_not_change_samples(model_a):
    """A prompt's samples are the same alone, with other prompts, and in calls of any size."""
    settings = SampleSettings(n_samples=3, max_new_tokens=8, seed=7)
    together = sample_prompts(model_a, PROMPTS, settings, model="a")
    small_calls = sample_prompts(model_a, PROMPTS, settings, model="a", call_rows=3)  # calls cut across prompts
    single_rows = sample_prompts(model_a, PROMPTS, settings, model="a", call_rows=1)
    alone = pd.concat(
        [sample_prompts(model_a, [p], settings, model="a").samples.assign(prompt_id=i) for i, p in enumerate(PROMPTS)],
        ignore_index=True,
    )
    for other in (small_calls.samples, single_rows.samples, alone):
        assert list(other["text"]) == list(together.samples["text"])
        np.testing.assert_allclose(other["total_logprob"], together.samples["total_logprob"], atol=1e-4)


def test_seed_reproduces_and_changes(model_a):
    base = SampleSettings(n_samples=4, max_new_tokens=8, seed=3)
    first = sample_prompts(model_a, PROMPTS[:1], base).samples["text"].tolist()
    again = sample_prompts(model_a, PROMPTS[:1], base).samples["text"].tolist()
    other = sample_prompts(model_a, PROMPTS[:1], SampleSettings(n_samples=4, max_new_tokens=8, seed=4)).samples["text"].tolist()
    assert first == again
    assert first != other
    assert len(set(first[:4])) > 1  # the samples of one prompt differ from each other


def test_reference_is_near_greedy(model_a):
    """At temperature 0.1 the reference follows the top token almost always."""
    result = sample_prompts(model_a, PROMPTS, SampleSettings(n_samples=2, max_new_tokens=10))
    ref = result.tokens[result.tokens["is_reference"]]
    samples = result.tokens[~result.tokens["is_reference"]]
    assert (ref["rank"] == 1).mean() > 0.8
    assert (samples["rank"] == 1).mean() < (ref["rank"] == 1).mean()


def test_sampler_draws_from_the_tempered_distribution():
    """Frequencies of the inverse-CDF choice follow softmax(logits / T); records stay untempered."""
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0, -math.inf]])
    draws = 40_000
    rows = logits.expand(draws, -1)
    uniforms = torch.rand(draws, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for temperature in (1.0, 0.5):
        sampler = RowSampler(torch.full((draws,), temperature), 1.0, uniforms)
        out = sampler(None, rows.clone())
        chosen = sampler.ids[0]
        assert torch.equal(out.argmax(-1), chosen)
        freq = torch.bincount(chosen, minlength=5).double() / draws
        expected = torch.softmax(logits[0] / temperature, -1).double()
        assert torch.allclose(freq, expected, atol=0.01)
        assert freq[4] == 0  # a -inf logit is never drawn
        untempered = torch.log_softmax(logits[0], -1)
        assert torch.allclose(sampler.logprobs[0], untempered[chosen], atol=1e-6)
        p = untempered.exp()
        entropy = -(p[:4] * untempered[:4]).sum()
        assert torch.allclose(sampler.entropies[0], entropy.expand(draws).float(), atol=1e-5)


def test_top_p_keeps_the_nucleus():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    draws = 4000
    uniforms = torch.rand(draws, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    sampler = RowSampler(torch.ones(draws), 0.75, uniforms)
    sampler(None, logits.expand(draws, -1).clone())
    freq = torch.bincount(sampler.ids[0], minlength=4).double() / draws
    assert freq[2] == 0 and freq[3] == 0  # 0.5 + 0.3 already reaches 0.75
    assert abs(freq[0] - 0.5 / 0.8) < 0.03


def test_first_line_end():
    assert first_line_end(["Paris", ".", "\n", "More"]) == 2
    assert first_line_end(["\n", "\n", " Paris", "\n"]) == 3  # leading blank lines do not end the answer
    assert first_line_end(["Paris", "?\n"]) == 1  # the newline's token goes, with its "?"
    assert first_line_end(["Paris", " is", " nice"]) is None
    assert first_line_end([]) is None


def test_eos_and_single_line(model_a):
    """EOS ends a sample (its logprob counts, its text does not); single-line trims and recomputes."""
    settings = SampleSettings(n_samples=6, max_new_tokens=12, seed=2)
    free = sample_prompts(model_a, PROMPTS[:2], settings)
    # Make a token the model often picks an EOS too, so samples end early.
    common = int(free.tokens["token_id"].value_counts().index[0])
    original = model_a.model.generation_config.eos_token_id
    model_a.model.generation_config.eos_token_id = [model_a.tokenizer.eos_token_id, common]
    try:
        stopped = sample_prompts(model_a, PROMPTS[:2], settings)
    finally:
        model_a.model.generation_config.eos_token_id = original
    ended = stopped.samples[stopped.samples["stop_reason"] == "eos"]
    assert len(ended) > 0
    for row in ended.itertuples():
        tokens = stopped.tokens[(stopped.tokens["prompt_id"] == row.prompt_id) & (stopped.tokens["sample_id"] == row.sample_id)]
        assert tokens["is_eos"].tolist() == [False] * (len(tokens) - 1) + [True]
        assert tokens["token_id"].iloc[-1] == common
        assert row.n_tokens == len(tokens)
        assert row.total_logprob == pytest.approx(tokens["logprob"].sum())
    # Before the EOS, the stopped samples are the free ones (same draws).
    merged = free.samples.merge(stopped.samples, on=["prompt_id", "sample_id"], suffixes=("_free", "_stop"))
    for row in merged.itertuples():
        assert row.text_free.startswith(row.text_stop)

    # A random model seldom writes a newline: raise its logit so that lines end.
    newline = model_a.tokenizer("\n", add_special_tokens=False)["input_ids"][0]

    def favour_newline(module, args, output):
        output[..., newline] += 3.0
        return output

    hook = model_a.model.get_output_embeddings().register_forward_hook(favour_newline)
    try:
        lines = sample_prompts(model_a, ["Alice: How are you?\nBob:", "- apples\n-"], SampleSettings(n_samples=8, max_new_tokens=16, single_line=True, seed=5))
    finally:
        hook.remove()
    for row in lines.samples.itertuples():
        assert "\n" not in row.text.lstrip()
        tokens = lines.tokens[(lines.tokens["prompt_id"] == row.prompt_id) & (lines.tokens["sample_id"] == row.sample_id)]
        assert row.n_tokens == len(tokens)
        assert row.total_logprob == pytest.approx(tokens["logprob"].sum())
        if row.n_tokens:
            assert row.mean_logprob == pytest.approx(tokens["logprob"].mean())
        else:
            assert math.isnan(row.mean_logprob)
    assert "newline" in set(lines.samples["stop_reason"])


def test_chat_template_when_asked_and_present(model_a):
    tokenizer = model_a.tokenizer
    plain = model_input(tokenizer, "Hi", SampleSettings(chat_template=True))
    assert not plain.chat_template  # no template: the raw prompt, BOS first
    assert plain.ids[0] == tokenizer.bos_token_id and plain.text == "Hi"
    tokenizer.chat_template = "{% for m in messages %}<s>{{ m['content'] }} =>{% endfor %}"
    try:
        templated = model_input(tokenizer, "Hi", SampleSettings(chat_template=True, prompt_format="Q: {prompt}"))
        untemplated = model_input(tokenizer, "Hi", SampleSettings(chat_template=False))
    finally:
        tokenizer.chat_template = None
    assert templated.chat_template and templated.text == "<s>Hi =>"  # the format is for raw prompts only
    assert templated.ids.count(tokenizer.bos_token_id) == 1  # the template's <s> is the special token
    assert not untemplated.chat_template
    formatted = model_input(tokenizer, "Hi", SampleSettings(chat_template=True, prompt_format="Q: {prompt}\nA:"))
    assert formatted.text == "Q: Hi\nA:" and not formatted.chat_template  # no template: the format applies


def test_bad_settings_and_prompts(model_a):
    with pytest.raises(InputError):
        SampleSettings(temperature=0)
    with pytest.raises(InputError):
        SampleSettings(prompt_format="no placeholder")
    with pytest.raises(InputError):
        sample_prompts(model_a, ["   "], SampleSettings(n_samples=1, max_new_tokens=2))
    with pytest.raises(InputError, match="context"):
        sample_prompts(model_a, ["word " * 300], SampleSettings(n_samples=1, max_new_tokens=2))


@pytest.mark.parametrize("which", ["model_a", "model_b"])
def test_sampled_statistics_are_the_scorers_to_the_bit(which, request, monkeypatch):
    """What the sampler records for a drawn token is what the scorer's head gives that token, bit for bit.

    Both call backend/scoring/logit_stats.py. Checked on what generate actually fed the sampler: its
    logits through the statistics core, and the hidden states before the model's head through the
    scorer's head (position_stats). Re-scoring from a fresh forward pass is within float32 rounding
    (the forward with a KV cache and padding is not the same arithmetic): test_logprobs_match_teacher_forcing.
    """
    from backend.sampling.row_sampler import TOP_K
    from backend.scoring.logit_stats import logit_stats

    loaded = request.getfixturevalue(which)
    steps = []  # (hidden before the head, logits the sampler saw, the sampler's record) per step
    hidden_in: list[torch.Tensor] = []
    hook = loaded.model.get_output_embeddings().register_forward_pre_hook(
        lambda module, args: hidden_in.append(args[0][:, -1].detach().clone()))
    original = RowSampler.__call__

    def recording(self, input_ids, scores):
        logits = scores.float().clone()
        out = original(self, input_ids, scores)
        steps.append((hidden_in[-1], logits, [column[-1] for column in (
            self.logprobs, self.entropies, self.ranks, self.topk_logprobs, self.topk_ids, self.ids)]))
        return out

    monkeypatch.setattr(RowSampler, "__call__", recording)
    try:
        sample_prompts(loaded, PROMPTS, SampleSettings(n_samples=3, max_new_tokens=8, seed=2, temperature=1.5), model="x")
    finally:
        hook.remove()
    assert len(steps) >= 8
    head = Head.of(loaded.model)
    for hidden, logits, (logprob, entropy, rank, top_lp, top_ids, chosen) in steps:
        recorded = (logprob, entropy, rank, top_lp, top_ids)
        from_logits = logit_stats(logits, chosen, TOP_K)
        scored = position_stats(head, hidden, chosen, TOP_K, chunk_size(head.vocab_size))
        from_head = (scored.logprob, scored.entropy, scored.rank, scored.topk_logprobs, scored.topk_ids)
        for name, want, got_logits, got_head in zip(("logprob", "entropy", "rank", "topk_logprobs", "topk_ids"),
                                                     recorded, from_logits, from_head):
            assert torch.equal(got_logits, want), name
            assert torch.equal(got_head, want), name


def test_a_converted_folder_keeps_its_chat_template(tmp_path):
    """The fast tokenizer load (tokenizer.json + special tokens) once dropped chat_template.jinja, so the
    embedded SmolLM2-Instruct got the base-model prompt and answered <|im_end|> at once: empty answers."""
    from transformers import PreTrainedTokenizerFast

    from backend.models.loading import fast_tokenizer
    from backend.sampling.prompts import has_chat_template
    from tiny_models import _byte_level_tokenizer

    template = "{% for m in messages %}<s>{{ m['content'] }} =>{% endfor %}"
    fast = PreTrainedTokenizerFast(tokenizer_object=_byte_level_tokenizer(300), eos_token="</s>")
    fast.chat_template = template
    fast.save_pretrained(tmp_path)
    assert (tmp_path / "chat_template.jinja").is_file()
    assert fast_tokenizer(tmp_path).chat_template == template
    (tmp_path / "chat_template.jinja").unlink()
    assert not has_chat_template(fast_tokenizer(tmp_path))  # a base model's folder: none
