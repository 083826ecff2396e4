"""The sampler's result tables: one row per prompt, per sample and per kept token, their column types and their assembly.

Units: nats. A sample's tokens are the generated tokens up to and including
its EOS (the EOS token's probability is part of the answer's probability: an
answer that ends there), or up to the length limit, or, for single-line
answers, up to (not including) the token holding the first newline after some
non-blank text. `text` is exactly the decoded kept tokens, EOS excluded.
The sampler (backend/sampling/) fills these tables; their shapes live here.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

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


def result_tables(prompts, inputs, model, per_prompt) -> SampleResult:
    """The typed tables of one model's sampling: inputs[i] has .text, .ids and .chat_template of prompt i;
    per_prompt[i] is (sample records, token records) of prompt i, as dicts of the columns above."""
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
