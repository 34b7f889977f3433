"""The prompt syntax the core reads whichever plugin parses prompts: ``--flags`` after the
text (never inside double quotes; ``—`` counts as ``--``), a member's macros, and the cap on
how many jobs one prompt may make. The built-in Midjourney grammar builds on it."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping

from imagine_bot.engine.errors import PromptError
from imagine_bot.engine.spec import FlagValue
from imagine_bot.plugins.flags import FlagRegistry

MAX_EXPANSIONS = 40
"""The most prompts (and jobs, ``--repeat`` included) one text may expand to."""
_FLAG_START = re.compile(r"(?:(?<=\s)|^)--(?=[A-Za-z])")
_FLAG_TOKEN = re.compile(r"--([A-Za-z][A-Za-z0-9_-]*)")
_MACRO = re.compile(r"(?:(?<=\s)|^)--([A-Za-z][A-Za-z0-9_-]*)(?=\s|$)")


def parse_flags(flag_text: str, flags: FlagRegistry) -> dict[str, FlagValue]:
    """The flags in ``flag_text`` (flags only, such as a user's saved preferences)."""
    body, rest = split_flags(dashes_to_flags(flag_text))
    if body.strip():
        raise PromptError(f"Only --flags are allowed here, not {body.strip()!r}.")
    return read_flags(rest, flags)


def expand_macros(text: str, macros: Mapping[str, str]) -> str:
    """Replace each ``--name`` of a user's macro (outside quotes) with the flags it stands for."""
    if not macros:
        return text

    def replace(match: re.Match[str]) -> str:
        name = match[1].lower()
        if name in macros and outside_quotes(text, match.start()):
            return macros[name]
        return match[0]

    return _MACRO.sub(replace, text)


def dashes_to_flags(text: str) -> str:
    """``—`` (what phones type for ``--``) as ``--``, except inside double quotes."""
    spans = _quoted_spans(text)
    out = []
    for index, char in enumerate(text):
        inside = any(start < index < end for start, end in spans)
        out.append("--" if char == "—" and not inside else char)
    return "".join(out)


def outside_quotes(text: str, index: int) -> bool:
    return not any(start < index < end for start, end in _quoted_spans(text))


def split_flags(text: str) -> tuple[str, str]:
    """``text`` split at its first flag outside quotes: the prompt body and the flags."""
    for match in _FLAG_START.finditer(text):
        if outside_quotes(text, match.start()):
            return text[: match.start()], text[match.start() :]
    return text, ""


def read_flags(flag_text: str, flags: FlagRegistry) -> dict[str, FlagValue]:
    """The typed values of the flags in ``flag_text`` (as :func:`split_flags` leaves them)."""
    values: dict[str, FlagValue] = {}
    groups: dict[str, str] = {}
    starts = [m for m in _FLAG_START.finditer(flag_text) if outside_quotes(flag_text, m.start())]
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
            if flag.kind != "terms":
                raise PromptError(f"{flag.spelling} is given twice; keep one.", flag=flag.name)
            value = _merge_terms(values[flag.name], value)
        values[flag.name] = value
    return values


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    """Spans between matched pairs of double quotes; an unmatched last quote is plain text."""
    quotes = [index for index, char in enumerate(text) if char == '"']
    return [(quotes[i], quotes[i + 1]) for i in range(0, len(quotes) - 1, 2)]


def _merge_terms(first: FlagValue, second: FlagValue) -> tuple[str, ...]:
    assert isinstance(first, tuple) and isinstance(second, tuple)
    return tuple(dict.fromkeys(str(term) for term in (*first, *second)))
