"""Turn any error into one line a user can act on."""

from __future__ import annotations


def user_message(error: BaseException) -> str:
    from backend.inputs import InputError
    from backend.loading import ModelLoadError
    from backend.specs import SpecError

    if isinstance(error, (InputError, ModelLoadError, SpecError, FileNotFoundError)):
        text = str(error)
    elif isinstance(error, MemoryError):
        text = "out of memory: score fewer or shorter texts, or lower the window"
    else:
        text = f"{type(error).__name__}: {error}"
    lines = [line.strip() for line in text.strip("'\"").splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
