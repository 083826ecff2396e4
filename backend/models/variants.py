"""Compressed copies of a model, so a user can compare a model with itself compressed."""

from __future__ import annotations


def quantize_int8(model):
    """Weight-only int8, what people deploy: per-output-channel symmetric scales, activations and
    the output head left in the model's precision (torchao's Int8WeightOnlyConfig).

    Each Linear weight row is stored as round(w / s) in int8 with s = max|row| / 127.5 and used
    as int8 · s. The head is kept because quantising it moves every logit at once (SmolLM2's
    perplexity on a news paragraph went from 48 to 130 with the head quantised per tensor).
    torchao rather than hand-written code: it is the PyTorch team's maintained quantiser, runs
    on CPU and CUDA, and its int8 tensors dispatch through ordinary F.linear.
    """
    import logging

    import torch

    # torchao probes optional CUDA kernels at import and logs each miss; they are not used here.
    logging.getLogger("torchao").setLevel(logging.ERROR)
    from torchao.quantization import Int8WeightOnlyConfig, quantize_

    head = model.get_output_embeddings()

    def body_linear(module, _name):
        return isinstance(module, torch.nn.Linear) and module is not head

    quantize_(model, Int8WeightOnlyConfig(), filter_fn=body_linear)
    return model


def quantize_int8_dynamic(model):
    """Dynamic int8 of every nn.Linear, head included: per-tensor weight scales, activations quantised
    on the fly. Kept for comparison (variant=int8-dynamic): it is far coarser than weight-only int8.

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
