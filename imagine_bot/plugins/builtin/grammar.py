"""The Midjourney prompt grammar: the built-in parse stage.

Order of reading, as Midjourney does it:
1. ``{a, b}`` permutations expand the whole text (flags included) into up to 40 prompts;
   nested groups flatten and ``\\,`` is a literal comma.
2. Each expansion splits at its first flag into the prompt body and the flags. A flag is ``--``
   (or ``—``, an em dash, when a known flag name follows it) at the start, after a space or
   after punctuation (``watercolor,--ar 3:2``); text inside double quotes is never a flag.
3. Leading image URLs of the body are image prompts; the rest splits at ``::`` into weighted parts.

Every step is linear in the length of the text, and the text's length, its ``{}`` nesting and
its ``::`` weights are bounded (``plugins/limits.py``): planning stays fast on the event loop.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from imagine_bot.engine.errors import PromptError
from imagine_bot.engine.spec import FlagValue, Prompt, PromptPart
from imagine_bot.plugins import hookimpl
from imagine_bot.plugins.flags import FlagRegistry
from imagine_bot.plugins.limits import MAX_BRACE_DEPTH, MAX_WEIGHT

MAX_EXPANSIONS = 40
_BEFORE_FLAG = r"(?:(?<=[\s,.;:!?)\]}\"'…])|^)"
"""A flag starts the text, or follows a space or punctuation (not a letter, ``-`` or ``/``)."""
_FLAG_START = re.compile(_BEFORE_FLAG + r"--(?=[A-Za-z])")
_EM_DASH_FLAG = re.compile(_BEFORE_FLAG + r"—(?=([A-Za-z][A-Za-z0-9_-]*))")
_FLAG_TOKEN = re.compile(r"--([A-Za-z][A-Za-z0-9_-]*)")
_IMAGE_URL = re.compile(r"<?(https?://\S+?)>?")
_WEIGHT = re.compile(r"\s*(-?(?:\d+(?:\.\d*)?|\.\d+))(?=\s|$)")
_ESCAPED_COMMA = "\x00"
_MACRO = re.compile(r"(?:(?<=\s)|^)--([A-Za-z][A-Za-z0-9_-]*)(?=\s|$)")


@hookimpl(trylast=True)
def imagine_parse(text: str, flags: FlagRegistry) -> list[Prompt]:
    text = _em_dash_flags(text, flags)
    return [parse_one(expansion, flags) for expansion in expand_permutations(text)]


def expand_permutations(text: str) -> list[str]:
    """Every combination of the ``{a, b}`` groups in ``text``, in reading order."""
    expansions = _combine(_Braces(text.replace("\\,", _ESCAPED_COMMA)).sequence(top_level=True))
    return [expansion.replace(_ESCAPED_COMMA, ",") for expansion in expansions]


def parse_flags(flag_text: str, flags: FlagRegistry) -> dict[str, FlagValue]:
    """The flags in ``flag_text`` (flags only, such as a user's saved preferences)."""
    body, rest = _split_flags(_em_dash_flags(flag_text, flags))
    if body.strip():
        raise PromptError(f"Only --flags are allowed here, not {body.strip()!r}.")
    return _parse_flags(rest, flags)


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


def parse_one(text: str, flags: FlagRegistry) -> Prompt:
    body, flag_text = _split_flags(text)
    values = _parse_flags(flag_text, flags)
    image_prompts, body = _take_image_urls(body)
    parts = _split_weighted(body)
    if not parts and not image_prompts:
        raise PromptError("The prompt is empty: describe what to imagine before any --flags.")
    return Prompt(raw=text, parts=tuple(parts), image_prompts=tuple(image_prompts), flags=values)


@dataclass
class _Braces:
    """A small recursive-descent reader for ``{a, {b, c}}`` groups."""

    text: str
    pos: int = 0
    depth: int = 0

    def sequence(self, *, top_level: bool) -> list[str | list[str]]:
        """Literal runs and groups up to a ``,`` or ``}`` that ends the enclosing group."""
        pieces: list[str | list[str]] = []
        literal: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "{":
                self.pos += 1
                pieces.append("".join(literal))
                literal = []
                pieces.append(self.group())
                continue
            if char == "}" and top_level:
                raise PromptError("Unbalanced braces: a '}' has no matching '{'.")
            if char in ",}" and not top_level:
                break
            literal.append(char)
            self.pos += 1
        pieces.append("".join(literal))
        return pieces

    def group(self) -> list[str]:
        self.depth += 1
        if self.depth > MAX_BRACE_DEPTH:
            raise PromptError(
                f"The {{…}} groups nest more than {MAX_BRACE_DEPTH} levels deep; flatten them."
            )
        options: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise PromptError("Unbalanced braces: a '{' is never closed with '}'.")
            options.extend(_combine(self.sequence(top_level=False)))
            if self.pos >= len(self.text):
                raise PromptError("Unbalanced braces: a '{' is never closed with '}'.")
            closing = self.text[self.pos]
            self.pos += 1
            if closing == "}":
                self.depth -= 1
                return [option.strip() for option in options]


def _combine(sequence: list[str | list[str]]) -> list[str]:
    """The cartesian product of literal runs and groups, capped at MAX_EXPANSIONS.

    Each expansion is kept as a list of pieces joined once at the end: only the few groups
    that multiply the expansions (at most log2(MAX_EXPANSIONS) of them) copy those lists.
    """
    combined: list[list[str]] = [[]]
    for piece in sequence:
        options = piece if isinstance(piece, list) else [piece]
        if len(options) == 1:
            for pieces in combined:
                pieces.append(options[0])
            continue
        if len(combined) * len(options) > MAX_EXPANSIONS:
            raise PromptError(
                f"This prompt expands to more than {MAX_EXPANSIONS} prompts; "
                "use fewer {…} options."
            )
        combined = [[*done, option] for done, option in itertools.product(combined, options)]
    return ["".join(pieces) for pieces in combined]


class _Quotes:
    """Where a text's double-quoted spans are; an unmatched last quote is plain text."""

    def __init__(self, text: str) -> None:
        self._positions = [index for index, char in enumerate(text) if char == '"']

    def inside(self, index: int) -> bool:
        """Whether ``index`` lies strictly between a matched pair of quotes."""
        before = bisect.bisect_left(self._positions, index)
        return before % 2 == 1 and before < len(self._positions)


def _em_dash_flags(text: str, flags: FlagRegistry) -> str:
    """``—name`` as ``--name`` where it can start a flag and ``name`` is a flag; elsewhere
    (``dusk — stormy sea``, inside quotes) an em dash stays as typed."""
    if "—" not in text:
        return text
    quotes = _Quotes(text)

    def replace(match: re.Match[str]) -> str:
        is_flag = match[1].lower() in flags and not quotes.inside(match.start())
        return "--" if is_flag else match[0]

    return _EM_DASH_FLAG.sub(replace, text)


def _flag_starts(text: str) -> list[re.Match[str]]:
    quotes = _Quotes(text)
    return [match for match in _FLAG_START.finditer(text) if not quotes.inside(match.start())]


def _split_flags(text: str) -> tuple[str, str]:
    starts = _flag_starts(text)
    if not starts:
        return text, ""
    return text[: starts[0].start()], text[starts[0].start() :]


def _parse_flags(flag_text: str, flags: FlagRegistry) -> dict[str, FlagValue]:
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
            if flag.kind != "terms":
                raise PromptError(f"{flag.spelling} is given twice; keep one.", flag=flag.name)
            value = _merge_terms(values[flag.name], value)
        values[flag.name] = value
    return values


def _merge_terms(first: FlagValue, second: FlagValue) -> tuple[str, ...]:
    assert isinstance(first, tuple) and isinstance(second, tuple)
    return tuple(dict.fromkeys(str(term) for term in (*first, *second)))


def _take_image_urls(body: str) -> tuple[list[str], str]:
    urls: list[str] = []
    words = body.split()
    for word in words:
        match = _IMAGE_URL.fullmatch(word)
        if match is None:
            break
        urls.append(match[1])
    return urls, " ".join(words[len(urls) :]) if urls else body


def _split_weighted(body: str) -> list[PromptPart]:
    """``a::2 b`` -> [a (2), b (1)]: the number right after ``::`` weighs the text before it."""
    segments = body.split("::")
    parts: list[PromptPart] = []
    for index, segment in enumerate(segments):
        if index > 0:
            weight = _WEIGHT.match(segment)
            if weight and parts:
                parts[-1] = PromptPart(text=parts[-1].text, weight=_weight(weight[1]))
                segment = segment[weight.end() :]
        text = " ".join(segment.split())
        if text:
            parts.append(PromptPart(text=text))
    if parts and sum(part.weight for part in parts) <= 0:
        raise PromptError("The ::weights of the prompt parts must add up to more than 0.")
    return parts


def _weight(written: str) -> float:
    value = float(written)
    if abs(value) > MAX_WEIGHT:  # inf included: 309 digits overflow a float
        shown = written if len(written) <= 12 else written[:12] + "…"
        raise PromptError(
            f"The ::weight {shown} is out of range: weights go from -{MAX_WEIGHT:g} "
            f"to {MAX_WEIGHT:g}."
        )
    return value
