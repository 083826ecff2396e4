"""What one press of "Sample and compare" keeps: both models' samples for the prompts, as tables (pure data)."""

from __future__ import annotations

import dataclasses
import uuid

import numpy as np
import pandas as pd


@dataclasses.dataclass
class UncertaintyResult:
    """Both models' samples of the same prompts; every view afterwards is derived from these tables.

    samples, tokens and model_inputs hold the rows of both models (a `model` column, "a" | "b"), as
    analysis.sample_tables.SampleResult has them; entropies and logprobs in nats.
    """

    prompts: list[str]
    samples: pd.DataFrame  # one row per answer (prompt_id, sample_id, model, text, is_reference, ...)
    tokens: pd.DataFrame  # one row per sampled token, with its entropy and top-k
    model_inputs: pd.DataFrame  # one row per prompt and model: the text the model read (chat template or not)
    embeddings: np.ndarray | None  # (len(samples), dim) answer embeddings; None when the encoder failed
    labels: tuple[str, str]  # the models' short names, A then B
    specs: tuple[str, str]  # the models' spec strings, A then B
    settings: dict  # the sampling settings as asked (SampleSettings fields)
    errors: dict = dataclasses.field(default_factory=dict)  # "a" | "b" -> why that model has no samples
    from_store: dict = dataclasses.field(default_factory=dict)  # "a" | "b" -> answered from the sample store
    elapsed: float = 0.0  # seconds the press took
    answers: list[str] | None = None  # gold answer per prompt ("" for none; "a | b" for alternatives); None: no gold
    id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)  # keys the derived tables' memo
