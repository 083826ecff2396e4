"""The leaf of backend: one DuetError base for every error meant for a user, and the one-line message."""

from __future__ import annotations


class DuetError(Exception):
    """An error whose message is written for the user, in one line."""


class InputError(DuetError, ValueError):
    """Texts, files or uploads that cannot be read or scored."""


class SpecError(DuetError, ValueError):
    """A model spec that cannot mean anything (bad option, bad value)."""


class ModelLoadError(DuetError, RuntimeError):
    """A model that cannot be loaded."""


def first_line(error: BaseException | str) -> str:
    """The first non-empty line of an error's text (quotes around a KeyError's text removed)."""
    text = error if isinstance(error, str) else str(error)
    lines = [line.strip() for line in text.strip("'\"").splitlines() if line.strip()]
    if lines:
        return lines[0]
    return "" if isinstance(error, str) else type(error).__name__


def user_message(error: BaseException) -> str:
    if isinstance(error, (DuetError, FileNotFoundError)):
        return first_line(error)
    if isinstance(error, MemoryError):
        return "out of memory: score fewer or shorter texts, or lower the window"
    return first_line(f"{type(error).__name__}: {error}")
