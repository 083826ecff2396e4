"""ModelSpec: what to load and how. Its string form is the cache key.

String form (also what the CLI takes):  SOURCE[?option=value&...]
  SOURCE   an embedded alias (smollm2-135m, gemma3-270m), a hub id
           (org/name), a local folder saved with save_pretrained, or a .gguf file
  options  revision, dtype (auto|float32|bfloat16|float16), device (auto|cpu|cuda|cuda:N),
           variant (none|int8|int8-dynamic|prune), sparsity (0..1, for prune),
           trust_remote_code (0|1), allow_pickle (0|1),
           bos (auto|none|a token of the vocabulary, e.g. <|endoftext|>): what goes before each text
Example: "smollm2-135m?variant=prune&sparsity=0.5", "smollm2-135m?bos=<|endoftext|>"
"""

from __future__ import annotations

import dataclasses
import os
from urllib.parse import parse_qsl, urlencode

from backend.errors import SpecError

EMBEDDED_ALIASES = ("smollm2-135m", "gemma3-270m")
# Different tokenizers on purpose. SmolLM2 scores raw text after <|endoftext|>, as its pretraining
# documents began, not after the chat-start token its tokenizer declares as BOS: measured on 60
# paragraphs, 0.20 nats/token lower surprisal (2.93 vs 3.13), so the default pair compares fairly.
DEFAULT_PAIR = ("smollm2-135m?bos=<|endoftext|>", "gemma3-270m")  # spec strings (ModelSpec.parse)
RECOMMENDED_BOS = {"smollm2-135m": "<|endoftext|>"}  # what the sidebar fills in when an embedded model is picked
DTYPES = ("auto", "float32", "bfloat16", "float16")
VARIANTS = ("none", "int8", "int8-dynamic", "prune")


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
    # The token put before every text (its first token is then scored): "auto" = the tokenizer's
    # declared BOS, "none" = nothing (the first token gets no score), or a token of the vocabulary.
    # Why: chat models may declare a chat-start token as BOS (SmolLM2-Instruct: <|im_start|>), while
    # their pretraining documents began after <|endoftext|>.
    bos: str = "auto"

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
        if not self.bos or not self.bos.strip():
            raise SpecError("bos must be auto, none or a token of the vocabulary")
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
        if self.revision:
            name += f"@{self.revision[:12]}"
        # Options that change the numbers are part of the name, so two configurations of one model
        # (a start token, a dtype, a compressed copy) are never shown under the same label.
        notes = []
        if self.variant in ("int8", "int8-dynamic"):
            notes.append(self.variant)
        elif self.variant == "prune":
            notes.append(f"pruned {self.sparsity:.0%}")
        if self.dtype != "auto":
            notes.append(self.dtype)
        if self.bos != "auto":
            notes.append(f"bos {self.bos}")
        return name + (f" ({', '.join(notes)})" if notes else "")

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
                kwargs[key] = _switch(key, value)
            elif key == "sparsity":
                try:
                    kwargs[key] = float(value)
                except ValueError:
                    raise SpecError(f"sparsity must be a number, got {value!r}") from None
            elif key in ("revision", "dtype", "device", "variant", "bos"):
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
        if self.variant == "int8-dynamic":
            # Dynamic int8 quantisation kernels exist for CPU float32 only.
            device, dtype = "cpu", "float32"
        return dataclasses.replace(self, device=device, dtype=dtype)


SWITCH_VALUES = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _switch(key: str, value: str) -> bool:
    """A yes/no option; anything else is refused, not read as off (a typo must not pass as a choice)."""
    try:
        return SWITCH_VALUES[value.strip().lower()]
    except KeyError:
        raise SpecError(f"{key} must be 0 or 1 (or true/false, yes/no), got {value!r}") from None
