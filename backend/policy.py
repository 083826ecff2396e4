"""What the browser may ask the server to load: the operator's settings file and the check on a model spec.

Duet runs as a local tool and sometimes on a lab server for colleagues. Anything that can run
foreign code on the server (a repository's Python with trust_remote_code, unpickling a .bin) is
the operator's switch in this file, never the browser's; the CLI, run by the machine's owner,
keeps both as options. The file is `duet.toml` beside the app, or the path in $DUET_CONFIG; with
no file the defaults below hold, which are today's local behaviour minus those two switches.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import tomllib
from pathlib import Path

from backend.errors import DuetError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT / "duet.toml"
LOCAL_ADDRESSES = ("127.0.0.1", "localhost", "::1")


class SettingsError(DuetError):
    """The operator's settings file cannot be used; the server must not start with it."""


class ModelRefused(DuetError):
    """A model spec the operator's settings do not allow from the browser."""


class JobTooLarge(DuetError):
    """A job from the browser over the operator's max_tokens_per_job."""


@dataclasses.dataclass(frozen=True)
class OperatorSettings:
    # Glob patterns over the model's source: embedded aliases, hub ids (org/name), folders, .gguf paths.
    allowed_models: tuple[str, ...] = ("smollm2-135m", "gemma3-270m", "*/*")
    # None: allowed only while the server is bound to localhost (the user is the operator).
    allow_local_paths: bool | None = None
    allow_remote_code: bool = False  # trust_remote_code from the browser: runs a repository's Python here
    allow_pickle: bool = False  # .bin/.pt checkpoints from the browser: unpickling can run code
    max_upload_mb: int = 20
    max_tokens_per_job: int = 2_000_000
    max_concurrent_jobs: int = 2
    auth: str = "none"  # none | oidc (Streamlit's st.login, configured in .streamlit/secrets.toml)
    # Each user sees their own runs; true: everyone also sees (never deletes or changes) everyone else's.
    share_runs: bool = False
    trash_days: int = 7  # a run moved to the trash is deleted for good this many days later

    def __post_init__(self):
        if self.auth not in ("none", "oidc"):
            raise SettingsError(f"auth must be 'none' or 'oidc', not {self.auth!r}")
        for name in ("max_upload_mb", "max_tokens_per_job", "max_concurrent_jobs", "trash_days"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1, not {getattr(self, name)}")


def settings_path() -> Path:
    return Path(os.environ["DUET_CONFIG"]) if os.environ.get("DUET_CONFIG") else DEFAULT_FILE


def load_settings(path: Path | None = None) -> OperatorSettings:
    """Read the settings file (defaults when there is none). Raises SettingsError with one line."""
    path = settings_path() if path is None else Path(path)
    if not path.exists():
        if os.environ.get("DUET_CONFIG"):
            raise SettingsError(f"DUET_CONFIG names {path}, which does not exist")
        return OperatorSettings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"{path}: not a readable TOML file ({error})") from None
    fields = {f.name: f for f in dataclasses.fields(OperatorSettings)}
    values = {}
    for key, value in raw.items():
        if key not in fields:
            raise SettingsError(f"{path}: unknown setting {key!r} (known: {', '.join(fields)})")
        default = getattr(OperatorSettings, key)
        if key == "allowed_models":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise SettingsError(f"{path}: allowed_models must be a list of patterns (strings)")
            value = tuple(value)
        elif isinstance(default, bool) or (key == "allow_local_paths"):
            if not isinstance(value, bool):
                raise SettingsError(f"{path}: {key} must be true or false, not {value!r}")
        elif isinstance(default, int) and (isinstance(value, bool) or not isinstance(value, int)):
            raise SettingsError(f"{path}: {key} must be a whole number, not {value!r}")
        elif isinstance(default, str) and not isinstance(value, str):
            raise SettingsError(f"{path}: {key} must be a string, not {value!r}")
        values[key] = value
    try:
        return OperatorSettings(**values)
    except SettingsError as error:
        raise SettingsError(f"{path}: {error}") from None


def bound_to_localhost(address: str | None) -> bool:
    return (address or "") in LOCAL_ADDRESSES


def check_browser_spec(spec, settings: OperatorSettings, server_address: str | None) -> None:
    """Refuse, in one line naming the setting, a spec the browser may not load. `spec` is a ModelSpec."""
    if spec.trust_remote_code and not settings.allow_remote_code:
        raise ModelRefused(
            f"{spec.source}: trust_remote_code runs the repository's code on this server; only the operator "
            f"can allow it (allow_remote_code in {settings_path().name}); the command line keeps it as an option"
        )
    if spec.allow_pickle and not settings.allow_pickle:
        raise ModelRefused(
            f"{spec.source}: allow_pickle can run code while loading; only the operator can allow it "
            f"(allow_pickle in {settings_path().name}); the command line keeps it as an option"
        )
    if spec.kind in ("folder", "gguf"):
        local_ok = settings.allow_local_paths
        if local_ok is None:
            local_ok = bound_to_localhost(server_address)
        if not local_ok:
            raise ModelRefused(
                f"{spec.source}: loading files of this server from the browser is off "
                f"(allow_local_paths in {settings_path().name})"
            )
    # Paths are matched in absolute form, so "mymodel" typed for ./mymodel meets "/srv/models/*" honestly.
    source = os.path.abspath(os.path.expanduser(spec.source)) if spec.kind in ("folder", "gguf") else spec.source
    if not any(fnmatch.fnmatchcase(source, pattern) for pattern in settings.allowed_models):
        raise ModelRefused(f"{spec.source}: not in this server's allowed models (allowed_models in {settings_path().name})")


def check_job_tokens(n_tokens: int, limit: int, what: str) -> None:
    """Refuse, in one line naming the setting, a browser job of n_tokens over limit (max_tokens_per_job).
    what says what was counted ("Scoring these texts with the two models")."""
    if n_tokens > limit:
        raise JobTooLarge(
            f"{what}: {n_tokens:,} tokens, over this server's limit of {limit:,} tokens per job "
            f"(max_tokens_per_job in {settings_path().name}). Send less at once, or ask the operator, whose "
            f"command line (python -m backend) has no such limit"
        )


def main() -> int:
    """`python -m backend.policy`: check the settings file before the server starts (make run does)."""
    import sys

    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"duet: invalid operator settings: {error}", file=sys.stderr)
        return 1
    where = settings_path() if settings_path().exists() else "defaults (no duet.toml)"
    print(f"duet: operator settings from {where}; browser may run remote code: {settings.allow_remote_code}, "
          f"unpickle: {settings.allow_pickle}; sign-in: {settings.auth}, runs shared: {settings.share_runs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
