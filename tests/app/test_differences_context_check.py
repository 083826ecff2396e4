"""The differences page with a BehaviorBox result saved before the context check existed.

Such a result has no context columns in stats.parquet: the page must say so, show its
features unfiltered, and leave the context checkbox off-limits (tests/app/test_differences_page.py
covers results that have the check).
"""

from __future__ import annotations

import pandas as pd
from test_differences_page import open_page, saved_run  # noqa: F401 - saved_run is a fixture

from backend.behaviorbox import run as R

CONTEXT_LINE = "**Holds when words are picked by context alone:**"


def test_a_result_saved_before_the_context_check_is_shown_unfiltered_with_a_note(app, saved_run):  # noqa: F811
    from backend.models.sentence_encoder import load_sentence_encoder

    run_id, result = saved_run
    folder = R.run_folder_of(run_id)
    settings = R.BehaviorBoxSettings(dict_size=16, k=2, steps=60, min_abs_median_logprob=0.0,
                                     min_abs_median_p=0.0, min_examples=1)
    R.run_behaviorbox(result, settings, encoder=load_sentence_encoder(), run_folder=folder, device="cpu")
    path = folder / R.SUBDIR / "stats.parquet"
    stats = pd.read_parquet(path)
    stats[R.B.STATS_COLUMNS].to_parquet(path, index=False)  # as saved before the check

    at = open_page(app)
    assert not at.error, [e.value for e in at.error]
    box = at.checkbox(key="bb_require_context")
    assert box.disabled
    assert any("saved before the context check" in c.value for c in at.caption)
    cards = [m.value for m in at.markdown if m.value.startswith("#### Feature")]
    assert len(cards) == min(10, int((stats["winner"] != "tie").sum()))  # unfiltered: every feature with a winner
    verdicts = [m.value for m in at.markdown if m.value.startswith(CONTEXT_LINE)]
    assert verdicts and all("unknown" in v for v in verdicts)
