"""The differences page in AppTest: a saved run of the tiny pair, leaderboards, groups, BehaviorBox."""

from __future__ import annotations

import pytest
from app_helpers import finish_jobs

TEXTS = [
    "Prices rose by $5.20 in 2024, and 12 * 12 = 144.",
    "def add(a, b):\n    return a + b\n",
    "Alice: a <b>bold</b> & risky move?\nBob: Fine, thanks!",
    "The quick brown fox jumps over the lazy dog. The dog sleeps.",
    "- apples\n- pears\n- plums\n1. one\n2. two",
    "In 1822 the lens threw a beam twenty miles out to sea; keepers logged the weather every 4 hours.",
]


@pytest.fixture
def saved_run(app, tiny_a, tiny_b):
    """One run of the tiny pair in the app's run store (isolated per test)."""
    from backend.models.loading import load_model
    from backend.scoring.pair import score_pair
    from backend.store.runs import RunStore
    from backend.models.specs import ModelSpec

    a, b = (load_model(ModelSpec.parse(str(p))) for p in (tiny_a, tiny_b))
    result = score_pair(a, b, TEXTS)
    run_id = RunStore().save(result, str(tiny_a), str(tiny_b), {"top_k": 5}, name="tiny differences")
    return run_id, result


def htmls(at) -> list[str]:
    return [e.value for e in at.get("html")]


def open_page(app):
    at = app.run()
    at.switch_page("pages/differences.py").run()
    assert not at.exception, at.exception
    return at


def test_leaderboards_and_groups_render(app, saved_run):
    run_id, result = saved_run
    at = open_page(app)
    assert at.selectbox(key="diff_run").value == run_id  # nothing on screen: the saved run is picked
    bodies = [b for b in htmls(at) if "<mark" in b]
    assert len(bodies) >= 10  # both leaderboards, each word in its context
    joined = "".join(bodies)
    assert "<b>bold" not in joined  # user text is escaped...
    assert "bold" not in joined or "&lt;" in joined
    # ...and the biggest win of A is listed first, with its Δ
    top = result.words.loc[result.words["delta"].idxmax()]
    assert f"Δ {top['delta']:+.2f}" in bodies[0]
    groups = next(d.value for d in at.dataframe if "family" in d.value.columns)
    assert {"all words", "punctuation", "numbers"} <= set(groups["family"])
    assert groups.loc[groups["family"] == "all words", "n"].iloc[0] == int(result.words["delta"].notna().sum())
    share = groups.loc[groups["family"] == "all words", "a_win_share"].iloc[0]  # in percent, one format
    assert share == pytest.approx(100 * (result.words["delta"] > 0).sum() / result.words["delta"].notna().sum())
    assert len(at.get("plotly_chart")) >= 1
    at.checkbox(key="diff_sig").check().run()
    assert not at.exception
    filtered = next(d.value for d in at.dataframe if "family" in d.value.columns)
    assert filtered["significant"].all()


def test_behaviorbox_trains_shows_cards_keeps_results_on_error_and_opens_the_token_view(app, saved_run, monkeypatch):
    run_id, result = saved_run
    at = open_page(app)
    assert any("Press **Train**" in i.value for i in at.info)
    for label, value in (("Dictionary size", 16), ("k (active features per word)", 2), ("Steps", 60)):
        next(n for n in at.number_input if n.label == label).set_value(value)
    finish_jobs(at.button(key="bb_train").click().run())  # training runs as a job (ui/jobs.py)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    text = " ".join(m.value for m in at.markdown)
    cards = [m.value for m in at.markdown if m.value.startswith("#### Feature")]
    assert cards or any("No feature passed the selection" in i.value for i in at.info)
    assert "features that fired pass the selection" in text
    # Saved with the run: a fresh session finds it without training.
    from backend.behaviorbox.run import load_behaviorbox, run_folder_of

    assert load_behaviorbox(run_folder_of(run_id)).settings.dict_size == 16

    # Thresholds at zero and the context check off: every feature with enough examples is a card.
    at.number_input(key="bb_min_lp").set_value(0.0)
    at.number_input(key="bb_min_p").set_value(0.0)
    at.checkbox(key="bb_require_context").uncheck()
    at.number_input(key="bb_min_ex").set_value(1).run()
    assert not at.exception, at.exception
    cards = [m.value for m in at.markdown if m.value.startswith("#### Feature")]
    assert cards
    verdicts = [m.value for m in at.markdown if m.value.startswith("**Holds when words are picked by context alone:**")]
    assert len(verdicts) == len(cards)
    assert any("Automatic description" in m.value for m in at.markdown)
    assert any(h.value.count("<mark") == 1 and "p<sub>A</sub>" in h.value for h in at.get("html"))

    # A failed training says so and keeps the cards.
    def boom(*args, **kwargs):
        raise RuntimeError("no memory left")

    monkeypatch.setattr("backend.behaviorbox.run.run_behaviorbox", boom)
    finish_jobs(at.button(key="bb_train").click().run())  # training runs as a job (ui/jobs.py)
    assert any("no memory left" in e.value and "kept" in e.value for e in at.error)
    assert [m.value for m in at.markdown if m.value.startswith("#### Feature")] == cards

    # A click on an example opens its text in the token view.
    feature = int(cards[0].split()[2])
    at.button(key=f"bb_ex_{feature}_0").click().run()
    assert not at.exception, at.exception
    focus = at.session_state["focus"]
    assert at.session_state["tv_text"] == focus["text_id"] and focus["run_id"] == run_id
    assert at.session_state["result"].run_id == run_id
    assert any("token view" in h.value for h in at.header)


def test_examples_use_the_model_colours_and_never_show_a_zero_probability(app, saved_run):
    from analysis.plots import COLOUR_A, COLOUR_B

    run_id, result = saved_run
    at = open_page(app)
    bodies = [b for b in htmls(at) if "<mark" in b]
    joined = "".join(bodies)
    assert COLOUR_A in joined and COLOUR_B in joined and "#d62728" not in joined  # B is orange, as in the plots
    assert "</sub> 0.000" not in joined  # a tiny probability is written as 1.2e-05, not as zero
    assert any("6 texts" in m.value for m in at.markdown)


def test_one_text_is_one_text(app, tiny_a, tiny_b):
    from backend.models.loading import load_model
    from backend.scoring.pair import score_pair
    from backend.store.runs import RunStore
    from backend.models.specs import ModelSpec

    a, b = (load_model(ModelSpec.parse(str(p))) for p in (tiny_a, tiny_b))
    RunStore().save(score_pair(a, b, TEXTS[:1]), str(tiny_a), str(tiny_b), {"top_k": 5}, name="one")
    at = open_page(app)
    assert any("· 1 text ·" in m.value for m in at.markdown)


def test_a_small_run_is_told_before_training_that_behaviorbox_needs_more_words(app, saved_run):
    run_id, result = saved_run
    at = open_page(app)
    n = int(result.words["delta"].notna().sum())
    assert n < 1000
    assert any("BehaviorBox looks for contexts that recur" in i.value and "Only" in i.value for i in at.info)


def test_groups_too_small_for_an_interval_show_none_and_say_why(app, saved_run):
    """A bootstrap on a handful of words is not an interval: no CI cell value, no flag, and the page says so."""
    from analysis.differences import MIN_CI_WORDS

    run_id, result = saved_run
    at = open_page(app)
    groups = next(d.value for d in at.dataframe if "family" in d.value.columns)
    small = groups[groups["n"] < MIN_CI_WORDS]
    big = groups[groups["n"] >= MIN_CI_WORDS]
    assert len(small[small["n"] >= 2]) and len(big)  # the run has both kinds, including groups of 2-9 words
    assert (small["ci"] == f"– (under {MIN_CI_WORDS} words)").all()
    assert small["q_value"].isna().all() and big["q_value"].notna().all()
    assert not small["significant"].any() and (small["winner"] == "–").all()
    assert small["mean_delta"].notna().all()  # still listed with their mean (a group with no scored word is not)
    # Bigger groups: an interval across texts, or the reason there is none (all in one text).
    across = big[big["n_texts"] >= 2]
    assert len(across) and across["ci"].str.contains(" to ").all() and not big["ci"].str.contains("None|nan").any()
    assert (big.loc[big["n_texts"] < 2, "ci"] == "– (one text: no interval across texts)").all()
    assert any(f"An interval needs at least {MIN_CI_WORDS} words" in c.value for c in at.caption)
