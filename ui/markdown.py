"""User text inside Streamlit markdown, shown as typed.

Streamlit's markdown reads `code`, *emphasis*, $LaTeX$, :red[colour] and
[links] out of plain characters, so a word like `$5` or a backtick in a
corpus (or a model's answer) would change how the rest of the line looks.
CommonMark lets any ASCII punctuation be escaped with a backslash, which
shows the character itself; HTML entities would not do (they show literally
inside code spans).
"""

from __future__ import annotations

import re
import string

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")


def literal(text: object) -> str:
    """text, escaped so that markdown shows exactly its characters, on one line."""
    flat = " ".join(str(text).splitlines())
    return _PUNCTUATION.sub(r"\\\1", flat)
