"""The sampler's result tables: one row per prompt, per sample and per kept token, with their column types.

Units: nats. A sample's tokens are the generated tokens up to and including
its EOS (the EOS token's probability is part of the answer's probability: an
answer that ends there), or up to the length limit, or, for single-line
answers, up to (not including) the token holding the first newline after some
non-blank text. `text` is exactly the decoded kept tokens, EOS excluded.
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
import pandas as pd

from backend.sampling.prompts import first_line_end
from backend.sampling.row_sampler import Recorded

REFERENCE_SAMPLE_ID = -1  # the reference answer's sample_id: not one of the N samples

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


@dataclasses.dataclass
class SampleResult:
    prompts: pd.DataFrame  # PROMPT_COLUMNS, one row per prompt
    samples: pd.DataFrame  # SAMPLE_COLUMNS, one row per sample (n_samples + 1 per prompt)
    tokens: pd.DataFrame  # SAMPLE_TOKEN_COLUMNS, one row per kept token

    def with_model(self, model: str) -> "SampleResult":
        return SampleResult(*(t.assign(model=pd.array([model] * len(t), dtype="string")) for t in (self.prompts, self.samples, self.tokens)))


def sample_row(prompt_id, sample_id, model, recorded: Recorded, row: int, settings, eos_ids, tokenizer, pieces):
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


def result_tables(prompts, inputs, model, per_prompt) -> SampleResult:
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


def piece_decoder(tokenizer):
    """id -> decoded piece, memoised."""
    memo: dict[int, str] = {}

    def piece(token_id) -> str:
        token_id = int(token_id)
        if token_id not in memo:
            memo[token_id] = tokenizer.decode([token_id], skip_special_tokens=False, clean_up_tokenization_spaces=False)
        return memo[token_id]

    return piece

