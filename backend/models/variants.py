"""Compressed copies of a model, so a user can compare a model with itself compressed."""

from __future__ import annotations


def quantize_int8(model):
    """Dynamic int8 quantisation of every nn.Linear (weights int8, activations quantised on the fly).

    CPU only: PyTorch's dynamic quantised kernels (fbgemm/qnnpack) have no CUDA version.
    """
    import torch

    return torch.ao.quantization.quantize_dynamic(model.float().cpu(), {torch.nn.Linear}, dtype=torch.qint8)


def prune_magnitude(model, sparsity: float) -> None:
    """Unstructured magnitude pruning, in place: zero the smallest |w| share of each Linear weight.

    Per layer rather than global so that no single layer is emptied. The output
    head is pruned too when it is an nn.Linear; with tied embeddings that also
    prunes the input embeddings (they are the same tensor).
    """
    import torch

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Linear):
                weight = module.weight
                n_zero = int(round(sparsity * weight.numel()))
                if n_zero == 0:
                    continue
                threshold = weight.detach().abs().flatten().float().kthvalue(n_zero).values
                weight.masked_fill_(weight.abs() <= threshold.to(weight.dtype), 0.0)
