"""analysis/uncertainty_result.py: the kept result is plain data with a fresh id per press."""

from __future__ import annotations

import pandas as pd

from analysis.uncertainty_result import UncertaintyResult


def test_each_result_gets_its_own_id_and_empty_errors():
    empty = pd.DataFrame()
    make = lambda: UncertaintyResult(prompts=["q"], samples=empty, tokens=empty, model_inputs=empty,  # noqa: E731
                                     embeddings=None, labels=("A", "B"), specs=("a", "b"), settings={"n_samples": 1})
    first, second = make(), make()
    assert first.id != second.id and len(first.id) == 32
    assert first.errors == {} and first.from_store == {} and first.errors is not second.errors
