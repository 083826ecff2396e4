"""Fill the sample tables (analysis/sample_tables.py) from generated rows: stop at EOS or a newline, trim,
decode, and give each kept token its span of the decoded text.
"""

from __future__ import annotations

import math
import os

import numpy as np

from analysis.sample_tables import REFERENCE_SAMPLE_ID
from backend.sampling.prompts import first_line_end
from backend.sampling.row_sampler import Recorded


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


def piece_decoder(tokenizer):
    """id -> decoded piece, memoised."""
    memo: dict[int, str] = {}

    def piece(token_id) -> str:
        token_id = int(token_id)
        if token_id not in memo:
            memo[token_id] = tokenizer.decode([token_id], skip_special_tokens=False, clean_up_tokenization_spaces=False)
        return memo[token_id]

    return piece

