"""The prompt syntax the core reads whichever plugin parses prompts: ``--flags`` after the
text, a member's macros, and the cap on how many jobs one prompt may make. The built-in
Midjourney grammar builds on it.

A flag is ``--name`` (or ``—name``, an em dash as phones type it, when ``name`` is a flag) at
the start, after a space or after punctuation (``watercolor,--ar 3:2``), never inside double
quotes. Every function here is linear in the length of the text: quotes are found once and
looked up by bisection.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Mapping

from imagine_bot.config.quoting import quoted
from imagine_bot.engine.errors import PromptError
from imagine_bot.engine.spec import FlagValue
from imagine_bot.plugins.flags import FlagRegistry

MAX_EXPANSIONS = 40
"""The most prompts (and jobs, ``--repeat`` included) one text may expand to."""
_BEFORE_FLAG = r"(?:(?<=[\s,.;:!?)\]}\"'…])|^)"
"""A flag starts the text, or follows a space or punctuation (not a letter, ``-`` or ``/``)."""
_FLAG_START = re.compile(_BEFORE_FLAG + r"--(?=[A-Za-z])")
_EM_DASH_FLAG = re.compile(_BEFORE_FLAG + r"—(?=([A-Za-z][A-Za-z0-9_-]*))")
_FLAG_TOKEN = re.compile(r"--([A-Za-z][A-Za-z0-9_-]*)")
_MACRO = re.compile(r"(?:(?<=\s)|^)--([A-Za-z][A-Za-z0-9_-]*)(?=\s|$)")


def parse_flags(flag_text: str, flags: FlagRegistry) -> dict[str, FlagValue]:
    """The flags in ``flag_text`` (flags only, such as a user's saved preferences)."""
    body, rest = split_flags(dashes_to_flags(flag_text, flags))
    if body.strip():
        raise PromptError(f"Only --flags are allowed here, not {quoted(body.strip())}.")
    return read_flags(rest, flags)


def expand_macros(text: str, macros: Mapping[str, str]) -> str:
    """Replace each ``--name`` of a user's macro (outside quotes) with the flags it stands for."""
    if not macros:
        return text
    quotes = _Quotes(text)

    def replace(match: re.Match[str]) -> str:
        name = match[1].lower()
        if name in macros and not quotes.inside(match.start()):
            return macros[name]
        return match[0]

    return _MACRO.sub(replace, text)


def dashes_to_flags(text: str, flags: FlagRegistry) -> str:
    """``—name`` as ``--name`` where it can start a flag and ``name`` is a flag; elsewhere
    (``dusk — stormy sea``, inside quotes) an em dash stays as typed."""
    if "—" not in text:
        return text
    quotes = _Quotes(text)

    def replace(match: re.Match[str]) -> str:
        is_flag = match[1].lower() in flags and not quotes.inside(match.start())
        return "--" if is_flag else match[0]

    return _EM_DASH_FLAG.sub(replace, text)


def split_flags(text: str) -> tuple[str, str]:
    """``text`` split at its first flag outside quotes: the prompt body and the flags."""
    starts = _flag_starts(text)
    if not starts:
        return text, ""
    return text[: starts[0].start()], text[starts[0].start() :]


def read_flags(flag_text: str, flags: FlagRegistry) -> dict[str, FlagValue]:
    """The typed values of the flags in ``flag_text`` (as :func:`split_flags` leaves them)."""
    values: dict[str, FlagValue] = {}
    groups: dict[str, str] = {}
    starts = _flag_starts(flag_text)
    for match, following in itertools.zip_longest(starts, starts[1:]):
        end = following.start() if following else len(flag_text)
        token = _FLAG_TOKEN.match(flag_text, match.start())
        assert token is not None  # _FLAG_START only matches before a letter
        flag = flags.lookup(token[1])
        value = flag.parse(flag_text[token.end() : end].strip())
        if flag.group is not None:
            chosen = groups.setdefault(flag.group, flag.name)
            if chosen != flag.name:
                raise PromptError(
                    f"--{chosen} and {flag.spelling} cannot be used together; choose one.",
                    flag=flag.name,
                )
        if flag.name in values:
            if flag.kind != "terms" and not flag.repeatable:
                raise PromptError(f"{flag.spelling} is given twice; keep one.", flag=flag.name)
            value = _merge_terms(values[flag.name], value)
        values[flag.name] = value
    return values


class _Quotes:
    """Where a text's double-quoted spans are; an unmatched last quote is plain text."""

    def __init__(self, text: str) -> None:
        self._positions = [index for index, char in enumerate(text) if char == '"']

    def inside(self, index: int) -> bool:
        """Whether ``index`` lies strictly between a matched pair of quotes."""
        before = bisect.bisect_left(self._positions, index)
        return before % 2 == 1 and before < len(self._positions)


def _flag_starts(text: str) -> list[re.Match[str]]:
    quotes = _Quotes(text)
    return [match for match in _FLAG_START.finditer(text) if not quotes.inside(match.start())]


def _merge_terms(first: FlagValue, second: FlagValue) -> tuple[str, ...]:
    assert isinstance(first, tuple) and isinstance(second, tuple)
    return tuple(dict.fromkeys(str(term) for term in (*first, *second)))
