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
from dataclasses import dataclass

from imagine_bot.engine.errors import PromptError
from imagine_bot.engine.spec import Prompt, PromptPart
from imagine_bot.plugins import hookimpl
from imagine_bot.plugins.flags import FlagRegistry
from imagine_bot.plugins.syntax import MAX_EXPANSIONS, dashes_to_flags, read_flags, split_flags

_IMAGE_URL = re.compile(r"<?(https?://\S+?)>?")
_WEIGHT = re.compile(r"\s*(-?(?:\d+(?:\.\d*)?|\.\d+))(?=\s|$)")
_ESCAPED_COMMA = "\x00"


@hookimpl(trylast=True)
def imagine_parse(text: str, flags: FlagRegistry) -> list[Prompt]:
    text = dashes_to_flags(text)
    return [parse_one(expansion, flags) for expansion in expand_permutations(text)]


def expand_permutations(text: str) -> list[str]:
    """Every combination of the ``{a, b}`` groups in ``text``, in reading order."""
    expansions = _combine(_Braces(text.replace("\\,", _ESCAPED_COMMA)).sequence(top_level=True))
    return [expansion.replace(_ESCAPED_COMMA, ",") for expansion in expansions]


def parse_one(text: str, flags: FlagRegistry) -> Prompt:
    body, flag_text = split_flags(text)
    values = read_flags(flag_text, flags)
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
