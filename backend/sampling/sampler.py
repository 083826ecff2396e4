"""Sample answers from one model for semantic entropy: all rows of several prompts in one generate call.

For each prompt: `n_samples` answers at `temperature` (default 1.0) and one
reference answer at `reference_temperature` (0.1, near-greedy: the model's
"best" answer, as in Farquhar et al. 2024). The prompts of a call are
left-padded and each is repeated n_samples + 1 times (what
num_return_sequences does inside generate), so one `model.generate` call
decodes every sample of several prompts together.

The token choice is made by `RowSampler`, a logits processor, and generate
itself runs greedy on the one-hot scores it returns. Why:
  * each row draws its randomness from its own generator, seeded by
    (seed, prompt, sample id): a prompt's samples do not depend on which
    prompts share its call, on the batch size, or on anything else touching
    torch's global RNG (another browser session), and the batched path and a
    loop of single calls draw the same answers. Exactly so in exact
    arithmetic; in float32, padding moves logits by ~1e-5, which changes a
    draw only when it lands among the thousands of near-zero-probability
    tokens of the tail (measured: 52 of 55 SmolLM2 answers of 32 tokens
    identical; the others diverge at such a token);
  * one call mixes rows at different temperatures (samples and reference);
  * the processor sees each step's raw logits, so the chosen token's logprob
    and the entropy under the UNTEMPERED distribution are recorded as they are
    made, in O(rows x vocab) memory. output_logits=True would keep
    steps x rows x vocab floats: 3.4 GB for Gemma's 262k vocabulary at
    50 rows x 64 steps.

Units: nats. A sample's tokens are the generated tokens up to and including
its EOS (the EOS token's probability is part of the answer's probability: an
answer that ends there), or up to the length limit, or, for single-line
answers, up to (not including) the token holding the first newline after some
non-blank text. `text` is exactly the decoded kept tokens, EOS excluded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from typing import Callable

import numpy as np
import pandas as pd
import torch
from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from backend.corpus.inputs import InputError, check_texts
from backend.models.loading import LoadedModel

# (prompts done, prompts in all); fractional while a call is decoding.
Progress = Callable[[float, int], None]

REFERENCE_SAMPLE_ID = -1  # the reference answer's sample_id: not one of the N samples

# Rows (prompts x (n_samples + 1)) per generate call. The draws do not depend on
# it (tested); bigger calls are faster until the logits temporaries
# (rows x vocab floats, a few copies) stop fitting.
DEFAULT_CALL_ROWS = {"cpu": 64, "cuda": 512}

PROMPT_COLUMNS = {
    "prompt_id": "int64",  # index of the prompt in the request
    "model": "string",
    "prompt": "string",  # as the user gave it
    "model_input": "string",  # after the prompt format and chat template
    "n_prompt_tokens": "int64",  # BOS / template tokens included
    "chat_template": "bool",  # whether a chat template was applied
}
SAMPLE_COLUMNS = {
    "prompt_id": "int64",
    "model": "string",
    "sample_id": "int64",  # 0..n_samples-1; REFERENCE_SAMPLE_ID for the reference answer
    "is_reference": "bool",
    "text": "string",  # decoded kept tokens, EOS excluded
    "n_tokens": "int64",  # kept tokens, EOS included when the sample ended with it
    "total_logprob": "float64",  # nats, sum of the kept tokens' untempered logprobs
    "mean_logprob": "float64",  # nats per token; NaN with no tokens
    "mean_entropy": "float64",  # nats, mean next-token entropy over the kept tokens; NaN with none
    "stop_reason": "string",  # "eos" | "newline" | "length"
}
SAMPLE_TOKEN_COLUMNS = {
    "prompt_id": "int64",
    "model": "string",
    "sample_id": "int64",
    "is_reference": "bool",
    "position": "int64",  # 0-based index among the sample's generated tokens
    "token_id": "int64",
    "token": "string",  # decoded piece
    "char_start": "int64",  # text[char_start:char_end] is this token's text (empty for EOS)
    "char_end": "int64",
    "logprob": "float64",  # nats, ln p(token | prompt, earlier tokens), untempered
    "entropy": "float64",  # nats, of the untempered next-token distribution
    "rank": "float64",  # 1 = the untempered distribution's top choice (as in the scoring table)
    "topk_token_ids": "object",  # list[int], best first, untempered
    "topk_tokens": "object",  # list[str]
    "topk_logprobs": "object",  # list[float], nats
    "is_eos": "bool",
}
TOP_K = 5  # alternatives kept per token, for the heatmap's tooltips


@dataclasses.dataclass(frozen=True)
class SampleSettings:
    """What changes the samples (all of it is in the cache key)."""

    n_samples: int = 10  # Farquhar et al. use 10 samples per question
    temperature: float = 1.0  # 1.0: the model's own distribution
    top_p: float = 1.0  # 1.0: no nucleus truncation
    max_new_tokens: int = 64
    seed: int = 0
    reference_temperature: float = 0.1  # near-greedy best answer
    chat_template: bool = False  # use the tokenizer's chat template when it has one
    single_line: bool = False  # cut each answer at its first newline
    prompt_format: str = "{prompt}"  # without a chat template only, e.g. "Question: {prompt}\nAnswer:"

    def __post_init__(self):
        if not 1 <= self.n_samples <= 1000:
            raise InputError(f"number of samples must be between 1 and 1000, got {self.n_samples}")
        if not (self.temperature > 0 and self.reference_temperature > 0):
            raise InputError("temperatures must be above 0 (use a small value such as 0.1 for near-greedy)")
        if not 0 < self.top_p <= 1:
            raise InputError(f"top-p must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1:
            raise InputError(f"max new tokens must be at least 1, got {self.max_new_tokens}")
        if "{prompt}" not in self.prompt_format:
            raise InputError("the prompt format must contain {prompt}")

    def key(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


@dataclasses.dataclass
class SampleResult:
    prompts: pd.DataFrame  # PROMPT_COLUMNS, one row per prompt
    samples: pd.DataFrame  # SAMPLE_COLUMNS, one row per sample (n_samples + 1 per prompt)
    tokens: pd.DataFrame  # SAMPLE_TOKEN_COLUMNS, one row per kept token

    def with_model(self, model: str) -> "SampleResult":
        return SampleResult(*(t.assign(model=pd.array([model] * len(t), dtype="string")) for t in (self.prompts, self.samples, self.tokens)))


@dataclasses.dataclass
class ModelInput:
    text: str
    ids: list[int]
    chat_template: bool


# --- prompts --------------------------------------------------------------------


def has_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def model_input(tokenizer, prompt: str, settings: SampleSettings, bos_id: int | None | str = "declared") -> ModelInput:
    """The prompt as the model sees it.

    With a chat template (asked for, and the tokenizer has one): the prompt is
    the user's message and the template's own tokens follow (it places any
    BOS). Otherwise: [BOS] + the tokens of prompt_format with the prompt in
    it, as the scoring engine does (texts are data: special-token strings in
    them stay ordinary text). The format is for base models, which need a cue
    such as "Answer:" to answer rather than continue the question.
    """
    if settings.chat_template and has_chat_template(tokenizer):
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        return ModelInput(text, list(ids), True)
    content = settings.prompt_format.replace("{prompt}", prompt)
    ids = tokenizer(content, add_special_tokens=False, split_special_tokens=True)["input_ids"]
    bos = tokenizer.bos_token_id if bos_id == "declared" else bos_id  # the spec's bos= option, when given
    return ModelInput(content, ([] if bos is None else [bos]) + list(ids), False)


def stop_token_ids(loaded: LoadedModel) -> list[int]:
    """EOS ids from the generation config and the tokenizer (chat models often have several)."""
    ids: set[int] = set()
    config_eos = getattr(loaded.model.generation_config, "eos_token_id", None)
    for value in config_eos if isinstance(config_eos, (list, tuple)) else [config_eos]:
        if value is not None:
            ids.add(int(value))
    if loaded.tokenizer.eos_token_id is not None:
        ids.add(int(loaded.tokenizer.eos_token_id))
    return sorted(ids)


def row_seed(seed: int, model_input_text: str, sample_id: int) -> int:
    """A row's generator seed: the same prompt and sample id give the same draws in any batch."""
    digest = hashlib.sha256(f"{seed}|{sample_id}|{model_input_text}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


# --- single-line answers --------------------------------------------------------


class LineWatch:
    """Finds the token holding the first newline that follows non-blank text.

    Leading blank lines do not end an answer (a base model often starts with
    "\\n"); the token with the newline is dropped, so a piece such as "?\\n"
    loses its "?" too: text stays exactly the decoded kept tokens.
    """

    def __init__(self):
        self.seen_text = False

    def ends_line(self, piece: str) -> bool:
        for char in piece:
            if char == "\n" and self.seen_text:
                return True
            if not char.isspace():
                self.seen_text = True
        return False


def first_line_end(pieces: list[str]) -> int | None:
    """Index of the token that ends the first line, or None if no line ends."""
    watch = LineWatch()
    for i, piece in enumerate(pieces):
        if watch.ends_line(piece):
            return i
    return None


# --- the sampler ------------------------------------------------------------------


class RowSampler(LogitsProcessor):
    """Chooses every row's next token; records its untempered logprob and entropy.

    temperatures: [rows]; uniforms: [rows, steps] float64 in [0, 1), one draw
    per row per step (inverse-CDF sampling needs one number, not one per
    vocabulary entry). Returns scores that are 0 at the chosen token and -inf
    elsewhere, so greedy decoding picks exactly it.
    """

    def __init__(self, temperatures: torch.Tensor, top_p: float, uniforms: torch.Tensor, on_step=None, piece=None):
        self.temperatures = temperatures
        self.top_p = top_p
        self.uniforms = uniforms
        self.on_step = on_step
        self.ids: list[torch.Tensor] = []
        self.logprobs: list[torch.Tensor] = []
        self.entropies: list[torch.Tensor] = []
        self.ranks: list[torch.Tensor] = []
        self.topk_logprobs: list[torch.Tensor] = []
        self.topk_ids: list[torch.Tensor] = []
        # Single-line mode: per-row watchers, and which rows have ended their line.
        self.piece = piece
        self.watches = [LineWatch() for _ in range(len(temperatures))] if piece is not None else None
        self.line_ended = torch.zeros(len(temperatures), dtype=torch.bool, device=temperatures.device)
        self.line_end_step = np.full(len(temperatures), -1, dtype=np.int64)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        # Every pass over [rows, vocab] costs as much as a slice of the head's matmul
        # (Gemma: 262k entries a row), so this does as few full passes as it can.
        step = len(self.ids)
        logits = scores.float()
        logp = torch.log_softmax(logits, dim=-1)
        p = logp.exp()
        entropy = -(p * logp).sum(-1)
        bad = torch.isnan(entropy)
        if bad.any():  # a -inf logit gives 0 * -inf; 0 log 0 = 0 there
            entropy[bad] = -(p[bad] * logp[bad].masked_fill(p[bad] == 0, 0.0)).sum(-1)
        u = self.uniforms[:, min(step, self.uniforms.shape[1] - 1)]
        if self.top_p < 1.0:
            chosen = _inverse_cdf(_nucleus(self._tempered(logits, p, None), self.top_p), u)
        else:
            # Rows at temperature 1 sample from p itself; only the others need their own softmax.
            chosen = _inverse_cdf(p, u)
            other = torch.nonzero(self.temperatures != 1.0).squeeze(1)
            if len(other):
                chosen[other] = _inverse_cdf(self._tempered(logits, p, other), u[other])
        top_values, top_ids = logp.topk(min(TOP_K, logp.shape[-1]), dim=-1)
        chosen_logp = logp.gather(1, chosen[:, None]).squeeze(1)
        self.ids.append(chosen)
        self.logprobs.append(chosen_logp)
        self.entropies.append(entropy)
        self.ranks.append(_rank(logits, chosen, top_ids, top_values, chosen_logp))
        self.topk_logprobs.append(top_values)
        self.topk_ids.append(top_ids)
        if self.watches is not None:
            for row, token in enumerate(chosen.tolist()):
                if self.line_end_step[row] < 0 and self.watches[row].ends_line(self.piece(token)):
                    self.line_ended[row] = True
                    self.line_end_step[row] = step
        if self.on_step is not None:
            self.on_step(step + 1)
        # Greedy decoding takes the argmax: make it the chosen token, in place (no new [rows, vocab] tensor).
        return scores.scatter_(1, chosen[:, None], math.inf)

    def _tempered(self, logits: torch.Tensor, p: torch.Tensor, rows: torch.Tensor | None) -> torch.Tensor:
        """softmax(logits / T) of the given rows (None: all rows)."""
        if rows is None:
            if bool((self.temperatures == 1.0).all()):
                return p
            return torch.softmax(logits / self.temperatures[:, None], dim=-1)
        return torch.softmax(logits[rows] / self.temperatures[rows, None], dim=-1)

    def recorded(self, steps: int) -> "Recorded":
        """What the first `steps` steps chose and measured, as [rows, steps(, k)] arrays."""
        rows = len(self.temperatures)
        if not self.ids or steps == 0:
            empty = np.zeros((rows, 0))
            return Recorded(empty.astype(np.int64), empty, empty, empty, np.zeros((rows, 0, TOP_K)), np.zeros((rows, 0, TOP_K), np.int64))

        def stacked(parts, dtype=None):
            out = torch.stack(parts[:steps], 1)
            return (out.double() if dtype == "float" else out).cpu().numpy()

        return Recorded(
            ids=stacked(self.ids),
            logprobs=stacked(self.logprobs, "float"),
            entropies=stacked(self.entropies, "float"),
            ranks=stacked(self.ranks, "float"),
            topk_logprobs=stacked(self.topk_logprobs, "float"),
            topk_ids=stacked(self.topk_ids),
        )


@dataclasses.dataclass
class Recorded:
    ids: np.ndarray  # [rows, steps]
    logprobs: np.ndarray  # [rows, steps] nats, untempered
    entropies: np.ndarray  # [rows, steps] nats
    ranks: np.ndarray  # [rows, steps]
    topk_logprobs: np.ndarray  # [rows, steps, k]
    topk_ids: np.ndarray  # [rows, steps, k]


class LineEnded(StoppingCriteria):
    """Stops a row once its first line has ended (single-line answers): saves the decoding past it."""

    def __init__(self, sampler: RowSampler):
        self.sampler = sampler

    def __call__(self, input_ids, scores, **kwargs) -> torch.BoolTensor:
        return self.sampler.line_ended.clone()


def _nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of most likely tokens whose mass reaches top_p (at least one)."""
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    before = sorted_probs.cumsum(-1) - sorted_probs  # mass of the tokens ranked above
    sorted_probs = sorted_probs.masked_fill(before >= top_p, 0.0)
    return torch.zeros_like(probs).scatter_(1, order, sorted_probs)


def _inverse_cdf(probs: torch.Tensor, u: torch.Tensor, block: int = 1024) -> torch.Tensor:
    """[rows] token ids: for each row the first token whose cumulative probability exceeds u * total.

    Two levels, so that only one pass touches the whole vocabulary: float64
    sums of blocks of `block` tokens, a cumulative sum over the blocks, then a
    float64 cumulative sum inside the one block that holds the draw. (A single
    float64 cumsum over Gemma's 262k entries costs several passes; a float32
    one drifts by up to ~1% over that many terms and would bias the tail.)
    """
    rows, vocab = probs.shape
    pad = (-vocab) % block
    blocks = (torch.nn.functional.pad(probs, (0, pad)) if pad else probs).view(rows, -1, block)
    # A block's own sum in float32 (1024 terms: ~1e-7 relative error), the running sum in float64.
    cumulative = blocks.sum(-1).double().cumsum(-1)  # [rows, n_blocks]
    target = u.to(cumulative.dtype) * cumulative[:, -1]
    # right=True: the first position whose cumulative mass exceeds the target, which has p > 0.
    b = torch.searchsorted(cumulative, target[:, None], right=True).squeeze(1).clamp_(max=blocks.shape[1] - 1)
    before = torch.where(b > 0, cumulative.gather(1, (b - 1).clamp(min=0)[:, None]).squeeze(1), 0.0)
    inside = blocks[torch.arange(rows, device=probs.device), b].double().cumsum(-1)  # [rows, block]
    j = torch.searchsorted(inside, (target - before)[:, None], right=True).squeeze(1).clamp_(max=block - 1)
    chosen = (b * block + j).clamp_(max=vocab - 1)
    zero = probs.gather(1, chosen[:, None]).squeeze(1) == 0  # only by round-off at a block's end
    if zero.any():
        chosen[zero] = probs[zero].argmax(-1)
    return chosen


def _rank(logits, chosen, top_ids, top_logprobs, chosen_logprob) -> torch.Tensor:
    """1 + number of tokens with a strictly higher logit (ties get the best rank).

    A chosen token in the top-k has its rank from the top-k (every token above
    it is in there); only the other rows need a pass over the vocabulary.
    """
    in_top = (top_ids == chosen[:, None]).any(-1)
    rank = (top_logprobs > chosen_logprob[:, None]).sum(-1) + 1
    outside = torch.nonzero(~in_top).squeeze(1)
    if len(outside):
        rows = logits[outside]
        rank[outside] = (rows > rows.gather(1, chosen[outside, None])).sum(-1) + 1
    return rank


# Everything generate might add between the raw logits and our sampler, switched
# off: the model's generation_config fills any value not given here.
_NEUTRAL_GENERATION = dict(
    do_sample=False,
    num_beams=1,
    num_return_sequences=1,
    repetition_penalty=1.0,
    encoder_repetition_penalty=1.0,
    no_repeat_ngram_size=0,
    encoder_no_repeat_ngram_size=0,
    bad_words_ids=None,
    sequence_bias=None,
    min_length=0,
    min_new_tokens=None,
    forced_bos_token_id=None,
    forced_eos_token_id=None,
    suppress_tokens=None,
    begin_suppress_tokens=None,
    exponential_decay_length_penalty=None,
    renormalize_logits=False,
    remove_invalid_values=False,
    guidance_scale=None,
    watermarking_config=None,
    stop_strings=None,
    max_time=None,
    temperature=None,
    top_k=None,
    top_p=None,
    output_logits=False,
    output_scores=False,
    return_dict_in_generate=False,
)


# --- public entry point -------------------------------------------------------------


def sample_prompts(
    loaded: LoadedModel,
    prompts: list[str],
    settings: SampleSettings = SampleSettings(),
    model: str | None = None,
    progress: Progress | None = None,
    call_rows: int | None = None,
) -> SampleResult:
    """Sample n_samples answers + 1 reference answer for every prompt, batched.

    model: the value of the `model` column (default: the spec string).
    call_rows: rows per generate call (performance only: the draws are the same, see the module notes).
    """
    prompts = check_texts(list(prompts))
    model = model if model is not None else str(loaded.spec)
    tokenizer = loaded.tokenizer
    inputs = [model_input(tokenizer, p, settings, loaded.bos_id) for p in prompts]
    for i, inp in enumerate(inputs):
        if len(inp.ids) + settings.max_new_tokens > loaded.max_context:
            raise InputError(
                f"prompt {i + 1} has {len(inp.ids)} tokens; with {settings.max_new_tokens} new tokens it exceeds "
                f"{loaded.spec.label}'s context of {loaded.max_context}"
            )
    rows_per_prompt = settings.n_samples + 1
    device_kind = "cuda" if loaded.device.startswith("cuda") else "cpu"
    per_call = max(1, call_rows or DEFAULT_CALL_ROWS[device_kind])
    # Every (prompt, sample) row, prompts of similar length together (less left padding).
    # Cutting this list anywhere is safe: a row's draws do not depend on its call.
    order = sorted(range(len(prompts)), key=lambda i: (len(inputs[i].ids), i))
    rows = [(i, sample_id) for i in order for sample_id in [*range(settings.n_samples), REFERENCE_SAMPLE_ID]]
    calls = [rows[i : i + per_call] for i in range(0, len(rows), per_call)]
    eos_ids = stop_token_ids(loaded)
    pieces = _piece_decoder(tokenizer)
    done_rows: dict[tuple[int, int], tuple[dict, list[dict]]] = {}
    with loaded.lock, torch.inference_mode():
        for call in calls:
            def on_step(step, _done=len(done_rows), _n=len(call)):
                if progress is not None:
                    share = min(step, settings.max_new_tokens) / settings.max_new_tokens
                    progress((_done + _n * share) / rows_per_prompt, len(prompts))

            recorded = _generate(loaded, [(inputs[i], sample_id) for i, sample_id in call], settings, eos_ids, pieces, on_step)
            for row, (prompt_id, sample_id) in enumerate(call):
                done_rows[(prompt_id, sample_id)] = _sample_row(
                    prompt_id, sample_id, model, recorded, row, settings, eos_ids, tokenizer, pieces)
            if progress is not None:
                progress(len(done_rows) / rows_per_prompt, len(prompts))
    per_prompt = {
        i: ([done_rows[(i, s)][0] for s in [*range(settings.n_samples), REFERENCE_SAMPLE_ID]],
            [t for s in [*range(settings.n_samples), REFERENCE_SAMPLE_ID] for t in done_rows[(i, s)][1]])
        for i in range(len(prompts))
    }
    return _tables(prompts, inputs, model, per_prompt)


def _generate(loaded: LoadedModel, call: list[tuple[ModelInput, int]], settings: SampleSettings, eos_ids, pieces, on_step):
    """One generate call for these (prompt, sample id) rows: what each row chose and measured, step by step."""
    tokenizer, device = loaded.tokenizer, loaded.device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (eos_ids[0] if eos_ids else 0)
    width = max(len(inp.ids) for inp, _ in call)
    rows, mask, temperatures, seeds = [], [], [], []
    for inp, sample_id in call:
        rows.append([pad_id] * (width - len(inp.ids)) + inp.ids)  # left padding: every row ends where decoding starts
        mask.append([0] * (width - len(inp.ids)) + [1] * len(inp.ids))
        temperatures.append(settings.reference_temperature if sample_id == REFERENCE_SAMPLE_ID else settings.temperature)
        seeds.append(row_seed(settings.seed, inp.text, sample_id))
    uniforms = torch.stack(
        [torch.rand(settings.max_new_tokens + 1, generator=torch.Generator().manual_seed(s), dtype=torch.float64) for s in seeds]
    ).to(device)
    sampler = RowSampler(
        torch.tensor(temperatures, dtype=torch.float32, device=device),
        settings.top_p,
        uniforms,
        on_step=on_step,
        piece=pieces if settings.single_line else None,
    )
    input_ids = torch.tensor(rows, dtype=torch.long, device=device)
    sequences = loaded.model.generate(
        input_ids=input_ids,
        attention_mask=torch.tensor(mask, dtype=torch.long, device=device),
        logits_processor=LogitsProcessorList([sampler]),
        stopping_criteria=StoppingCriteriaList([LineEnded(sampler)] if settings.single_line else []),
        max_new_tokens=settings.max_new_tokens,
        eos_token_id=eos_ids or None,
        pad_token_id=pad_id,
        **_NEUTRAL_GENERATION,
    )
    generated = sequences[:, width:].cpu().numpy()
    recorded = sampler.recorded(generated.shape[1])
    _check_generate_followed(generated, recorded.ids, eos_ids, sampler)
    return recorded


def _check_generate_followed(generated: np.ndarray, chosen: np.ndarray, eos_ids, sampler: RowSampler) -> None:
    """generate must have appended exactly our choices until a row stopped (then it pads)."""
    stopped = np.zeros(len(chosen), dtype=bool)
    for step in range(generated.shape[1]):
        live = ~stopped
        if np.any(generated[live, step] != chosen[live, step]):
            raise RuntimeError(
                "generate did not follow the sampler: a logits processor of the model's generation config "
                "ran after it; please report this model"
            )
        stopped |= np.isin(chosen[:, step], eos_ids) | (sampler.line_end_step == step)


def _sample_row(prompt_id, sample_id, model, recorded: Recorded, row: int, settings, eos_ids, tokenizer, pieces):
    """(sample record, token records) of one generated row: stop at EOS, trim, recompute the statistics."""
    steps = recorded.ids.shape[1]
    generated = recorded.ids[row].tolist()
    end, reason = steps, "length"
    eos = set(eos_ids)
    eos_at = next((i for i, t in enumerate(generated) if t in eos), None)
    text_end = steps if eos_at is None else eos_at
    if eos_at is not None:
        end, reason = eos_at + 1, "eos"
    if settings.single_line:
        cut = first_line_end([pieces(t) for t in generated[:text_end]])
        if cut is not None:
            end, text_end, reason = cut, cut, "newline"
    kept = generated[:end]
    lp, ent = recorded.logprobs[row, :end], recorded.entropies[row, :end]
    text = _decode(tokenizer, generated[:text_end])
    starts, ends = char_offsets(tokenizer, generated[:text_end], text)
    is_reference = sample_id == REFERENCE_SAMPLE_ID
    sample = {
        "prompt_id": prompt_id,
        "model": model,
        "sample_id": sample_id,
        "is_reference": is_reference,
        "text": text,
        "n_tokens": len(kept),
        "total_logprob": float(lp.sum()),
        "mean_logprob": float(lp.mean()) if len(kept) else math.nan,
        "mean_entropy": float(ent.mean()) if len(kept) else math.nan,
        "stop_reason": reason,
    }
    tokens = []
    for position, token in enumerate(kept):
        in_text = position < text_end
        top_ids = recorded.topk_ids[row, position].tolist()
        tokens.append(
            {
                "prompt_id": prompt_id,
                "model": model,
                "sample_id": sample_id,
                "is_reference": is_reference,
                "position": position,
                "token_id": token,
                "token": pieces(token),
                "char_start": int(starts[position]) if in_text else len(text),
                "char_end": int(ends[position]) if in_text else len(text),
                "logprob": float(lp[position]),
                "entropy": float(ent[position]),
                "rank": float(recorded.ranks[row, position]),
                "topk_token_ids": top_ids,
                "topk_tokens": [pieces(t) for t in top_ids],
                "topk_logprobs": recorded.topk_logprobs[row, position].tolist(),
                "is_eos": not in_text,
            }
        )
    return sample, tokens


def _decode(tokenizer, ids: list[int]) -> str:
    return tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)


def char_offsets(tokenizer, ids: list[int], text: str) -> tuple[np.ndarray, np.ndarray]:
    """[n] starts and ends of each token's span in text = decode(ids), tiling the text.

    From the lengths of the decoded prefixes. A token that holds part of a
    character (byte fallback, byte-level BPE) decodes to a replacement
    character until the character completes; the span goes to the first of
    its tokens and the rest get empty spans, as backend/tokens.tile_offsets does.
    """
    n = len(ids)
    starts = np.zeros(n, dtype=np.int64)
    ends = np.zeros(n, dtype=np.int64)
    position = 0
    for i in range(n):
        prefix = _decode(tokenizer, ids[: i + 1])
        # Only the part of the prefix that agrees with the final text counts.
        agreed = len(prefix) if text.startswith(prefix) else len(os.path.commonprefix([prefix, text]))
        end = min(max(agreed, position), len(text))
        if end == position and prefix.endswith("\ufffd") and position < len(text):
            end = position + 1  # a partial character: this token starts it
        starts[i], ends[i] = position, end
        position = end
    if n:
        ends[-1] = len(text)
    return starts, ends


def _tables(prompts, inputs, model, per_prompt) -> SampleResult:
    prompt_table = pd.DataFrame(
        {
            "prompt_id": np.arange(len(prompts), dtype=np.int64),
            "model": [model] * len(prompts),
            "prompt": prompts,
            "model_input": [inp.text for inp in inputs],
            "n_prompt_tokens": [len(inp.ids) for inp in inputs],
            "chat_template": [inp.chat_template for inp in inputs],
        }
    )
    samples = [s for i in range(len(prompts)) for s in per_prompt[i][0]]
    tokens = [t for i in range(len(prompts)) for t in per_prompt[i][1]]
    return SampleResult(
        prompts=_typed(prompt_table, PROMPT_COLUMNS),
        samples=_typed(pd.DataFrame(samples, columns=list(SAMPLE_COLUMNS)), SAMPLE_COLUMNS),
        tokens=_typed(pd.DataFrame(tokens, columns=list(SAMPLE_TOKEN_COLUMNS)), SAMPLE_TOKEN_COLUMNS),
    )


def _typed(frame: pd.DataFrame, columns: dict) -> pd.DataFrame:
    return frame[list(columns)].astype(columns).reset_index(drop=True)


def _piece_decoder(tokenizer):
    """id -> decoded piece, memoised."""
    memo: dict[int, str] = {}

    def piece(token_id) -> str:
        token_id = int(token_id)
        if token_id not in memo:
            memo[token_id] = tokenizer.decode([token_id], skip_special_tokens=False, clean_up_tokenization_spaces=False)
        return memo[token_id]

    return piece
