"""analysis/behaviorbox_select.py: BehaviorBox's sizes and steps, the one copy the SAE trainer uses too."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from analysis.behaviorbox_select import BehaviorBoxSettings, default_steps, k_for, resolve


@pytest.mark.parametrize("n, batch, want", [
    (2, 256, 2000), (100, 256, 2000), (51_200, 256, 2000), (51_201, 256, 2010),
    (100_000, 256, 3910), (1_234_567, 256, 48230), (1_000, 10, 2000), (100_000, 10, 100_000),
])
def test_default_steps_hand_computed(n, batch, want):
    # at least 2000 steps, at least 10 passes of batches no larger than the corpus
    assert default_steps(n, batch) == want == max(2000, 10 * math.ceil(n / min(batch, n)))


def test_k_for_follows_the_paper_ratio_within_bounds():
    assert [k_for(d) for d in (8, 32, 600, 3000, 6000)] == [4, 4, 10, 50, 50]
    assert k_for(3) == 3  # never more than the dictionary


def test_resolve_fills_only_what_is_missing():
    s = resolve(BehaviorBoxSettings(), 30_000)
    assert (s.dict_size, s.k, s.steps) == (1000, 17, 2000)
    s = resolve(BehaviorBoxSettings(dict_size=600, steps=7), 30_000)
    assert (s.dict_size, s.k, s.steps) == (600, 10, 7)



def test_reading_a_result_imports_no_torch():
    # the Differences page reads saved results through backend.behaviorbox.run without torch
    code = (
        "import sys, analysis.behaviorbox_select, backend.behaviorbox.run;"
        "bad = {'torch', 'transformers', 'streamlit'} & set(sys.modules); assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
