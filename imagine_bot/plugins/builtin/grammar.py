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

import itertools
import re
from dataclasses import dataclass

from imagine_bot.engine.errors import PromptError
from imagine_bot.engine.spec import Prompt, PromptPart
from imagine_bot.plugins import hookimpl
from imagine_bot.plugins.flags import FlagRegistry
from imagine_bot.plugins.limits import MAX_BRACE_DEPTH, MAX_PROMPT_PARTS, MAX_WEIGHT
from imagine_bot.plugins.syntax import MAX_EXPANSIONS, dashes_to_flags, read_flags, split_flags

_IMAGE_URL = re.compile(r"<?(https?://\S+?)>?")
_WEIGHT = re.compile(r"\s*(-?(?:\d+(?:\.\d*)?|\.\d+))(?=\s|$)")
_ESCAPED_COMMA = "\x00"


@hookimpl(trylast=True)
def imagine_parse(text: str, flags: FlagRegistry) -> list[Prompt]:
    text = dashes_to_flags(text, flags)
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
    if len(segments) > MAX_PROMPT_PARTS:
        raise PromptError(
            f"This prompt has {len(segments)} ::parts; the limit is {MAX_PROMPT_PARTS}."
        )
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
