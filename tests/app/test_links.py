"""Links that reopen a view: a saved run's text, span, colouring, level and units from the address, and a stale link."""

from __future__ import annotations

import pytest

from test_differences_where import domain_run  # noqa: F401 - the fixture


def open_link(app, **params):
    at = app
    for k, v in params.items():
        at.query_params[k] = v
    at.run()  # the token view is the app's first page: what a link to the app's address opens
    assert not at.exception, at.exception
    return at


def test_a_link_reopens_the_run_at_the_text_and_span(app, domain_run):
    run_id, result = domain_run
    at = open_link(app, run=run_id, text="3", span="4-12", colour="surprisal", level="tokens", units="bits")
    shown = at.session_state["result"]
    assert shown.run_id == run_id and at.session_state["tv_text"] == 2
    assert at.session_state["focus"] == {"run_id": run_id, "text_id": 2, "char_start": 4, "char_end": 12}
    assert at.radio(key="tv_colour").value == "surprisal" and at.session_state["units"] == "bits"
    assert any("duet-focus" in h.value for h in at.get("html"))
    assert at.query_params["run"] == [run_id] or at.query_params["run"] == run_id


@pytest.mark.parametrize("params, said", [({"run": "20990101-000000-gone00"}, "not in the run store"),
                                          ({"text": "99"}, "out of range")])
def test_a_stale_link_says_so_and_shows_the_default_view(app, domain_run, params, said):
    run_id, _ = domain_run
    at = open_link(app, **{"run": run_id, **params})
    assert any(said in w.value for w in at.warning), [w.value for w in at.warning]


class _Address(dict):
    """st.query_params as write_link uses it, counting the writes (each one rewrites the browser's address)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.writes = 0

    def __setitem__(self, key, value):
        self.writes += 1
        super().__setitem__(key, value)

    def __delitem__(self, key):
        self.writes += 1
        super().__delitem__(key)

    def update(self, other=(), **kw):
        for k, v in dict(other, **kw).items():
            self[k] = v


def test_write_link_writes_the_address_only_when_it_changes(monkeypatch):
    from types import SimpleNamespace

    from ui import links
    from ui.state import ShownResult

    address = _Address({"run": "r1", "text": "1", "units": "nats", "other": "kept"})
    fake = SimpleNamespace(query_params=address, session_state={"tv_text": 0, "units": "nats"})
    monkeypatch.setattr(links, "st", fake)
    monkeypatch.setattr(links, "copy_link_box", lambda: None)
    shown = ShownResult(pair=None, model_a="a", model_b="b", run_id="r1")
    links.write_link(shown)  # the address already names this view: nothing written
    assert address.writes == 0 and fake.session_state["_link_written"] == {"run": "r1", "text": "1", "units": "nats"}
    fake.session_state.update(tv_text=2, tv_colour="surprisal")
    links.write_link(shown)  # a new text and colouring: only those two written
    assert address.writes == 2 and address == {"run": "r1", "text": "3", "units": "nats", "other": "kept",
                                                "colour": "surprisal"}
    links.write_link(shown)
    assert address.writes == 2
    del fake.session_state["tv_colour"]
    links.write_link(shown)  # a parameter no longer shown is removed
    assert address.writes == 3 and "colour" not in address
