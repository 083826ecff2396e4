"""Operator settings: what the browser may load, and invalid settings refused before the server starts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from backend.models.specs import ModelSpec
from backend.policy import ModelRefused, OperatorSettings, SettingsError, check_browser_spec, load_settings

LOCAL, SHARED = "127.0.0.1", "0.0.0.0"


def test_defaults_are_local_behaviour_without_the_two_code_switches(tmp_path, monkeypatch):
    monkeypatch.delenv("DUET_CONFIG", raising=False)
    settings = load_settings(tmp_path / "absent.toml")
    assert settings == OperatorSettings()
    for text in ("smollm2-135m", "gemma3-270m?variant=int8", "HuggingFaceTB/SmolLM2-360M"):
        check_browser_spec(ModelSpec.parse(text), settings, LOCAL)
    check_browser_spec(ModelSpec.parse(str(tmp_path)), settings, LOCAL)  # a folder, on localhost
    for text, setting in (("org/x?trust_remote_code=1", "allow_remote_code"), ("org/x?allow_pickle=1", "allow_pickle")):
        with pytest.raises(ModelRefused, match=setting) as error:
            check_browser_spec(ModelSpec.parse(text), settings, LOCAL)
        assert "\n" not in str(error.value) and "command line" in str(error.value)


def test_local_paths_follow_the_binding_unless_set(tmp_path):
    folder = ModelSpec.parse(str(tmp_path))
    with pytest.raises(ModelRefused, match="allow_local_paths"):
        check_browser_spec(folder, OperatorSettings(), SHARED)
    check_browser_spec(folder, OperatorSettings(allow_local_paths=True), SHARED)
    with pytest.raises(ModelRefused, match="allow_local_paths"):
        check_browser_spec(folder, OperatorSettings(allow_local_paths=False), LOCAL)


def test_allowed_models_are_globs_and_switches_can_be_turned_on(tmp_path):
    path = tmp_path / "duet.toml"
    path.write_text('allowed_models = ["smollm2-*", "myorg/*"]\nallow_remote_code = true\n', encoding="utf-8")
    settings = load_settings(path)
    check_browser_spec(ModelSpec.parse("myorg/model?trust_remote_code=1"), settings, SHARED)
    with pytest.raises(ModelRefused, match="allowed_models"):
        check_browser_spec(ModelSpec.parse("gemma3-270m"), settings, LOCAL)


@pytest.mark.parametrize(
    "content, message",
    [
        ("allow_pickle = 'yes'", "allow_pickle must be true or false"),
        ("max_upload_mb = 0", "max_upload_mb must be at least 1"),
        ("colour = 'red'", "unknown setting 'colour'"),
        ("auth = 'ldap'", "auth must be 'none' or 'oidc'"),
        ("share_runs = 1", "share_runs must be true or false"),
        ("trash_days = 0", "trash_days must be at least 1"),
        ("allowed_models = 'x'", "allowed_models must be a list"),
        ("this is not toml", "not a readable TOML file"),
    ],
)
def test_invalid_settings_stop_the_server_with_one_line(tmp_path, content, message):
    path = tmp_path / "duet.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError, match=message):
        load_settings(path)
    run = subprocess.run([sys.executable, "-m", "backend.policy"], capture_output=True, text=True,
                         env={"DUET_CONFIG": str(path), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and message in run.stderr and "Traceback" not in run.stderr


def test_the_app_model_cache_refuses_what_the_settings_refuse(tmp_path, monkeypatch):
    """backend/models/resident.get_model checks the spec itself, before the cache: no page can skip the check."""
    from backend.models import resident

    loaded = []
    monkeypatch.setattr(resident, "_load", lambda key: loaded.append(key) or key)
    monkeypatch.setattr(resident.st, "get_option", lambda name: "0.0.0.0" if name == "server.address" else None)
    for text, setting in [("org/x?trust_remote_code=1", "allow_remote_code"), ("org/x?allow_pickle=1", "allow_pickle"),
                          (str(tmp_path), "allow_local_paths")]:
        with pytest.raises(ModelRefused, match=setting):
            resident.get_model(ModelSpec.parse(text))
    assert loaded == []
    assert resident.get_model(ModelSpec.parse("org/x")) == "org/x"  # allowed: loaded through the cache
    path = tmp_path / "duet.toml"
    path.write_text("allow_local_paths = true\n", encoding="utf-8")
    monkeypatch.setenv("DUET_CONFIG", str(path))  # read at every call: the operator's edit holds at once
    assert resident.get_model(ModelSpec.parse(str(tmp_path))) == str(ModelSpec.parse(str(tmp_path)))
