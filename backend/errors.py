"""The leaf of backend: one DuetError base for every error meant for a user, and the one-line message."""

from __future__ import annotations

import errno


class DuetError(Exception):
    """An error whose message is written for the user, in one line."""


class InputError(DuetError, ValueError):
    """Texts, files or uploads that cannot be read or scored."""


class SpecError(DuetError, ValueError):
    """A model spec that cannot mean anything (bad option, bad value)."""


class ModelLoadError(DuetError, RuntimeError):
    """A model that cannot be loaded."""


class StoreError(DuetError):
    """A saved run, cache entry or catalog that cannot be read or written; the message names the file."""


DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def first_line(error: BaseException | str) -> str:
    """The first non-empty line of an error's text. A KeyError's text is its key's repr
    ('name', quoted): its own text is used instead, so no other message loses a closing quote."""
    if isinstance(error, KeyError) and len(error.args) == 1 and isinstance(error.args[0], str):
        text = error.args[0]
    else:
        text = error if isinstance(error, str) else str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines:
        return lines[0]
    return "" if isinstance(error, str) else type(error).__name__


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in DISK_FULL


def user_message(error: BaseException) -> str:
    if isinstance(error, (DuetError, FileNotFoundError)):
        return first_line(error)
    if isinstance(error, MemoryError):
        return "out of memory: score fewer or shorter texts, or lower the window"
    if is_disk_full(error):
        where = f" writing {error.filename}" if error.filename else ""
        return f"the disk is full (no space left{where}): free some space, or set DUET_CACHE_DIR to another disk"
    if isinstance(error, OSError) and error.filename and error.strerror:
        return f"{error.strerror}: {error.filename}"
    return first_line(f"{type(error).__name__}: {error}")
