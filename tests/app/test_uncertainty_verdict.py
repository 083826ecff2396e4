"""The uncertainty verdict says which statistic it reads, shows the mean and the count, an interval, and thin evidence."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.generations import verdicts
from ui.uncertainty_compare import verdict_line


def _row(a, b):
    n = len(a)
    summary = pd.DataFrame({"prompt_id": list(range(n)) * 2, "model": ["a"] * n + ["b"] * n,
                            "likelihood_semantic_entropy": list(a) + list(b)})
    return verdicts(summary, ["likelihood_semantic_entropy"]).iloc[0]


def test_a_count_won_by_a_and_a_mean_higher_for_b_is_said_as_such():
    line = verdict_line(_row([1.1, 1.2, 1.3, 1.1, 0.2], [1.0, 1.0, 1.0, 1.0, 3.0]), ("Smol*", "Gemma"), "nats")
    assert "by the mean over 5 prompts: **B · Gemma** higher" in line  # the statistic is named
    assert "(A) vs" in line and "A − B = -0.420 nats" in line
    assert "Prompts won: A higher on 4, B on 1, 0 tied (the count and the mean disagree)" in line
    assert "95% interval" in line and "resampling prompts (includes 0: no clear difference)" in line
    assert "Only 5 prompts: the evidence is thin." in line
    assert "Smol*" not in line  # a label is user text: escaped wherever it appears


def test_many_prompts_with_a_clear_difference():
    rng = np.random.default_rng(1)
    b = rng.uniform(0.5, 1.0, 30)
    line = verdict_line(_row(b + 0.5, b), ("A model", "B model"), "bits")
    assert "**A · A model** higher" in line and "excludes 0" in line and "bits" in line
    assert "thin" not in line and "disagree" not in line
