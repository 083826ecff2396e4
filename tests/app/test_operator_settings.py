"""The browser cannot switch on remote code or pickle: the sidebar refuses the spec and names the operator setting."""

from __future__ import annotations


def test_typed_trust_remote_code_is_refused_in_the_page(app, monkeypatch):
    def no_models(*args, **kwargs):
        raise AssertionError("a refused spec reached the model loader")

    monkeypatch.setattr("backend.models.resident.get_model", no_models)
    at = app.run()
    at.selectbox(key="_source_b").set_value("Other: hub id, folder or .gguf").run()
    at.text_input(key="_path_b").set_value("org/x?trust_remote_code=1").run()
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert any("allow\\_remote\\_code" in e and "Model B" in e for e in errors), errors
    assert at.checkbox(key="_remote_b").disabled and at.checkbox(key="_pickle_b").disabled
    # The refused spec never became the page's model B.
    assert "trust_remote_code" not in at.session_state["model_b"]


def test_the_operator_can_allow_it(app, tmp_path, monkeypatch):
    path = tmp_path / "duet.toml"
    path.write_text("allow_remote_code = true\n", encoding="utf-8")
    monkeypatch.setenv("DUET_CONFIG", str(path))
    at = app.run()
    assert not at.checkbox(key="_remote_b").disabled
    assert not at.sidebar.error
