"""Sample answers from one model for semantic entropy: all rows of several prompts in one generate call.

For each prompt: `n_samples` answers at `temperature` (default 1.0) and one
reference answer at `reference_temperature` (0.1, near-greedy: the model's
"best" answer, as in Farquhar et al. 2024). The prompts of a call are
left-padded and each is repeated n_samples + 1 times (what
num_return_sequences does inside generate), so one `model.generate` call
decodes every sample of several prompts together.

The pieces: backend/sampling/settings.py (SampleSettings), prompts.py (what the model reads, where an
answer stops), row_sampler.py (the logits processor that draws each row's tokens and records their
statistics), tables.py (filling the result tables; their columns and units are analysis/sample_tables.py).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from transformers import LogitsProcessorList, StoppingCriteriaList

from analysis.sample_tables import REFERENCE_SAMPLE_ID, SampleResult, result_tables
from backend.corpus.inputs import InputError, check_texts
from backend.models.loading import LoadedModel
from backend.sampling.prompts import ModelInput, model_input, stop_token_ids
from backend.sampling.row_sampler import LineEnded, RowSampler, row_seed
from backend.sampling.settings import SampleSettings
from backend.sampling.tables import piece_decoder, sample_row

# (prompts done, prompts in all); fractional while a call is decoding.
Progress = Callable[[float, int], None]

# Rows (prompts x (n_samples + 1)) per generate call. The draws do not depend on
# it (tested); bigger calls are faster until the logits temporaries
# (rows x vocab floats, a few copies) stop fitting.
DEFAULT_CALL_ROWS = {"cpu": 64, "cuda": 512}


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
    pieces = piece_decoder(tokenizer)
    done_rows: dict[tuple[int, int], tuple[dict, list[dict]]] = {}
    with loaded.lock, torch.inference_mode():
        for call in calls:
            def on_step(step, _done=len(done_rows), _n=len(call)):
                if progress is not None:
                    share = min(step, settings.max_new_tokens) / settings.max_new_tokens
                    progress((_done + _n * share) / rows_per_prompt, len(prompts))

            recorded = _generate(loaded, [(inputs[i], sample_id) for i, sample_id in call], settings, eos_ids, pieces, on_step)
            for row, (prompt_id, sample_id) in enumerate(call):
                done_rows[(prompt_id, sample_id)] = sample_row(
                    prompt_id, sample_id, model, recorded, row, settings, eos_ids, tokenizer, pieces)
            if progress is not None:
                progress(len(done_rows) / rows_per_prompt, len(prompts))
    per_prompt = {
        i: ([done_rows[(i, s)][0] for s in [*range(settings.n_samples), REFERENCE_SAMPLE_ID]],
            [t for s in [*range(settings.n_samples), REFERENCE_SAMPLE_ID] for t in done_rows[(i, s)][1]])
        for i in range(len(prompts))
    }
    return result_tables(prompts, inputs, model, per_prompt)


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

