"""The Midjourney prompt grammar: the built-in parse stage.

Order of reading, as Midjourney does it:
1. ``{a, b}`` permutations expand the whole text (flags included) into up to 40 prompts;
   nested groups flatten and ``\\,`` is a literal comma.
2. Each expansion splits at its first flag into the prompt body and the flags. ``—`` (em dash)
   counts as ``--``; text inside double quotes is never a flag.
3. Leading image URLs of the body are image prompts; the rest splits at ``::`` into weighted parts.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from imagine_bot.engine.errors import PromptError
from imagine_bot.engine.spec import FlagValue, Prompt, PromptPart
from imagine_bot.plugins import hookimpl
from imagine_bot.plugins.flags import FlagRegistry

MAX_EXPANSIONS = 40
_FLAG_START = re.compile(r"(?:(?<=\s)|^)--(?=[A-Za-z])")
_FLAG_TOKEN = re.compile(r"--([A-Za-z][A-Za-z0-9_-]*)")
_IMAGE_URL = re.compile(r"<?(https?://\S+?)>?")
_WEIGHT = re.compile(r"\s*(-?(?:\d+(?:\.\d*)?|\.\d+))(?=\s|$)")
_ESCAPED_COMMA = "\x00"
_MACRO = re.compile(r"(?:(?<=\s)|^)--([A-Za-z][A-Za-z0-9_-]*)(?=\s|$)")


@hookimpl(trylast=True)
def imagine_parse(text: str, flags: FlagRegistry) -> list[Prompt]:
    text = _quoted_aware_replace(text, "—", "--")
    return [parse_one(expansion, flags) for expansion in expand_permutations(text)]


def expand_permutations(text: str) -> list[str]:
    """Every combination of the ``{a, b}`` groups in ``text``, in reading order."""
    expansions = _combine(_Braces(text.replace("\\,", _ESCAPED_COMMA)).sequence(top_level=True))
    return [expansion.replace(_ESCAPED_COMMA, ",") for expansion in expansions]


def parse_flags(flag_text: str, flags: FlagRegistry) -> dict[str, FlagValue]:
    """The flags in ``flag_text`` (flags only, such as a user's saved preferences)."""
    body, rest = _split_flags(_quoted_aware_replace(flag_text, "—", "--"))
    if body.strip():
        raise PromptError(f"Only --flags are allowed here, not {body.strip()!r}.")
    return _parse_flags(rest, flags)


def expand_macros(text: str, macros: Mapping[str, str]) -> str:
    """Replace each ``--name`` of a user's macro (outside quotes) with the flags it stands for."""
    if not macros:
        return text

    def replace(match: re.Match[str]) -> str:
        name = match[1].lower()
        if name in macros and _outside_quotes(text, match.start()):
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
                return [option.strip() for option in options]


def _combine(sequence: list[str | list[str]]) -> list[str]:
    """The cartesian product of literal runs and groups, capped at MAX_EXPANSIONS."""
    combined = [""]
    for piece in sequence:
        options = piece if isinstance(piece, list) else [piece]
        if len(combined) * len(options) > MAX_EXPANSIONS:
            raise PromptError(
                f"This prompt expands to more than {MAX_EXPANSIONS} prompts; "
                "use fewer {…} options."
            )
        combined = [done + option for done, option in itertools.product(combined, options)]
    return combined


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    """Spans between matched pairs of double quotes; an unmatched last quote is plain text."""
    quotes = [index for index, char in enumerate(text) if char == '"']
    return [(quotes[i], quotes[i + 1]) for i in range(0, len(quotes) - 1, 2)]


def _outside_quotes(text: str, index: int) -> bool:
    return not any(start < index < end for start, end in _quoted_spans(text))


def _quoted_aware_replace(text: str, old: str, new: str) -> str:
    spans = _quoted_spans(text)
    out = []
    for index, char in enumerate(text):
        inside = any(start < index < end for start, end in spans)
        out.append(new if char == old and not inside else char)
    return "".join(out)


def _split_flags(text: str) -> tuple[str, str]:
    for match in _FLAG_START.finditer(text):
        if _outside_quotes(text, match.start()):
            return text[: match.start()], text[match.start() :]
    return text, ""


def _parse_flags(flag_text: str, flags: FlagRegistry) -> dict[str, FlagValue]:
    values: dict[str, FlagValue] = {}
    groups: dict[str, str] = {}
    starts = [m for m in _FLAG_START.finditer(flag_text) if _outside_quotes(flag_text, m.start())]
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


def _merge_terms(first: FlagValue, second: FlagValue) -> tuple[str, ...]:
    assert isinstance(first, tuple) and isinstance(second, tuple)
    return tuple(dict.fromkeys(str(term) for term in (*first, *second)))


def _take_image_urls(body: str) -> tuple[list[str], str]:
    urls: list[str] = []
    words = body.split()
    while words and (match := _IMAGE_URL.fullmatch(words[0])):
        urls.append(match[1])
        words.pop(0)
    return urls, " ".join(words) if urls else body


def _split_weighted(body: str) -> list[PromptPart]:
    """``a::2 b`` -> [a (2), b (1)]: the number right after ``::`` weighs the text before it."""
    segments = body.split("::")
    parts: list[PromptPart] = []
    for index, segment in enumerate(segments):
        if index > 0:
            weight = _WEIGHT.match(segment)
            if weight and parts:
                parts[-1] = PromptPart(text=parts[-1].text, weight=float(weight[1]))
                segment = segment[weight.end() :]
        text = " ".join(segment.split())
        if text:
            parts.append(PromptPart(text=text))
    if parts and sum(part.weight for part in parts) <= 0:
        raise PromptError("The ::weights of the prompt parts must add up to more than 0.")
    return parts
