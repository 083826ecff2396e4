"""Several short rows in one model input ("packing"), so that a batch carries almost no padding.

Length-sorted batches still pad whenever a batch mixes lengths: the 330 texts of the walkthrough
corpus (13 to 126 tokens) make 8,192-token batches that are 26% padding, and at the GPU's 65,536
tokens one batch that is 60% padding. Packed, a batch is a few inputs of width = its longest row,
each filled with whole rows (best fit, longest first), and every row keeps its own positions
0, 1, ...: transformers turns restarting position ids into one causal block per segment
(masking_utils.find_packed_sequence_indices, used when attention_mask is None), so each token sees
exactly the left context it would see alone. A row's attention never spans more than the width,
and the width is never more than the longest row of its batch.

Models whose attention does not follow position ids (ALiBi built from the attention mask, remote
code with its own masks) would let segments see each other; so a model packs only after a check
on the loaded model: two rows packed together must give the hidden states each gives alone.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from pathlib import Path

import numpy as np
import torch

Pack = list[int]  # indices of the rows sharing one model input, longest first


def pack_batches(lengths: list[int], batch_tokens: int) -> list[list[Pack]]:
    """Batches of packs; a batch holds at most batch_tokens tokens (packs x width), padding included.

    The longest row left opens each batch and sets its width, so an out-of-memory error shows up on
    the first batch rather than after an hour of work. Rows then go, longest first, into the pack
    with the least room that fits them (best fit decreasing), a new pack opening only when none
    fits; once the batch has all its packs, the longest rows left that still fit fill the gaps.
    """
    # Rows left, sorted by length: the longest that fits a gap is found by bisection.
    left = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    left_lengths = [lengths[i] for i in left]
    batches: list[list[Pack]] = []
    while left:
        width = left_lengths.pop()
        packs: list[Pack] = [[left.pop()]]
        rooms: list[tuple[int, int]] = []  # (free tokens, pack index), sorted; full packs dropped
        most_packs = max(1, batch_tokens // width)
        while left:
            if len(packs) < most_packs:
                j = len(left) - 1
            else:
                j = bisect.bisect_right(left_lengths, rooms[-1][0] if rooms else 0) - 1
                if j < 0:
                    break
            n = left_lengths.pop(j)
            row = left.pop(j)
            k = bisect.bisect_left(rooms, (n, -1))
            if k < len(rooms):
                free, p = rooms.pop(k)
                packs[p].append(row)
            else:
                packs.append([row])
                free, p = width, len(packs) - 1
            if free > n:
                bisect.insort(rooms, (free - n, p))
        batches.append(packs)
    return batches


def one_row_per_pack(lengths: list[int], batch_tokens: int) -> list[list[Pack]]:
    """The same batches without packing (for models that fail the check): one padded row per input."""
    from backend.scoring.windows import batches_by_length

    return [[[i] for i in batch] for batch in batches_by_length(lengths, batch_tokens)]


def packed_inputs(packs: list[list[np.ndarray]], pad_id: int) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
    """ids [inputs, width], position ids [inputs, width], and where each row starts in its input.

    Padding after the last row is a segment of its own (positions restart at 0 there too), so no
    real token attends to it.
    """
    width = max(sum(len(ids) for ids in pack) for pack in packs)
    ids = np.full((len(packs), width), pad_id, dtype=np.int64)
    positions = np.zeros((len(packs), width), dtype=np.int64)
    starts: list[list[int]] = []
    for b, pack in enumerate(packs):
        at, pack_starts = 0, []
        for row in pack:
            ids[b, at : at + len(row)] = row
            positions[b, at : at + len(row)] = np.arange(len(row))
            pack_starts.append(at)
            at += len(row)
        positions[b, at:] = np.arange(width - at)
        starts.append(pack_starts)
    return ids, positions, starts


def forward_packed(model, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Last hidden states [inputs, width, d] of packed inputs (no attention mask: the positions say it)."""
    base = getattr(model, model.base_model_prefix)
    return base(input_ids=ids, position_ids=positions, use_cache=False).last_hidden_state


def packing_works(model, device: str) -> bool:
    """Do two rows packed into one input give the hidden states each gives alone, on this model?"""
    vocab = int(model.get_input_embeddings().weight.shape[0]) if hasattr(model.get_input_embeddings(), "weight") else 256
    generator = torch.Generator().manual_seed(0)
    first, second = (torch.randint(0, vocab, (n,), generator=generator).numpy() for n in (7, 5))
    ids, positions, starts = packed_inputs([[first, second], [second]], pad_id=0)
    try:
        with torch.inference_mode():
            packed = forward_packed(model, torch.from_numpy(ids).to(device), torch.from_numpy(positions).to(device))
            alone = [forward_packed(model, torch.from_numpy(row[None]).to(device),
                                    torch.arange(len(row), device=device)[None])[0] for row in (first, second)]
    except Exception:  # noqa: BLE001 - an architecture that refuses position ids simply does not pack
        return False
    packed, alone = packed.float(), [a.float() for a in alone]
    pairs = [(packed[0, : len(first)], alone[0]), (packed[0, starts[0][1] : starts[0][1] + len(second)], alone[1]),
             (packed[1, : len(second)], alone[1])]
    # Compared position by position (relative L2 error of each hidden state), not against the largest
    # value: a few outlier dimensions can be 100x the rest and would hide a change everywhere else.
    # Measured on the embedded pair (CPU): packed vs alone differ by rounding, at most 5e-6 in
    # float32 and 7e-2 in bfloat16 (Gemma; 2.7e-2 SmolLM2); a second segment that sees the first
    # differs by 0.37 to 0.81. The allowances sit between.
    tolerance = 1e-3 if next(model.parameters()).dtype == torch.float32 else 0.15
    return all(float(_relative_error(got, want).max()) <= tolerance for got, want in pairs)


def _relative_error(got: torch.Tensor, want: torch.Tensor) -> torch.Tensor:
    """[positions] ||got - want|| / ||want|| of each position's hidden state."""
    return (got - want).norm(dim=-1) / want.norm(dim=-1).clamp_min(1e-12)


def remembered_verdict(loaded) -> bool:
    """packing_works of a loaded model, kept on disk: a small json under the model cache
    (checks/packing-<key>.json), keyed by the resolved spec, the folder the weights came from and
    the torch and transformers versions (a new library version may change the attention masks)."""
    import transformers

    from backend.store import atomic
    from backend.store.paths import model_cache_dir

    key = hashlib.sha256(f"{loaded.spec}|{Path(loaded.folder or '').name}|torch {torch.__version__}|"
                         f"transformers {transformers.__version__}".encode()).hexdigest()[:24]
    path = model_cache_dir() / "checks" / f"packing-{key}.json"
    try:
        return bool(json.loads(path.read_text())["packing"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    with loaded.lock:
        verdict = packing_works(loaded.model, loaded.device)
    atomic.write_json(path, {"packing": verdict, "spec": str(loaded.spec), "torch": torch.__version__,
                             "transformers": transformers.__version__})
    return verdict
