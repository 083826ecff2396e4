"""ModelSpec: what to load and how. Its string form is the cache key.

String form (also what the CLI takes):  SOURCE[?option=value&...]
  SOURCE   an embedded alias (smollm2-135m, gemma3-270m), a hub id
           (org/name), a local folder saved with save_pretrained, or a .gguf file
  options  revision, dtype (auto|float32|bfloat16|float16), device (auto|cpu|cuda|cuda:N),
           variant (none|int8|prune), sparsity (0..1, for prune),
           trust_remote_code (0|1), allow_pickle (0|1)
Example: "smollm2-135m?variant=prune&sparsity=0.5"
"""

from __future__ import annotations

import dataclasses
import os
from urllib.parse import parse_qsl, urlencode

EMBEDDED_ALIASES = ("smollm2-135m", "gemma3-270m")
DEFAULT_PAIR = ("smollm2-135m", "gemma3-270m")  # different tokenizers on purpose
DTYPES = ("auto", "float32", "bfloat16", "float16")
VARIANTS = ("none", "int8", "prune")


class SpecError(ValueError):
    """A model spec that cannot mean anything (bad option, bad value)."""


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    source: str
    revision: str | None = None
    dtype: str = "auto"  # auto: bfloat16 on CUDA, float32 on CPU
    device: str = "auto"  # auto: cuda when available
    variant: str = "none"  # a compressed copy of the same model
    sparsity: float = 0.0  # share of Linear weights zeroed, for variant=prune
    trust_remote_code: bool = False  # off: remote code runs only if the user asks
    allow_pickle: bool = False  # off: .bin/.pt checkpoints can execute code when unpickled

    def __post_init__(self):
        if not self.source or not self.source.strip():
            raise SpecError("empty model name")
        if self.dtype not in DTYPES:
            raise SpecError(f"unknown dtype {self.dtype!r}; use one of {', '.join(DTYPES)}")
        if self.variant not in VARIANTS:
            raise SpecError(f"unknown variant {self.variant!r}; use one of {', '.join(VARIANTS)}")
        if self.variant == "prune" and not (0.0 < self.sparsity < 1.0):
            raise SpecError(f"pruning needs a sparsity between 0 and 1, got {self.sparsity}")
        if self.variant != "prune" and self.sparsity:
            raise SpecError("sparsity only applies to variant=prune")
        if not (self.device == "auto" or self.device == "cpu" or self.device.startswith("cuda")):
            raise SpecError(f"unknown device {self.device!r}; use auto, cpu or cuda[:N]")

    @property
    def kind(self) -> str:
        """embedded | gguf | folder | hub."""
        if self.source in EMBEDDED_ALIASES:
            return "embedded"
        if self.source.lower().endswith(".gguf"):
            return "gguf"
        if os.path.isdir(self.source) or self.source.startswith(("/", ".", "~")):
            return "folder"
        return "hub"

    @property
    def label(self) -> str:
        """Short name for plots and tables."""
        name = os.path.basename(self.source.rstrip("/")) if self.kind in ("folder", "gguf") else self.source
        if self.variant == "int8":
            name += " (int8)"
        elif self.variant == "prune":
            name += f" (pruned {self.sparsity:.0%})"
        return name

    def __str__(self) -> str:
        options = {}
        for field in dataclasses.fields(self):
            if field.name == "source":
                continue
            value = getattr(self, field.name)
            if value != field.default:
                options[field.name] = int(value) if isinstance(value, bool) else value
        return self.source + ("?" + urlencode(sorted(options.items())) if options else "")

    @classmethod
    def parse(cls, text: str) -> "ModelSpec":
        text = text.strip()
        source, _, query = text.partition("?")
        kwargs: dict = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            if key in ("trust_remote_code", "allow_pickle"):
                kwargs[key] = value.lower() in ("1", "true", "yes")
            elif key == "sparsity":
                try:
                    kwargs[key] = float(value)
                except ValueError:
                    raise SpecError(f"sparsity must be a number, got {value!r}") from None
            elif key in ("revision", "dtype", "device", "variant"):
                kwargs[key] = value
            else:
                raise SpecError(f"unknown model option {key!r} in {text!r}")
        return cls(source=source, **kwargs)

    def resolved(self, cuda_available: bool) -> "ModelSpec":
        """The same spec with auto device and dtype made concrete (results depend on them)."""
        device = self.device
        if device == "auto":
            device = "cuda" if cuda_available else "cpu"
        dtype = self.dtype
        if dtype == "auto":
            dtype = "bfloat16" if device.startswith("cuda") else "float32"
        if self.variant == "int8":
            # Dynamic int8 quantisation kernels exist for CPU float32 only.
            device, dtype = "cpu", "float32"
        return dataclasses.replace(self, device=device, dtype=dtype)
