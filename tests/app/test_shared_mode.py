"""Shared mode in AppTest: auth = "oidc" with two signed-in users (st.user seeded by AppTest.user).

Each user sees only their own runs, a link to the other's run says so, the other's run cannot be
trashed even with the page's button check removed (the store refuses), and Move to trash has an
Undo and a Restore.
"""

from __future__ import annotations

import pytest
from app_helpers import APP, TIMEOUT, score
from streamlit.testing.v1 import AppTest

from ui.markdown import literal

ALICE, BOB = "alice@lab.example", "bob@lab.example"


@pytest.fixture
def shared(tmp_path, monkeypatch):
    """Write the operator's duet.toml (auth = "oidc" plus `extra`) and point DUET_CONFIG at it."""

    def configure(extra: str = "") -> None:
        path = tmp_path / "duet.toml"
        path.write_text(f'auth = "oidc"\n{extra}\n', encoding="utf-8")
        monkeypatch.setenv("DUET_CONFIG", str(path))

    return configure


def signed_in(app: AppTest, email: str) -> AppTest:
    """Another browser on the same server (same cache), signed in as email."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["model_a"] = app.session_state["model_a"]
    at.session_state["model_b"] = app.session_state["model_b"]
    at.user = {"is_logged_in": True, "email": email}
    return at


def runs_page(at: AppTest) -> AppTest:
    at.switch_page("pages/runs.py").run()
    assert not at.exception, at.exception
    return at


def listed(at: AppTest) -> list[str]:
    """The run ids of the page's listing (not of the trash's table)."""
    tables = [d.value for d in at.dataframe if "scored by" in d.value.columns]
    return list(tables[0]["id"]) if tables else []


def test_nobody_signed_in_sees_only_the_sign_in_page(app, shared):
    shared()
    app.user = {"is_logged_in": False}
    at = app.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Duet"]
    assert [b.key for b in at.button] == ["login"]  # no Score, no sidebar pickers, no pages
    assert not at.sidebar.selectbox and not at.text_area
    at.button(key="login").click().run()  # no [auth] in secrets.toml here: said in one line, no traceback
    assert not at.exception
    assert any("Sign-in is not set up" in e.value for e in at.error), [e.value for e in at.error]


def test_two_users_see_only_their_own_runs(app, shared):
    shared()
    bob = score(signed_in(app, BOB).run(), "Bob's private notes.")
    assert any(literal(BOB) in c.value for c in bob.sidebar.caption)  # "Signed in as"
    bob_run = bob.session_state["result"].run_id
    assert listed(runs_page(bob)) == [bob_run]

    alice = signed_in(app, ALICE)
    assert "No runs yet" in runs_page(alice.run()).info[0].value  # bob's run is not listed for alice
    alice.switch_page("pages/token_view.py")
    alice.query_params["run"] = bob_run  # a link bob shared: not opened
    alice.run()
    assert not alice.exception
    assert any("belongs to another user" in w.value for w in alice.warning), [w.value for w in alice.warning]
    assert "result" not in alice.session_state or alice.session_state["result"] is None
    assert not any(b.key == "tv_reopen" for b in alice.button)  # "reopen your last run" offers none of bob's

    alice = score(alice, "Alice's own text.")
    alice_run = alice.session_state["result"].run_id
    assert listed(runs_page(alice)) == [alice_run]
    assert listed(runs_page(bob)) == [bob_run]


def test_a_shared_run_is_read_only_for_everyone_but_its_owner(app, shared, monkeypatch):
    shared("share_runs = true")
    bob = score(signed_in(app, BOB).run(), "Bob shares this.")
    bob_run = bob.session_state["result"].run_id
    alice = runs_page(signed_in(app, ALICE).run())
    table = alice.dataframe[0].value
    assert table["id"].tolist() == [bob_run] and table["owner"].tolist() == [BOB]
    assert listed(runs_page(bob)) == [bob_run] and bob.dataframe[0].value["owner"].tolist() == ["you"]
    assert alice.button(key="run_delete").disabled
    # Without the page's own check (a greyed button is only a hint), the store still refuses.
    monkeypatch.setattr("ui.runs.can_change", lambda *args: True)
    alice.run()
    alice.button(key="run_delete").click().run()
    assert any("belongs to another user" in e.value for e in alice.error), [e.value for e in alice.error]
    assert listed(runs_page(bob)) == [bob_run]
    alice.button(key="run_reload").click().run()  # reading a shared run is allowed
    assert alice.session_state["result"].run_id == bob_run


def test_move_to_trash_undo_and_restore(app, shared):
    shared()
    alice = score(signed_in(app, ALICE).run(), "Alice's text to throw away.")
    run_id = alice.session_state["result"].run_id
    alice = runs_page(alice)
    alice.button(key="run_delete").click().run()
    assert any(s.value.startswith("Moved run") for s in alice.success)
    assert listed(alice) == []
    assert alice.expander[-1].label == "Trash (1)"
    alice.button(key="run_undo").click().run()
    assert any(s.value.startswith("Restored run") for s in alice.success)
    assert listed(alice) == [run_id] and not any(b.key == "run_undo" for b in alice.button)

    alice.button(key="run_delete").click().run()
    tab = signed_in(app, ALICE)  # a link to the trashed run, opened in a new tab: stale
    tab.query_params["run"] = run_id
    tab.run()
    assert any("not in the run store" in w.value for w in tab.warning), [w.value for w in tab.warning]
    assert alice.selectbox(key="trash_choice").value == run_id
    alice.button(key="trash_restore").click().run()
    assert listed(alice) == [run_id] and alice.expander[-1].label == "Trash (0)"
