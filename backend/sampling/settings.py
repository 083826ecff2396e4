"""What changes a sampling request: SampleSettings, checked as it is made (every field is in the cache key)."""

from __future__ import annotations

import dataclasses
import json

from backend.corpus.inputs import InputError


@dataclasses.dataclass(frozen=True)
class SampleSettings:
    """What changes the samples (all of it is in the cache key)."""

    n_samples: int = 10  # Farquhar et al. use 10 samples per question
    temperature: float = 1.0  # 1.0: the model's own distribution
    top_p: float = 1.0  # 1.0: no nucleus truncation
    max_new_tokens: int = 64
    seed: int = 0
    reference_temperature: float = 0.1  # near-greedy best answer
    chat_template: bool = False  # use the tokenizer's chat template when it has one
    single_line: bool = False  # cut each answer at its first newline
    prompt_format: str = "{prompt}"  # without a chat template only, e.g. "Question: {prompt}\nAnswer:"

    def __post_init__(self):
        if not 1 <= self.n_samples <= 1000:
            raise InputError(f"number of samples must be between 1 and 1000, got {self.n_samples}")
        if not (self.temperature > 0 and self.reference_temperature > 0):
            raise InputError("temperatures must be above 0 (use a small value such as 0.1 for near-greedy)")
        if not 0 < self.top_p <= 1:
            raise InputError(f"top-p must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1:
            raise InputError(f"max new tokens must be at least 1, got {self.max_new_tokens}")
        if "{prompt}" not in self.prompt_format:
            raise InputError("the prompt format must contain {prompt}")

    def key(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)
