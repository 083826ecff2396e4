"""Host <-> GPU copies that do not stop the GPU.

A plain `.cpu()` after every batch makes the host wait for the GPU to finish, and only then
prepare and launch the next batch: the GPU idles in between. Here inputs go up from pinned
memory and statistics come down into pinned memory with non-blocking copies, and the host waits
for a batch's statistics only when it assembles the table, after every batch has been launched.
On the CPU these are plain tensors and nothing waits.
"""

from __future__ import annotations

import numpy as np
import torch


def to_device(array: np.ndarray, device: str) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if not device.startswith("cuda"):
        return tensor
    # Pinned memory lets the copy run asynchronously; torch keeps the buffer alive until it is done.
    return tensor.pin_memory().to(device, non_blocking=True)


class HostCopy:
    """Tensors on their way to host memory; wait() returns them once they have arrived."""

    def __init__(self, tensors: list[torch.Tensor]):
        # From a CUDA tensor, a non-blocking .to("cpu") writes into pinned memory, in stream order.
        self.tensors = [t.to("cpu", non_blocking=True) for t in tensors]
        self.event = None
        if any(t.is_cuda for t in tensors):
            self.event = torch.cuda.Event()
            self.event.record()

    def wait(self) -> list[torch.Tensor]:
        if self.event is not None:
            self.event.synchronize()
            self.event = None
        return self.tensors


def to_host(tensors: list[torch.Tensor]) -> HostCopy:
    return HostCopy(tensors)
