"""Bounds on what one member's text may ask of the planner, which runs on the event loop.

With these, parsing and planning one prompt take milliseconds whatever is typed
(``benchmarks/fuzz.py`` measures it), so one member cannot delay everyone else's answers.
"""

from __future__ import annotations

from imagine_bot.engine.errors import PromptError

MAX_PROMPT_LENGTH = 6000
"""Characters of a prompt once the member's options (macros) are filled in."""
MAX_FLAGS_LENGTH = 1000
"""Characters of a saved option (macro) or suffix."""
MAX_BRACE_DEPTH = 8
"""How deep ``{…}`` groups may nest."""
MAX_WEIGHT = 1000.0
"""The largest ``::`` weight, either sign."""


def check_text(text: str, what: str, limit: int) -> None:
    """Refuse ``text`` (described as ``what``, e.g. "The prompt") when it is longer than
    ``limit`` characters or holds an unpaired surrogate, which no database or Discord takes."""
    if len(text) > limit:
        raise PromptError(f"{what} is {len(text):,} characters long; the limit is {limit:,}.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise PromptError(
            f"{what} holds a character that is not text (U+{ord(text[error.start]):04X}, "
            f"at position {error.start + 1}); remove it and try again."
        ) from None
