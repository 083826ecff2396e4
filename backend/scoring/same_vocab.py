"""Compare two models that share a vocabulary, position by position: KL both ways, JS, top-k overlap.

Typical use: a model against its own int8 or pruned variant, or two checkpoints.
Both models read the same token ids (model A's tokenisation); the heads run in
chunks of positions, so no [batch, positions, vocab] tensor is ever built.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pandas as pd
import torch

from analysis.schema import SAME_VOCAB_COLUMNS
from backend.models.loading import LoadedModel
from backend.scoring.head import DEFAULT_CHUNK_BYTES, Head, chunk_size
from backend.scoring.logit_stats import log_probs, top_logits
from backend.scoring.packing import forward_packed, one_row_per_pack, pack_batches, packed_inputs
from backend.scoring.score import ScoreSettings, forward_hidden, packing_allowed
from backend.scoring.tokens import tokenize_with_offsets
from backend.scoring.transfer import to_device
from backend.scoring.windows import pad_batch, plan_rows


def same_vocabulary(model_a: LoadedModel, model_b: LoadedModel) -> bool:
    """True when both tokenisers map the same strings to the same ids and the heads have the same size."""
    if model_a.vocab_size != model_b.vocab_size:
        return False
    return model_a.tokenizer.get_vocab() == model_b.tokenizer.get_vocab()


def divergences(logits_a: torch.Tensor, logits_b: torch.Tensor, top_k: int) -> tuple[torch.Tensor, ...]:
    """[n, V] float32 logits of both models -> KL(A||B), KL(B||A), JS (nats) and top-k overlap, each [n].

    log p and the top k are backend/scoring/logit_stats.py's, as in each model's token table.
    """
    _, log_a = log_probs(logits_a)
    _, log_b = log_probs(logits_b)
    p_a, p_b = log_a.exp(), log_b.exp()
    kl_ab = (p_a * (log_a - log_b)).sum(-1)
    kl_ba = (p_b * (log_b - log_a)).sum(-1)
    # log of the mixture m = (p_a + p_b) / 2, computed stably
    log_m = torch.logaddexp(log_a, log_b) - math.log(2.0)
    js = 0.5 * (p_a * (log_a - log_m)).sum(-1) + 0.5 * (p_b * (log_b - log_m)).sum(-1)
    top_a = top_logits(logits_a, top_k)[1]
    top_b = top_logits(logits_b, top_k)[1]
    overlap = (top_a[:, :, None] == top_b[:, None, :]).any(-1).sum(-1).float() / top_k
    return kl_ab, kl_ba, js, overlap


def compare_same_vocab(
    model_a: LoadedModel, model_b: LoadedModel, texts: list[str], settings: ScoreSettings = ScoreSettings()
) -> pd.DataFrame:
    """One row per scored token position (same positions as model A's token table)."""
    if not same_vocabulary(model_a, model_b):
        raise ValueError(f"{model_a.spec.label} and {model_b.spec.label} do not share a vocabulary")
    tokenized = tokenize_with_offsets(model_a.tokenizer, texts)
    window = min(settings.window or 2048, model_a.max_context, model_b.max_context)
    rows = plan_rows([t.ids for t in tokenized], model_a.bos_id, window, settings.stride or window // 2)
    out = []
    locks = [model_a.lock] if model_a is model_b else [model_a.lock, model_b.lock]  # A = B is allowed
    with contextlib.ExitStack() as stack, torch.inference_mode():
        for lock in locks:
            stack.enter_context(lock)
        heads = Head.of(model_a.model), Head.of(model_b.model)
        chunk = settings.chunk_positions or chunk_size(heads[0].vocab_size, DEFAULT_CHUNK_BYTES // 2)
        # Several texts per input when both models pass the packing check (backend/scoring/packing.py).
        packing = settings.packing if settings.packing is not None else (
            packing_allowed(model_a) and packing_allowed(model_b))
        plan = pack_batches if packing else one_row_per_pack
        for batch in plan([len(r) for r in rows], settings.batch_tokens or 4096):
            packs = [[rows[i] for i in pack] for pack in batch]
            if packing:
                ids, positions, starts = packed_inputs([[row.ids for row in pack] for pack in packs], 0)
            else:
                (ids, mask), starts = pad_batch([pack[0] for pack in packs], 0), [[0]] * len(packs)
            index = [(b, start + r, row.text_index, t) for b, (pack, pack_starts) in enumerate(zip(packs, starts))
                     for row, start in zip(pack, pack_starts) for r, t in zip(*row.scored())]
            b_idx, r_idx, text_idx, tok_idx = (np.array(c) for c in zip(*index))
            selected = []
            for loaded in (model_a, model_b):
                device = loaded.device
                if packing:
                    hidden = forward_packed(loaded.model, to_device(ids, device), to_device(positions, device))
                else:
                    hidden = forward_hidden(loaded.model, to_device(ids, device), to_device(mask, device))
                selected.append(hidden[to_device(b_idx, device), to_device(r_idx - 1, device)])
            for start in range(0, len(b_idx), chunk):
                part = slice(start, start + chunk)
                logits_a = heads[0].logits(selected[0][part])
                logits_b = heads[1].logits(selected[1][part]).to(logits_a.device)
                stats = divergences(logits_a, logits_b, settings.top_k)
                out.append((text_idx[part], tok_idx[part], *(s.double().cpu().numpy() for s in stats)))
    if not out:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in SAME_VOCAB_COLUMNS.items()})
    columns = [np.concatenate(c) for c in zip(*out)]
    frame = pd.DataFrame(dict(zip(SAME_VOCAB_COLUMNS, columns)))
    return frame.astype(SAME_VOCAB_COLUMNS).sort_values(["text_id", "position"], ignore_index=True)
