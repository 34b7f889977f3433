"""Values quoted in error messages: enough to recognise, never a wall of text.

The one place that shortens what a member or an admin wrote before a message repeats it (a
3,000-character flag value, a long link, a setting pasted whole); every layer may use it.
"""

QUOTE_LIMIT = 80
"""Characters of a quoted value kept, the ellipsis included."""


def short(text: object, limit: int = QUOTE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    written = str(text)
    return written if len(written) <= limit else written[: limit - 1] + "…"


def quoted(text: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr`` of ``text`` shortened first, for messages that quote a value."""
    return repr(short(text, limit))
