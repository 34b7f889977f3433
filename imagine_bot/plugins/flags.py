"""Prompt flags: how one is declared, and the registry the parser looks them up in.

Plugins add flags through the ``imagine_register_flags`` hook; the built-in Midjourney set is
registered the same way (``plugins/builtin/midjourney_flags.py``).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from imagine_bot.config.quoting import quoted, short
from imagine_bot.engine.errors import PromptError
from imagine_bot.engine.spec import FlagValue, WeightedRef
from imagine_bot.plugins.limits import MAX_WEIGHT

FlagKind = Literal[
    "switch", "number", "integer", "ratio", "choice", "terms", "refs", "words", "text"
]
"""How a flag's value is read:

- ``switch``: no value (``--tile``)            - ``number`` / ``integer``: one number in a range
- ``ratio``: ``W:H`` whole numbers (``--ar``)   - ``choice``: one word from ``choices``
- ``terms``: comma list, merged when repeated  - ``refs``: URLs/codes with ``::weight`` each
- ``words``: space-separated tokens            - ``text``: one token
"""

_NAME = re.compile(r"[a-z][a-z0-9_-]*")
_REF_WEIGHT = re.compile(r"^(?P<ref>.+?)::(?P<weight>-?\d+(?:\.\d+)?|-?\.\d+)$")


@dataclass(frozen=True)
class Flag:
    """One ``--name`` a prompt may carry. Names and aliases are matched case-insensitively."""

    name: str
    kind: FlagKind = "switch"
    aliases: tuple[str, ...] = ()
    help: str = ""
    default: FlagValue | None = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    """Allowed values: words for ``choice``, numbers (as written) for ``number``."""
    optional_value: bool = False
    """The value may be left out (``--niji`` alone); it then parses as ``True``."""
    group: str | None = None
    """Flags sharing a group are alternatives (``--fast``/``--relax``): at most one per prompt."""
    ignored_warning: str | None = None
    """Shown when no transform hook honours the flag; a generic sentence when unset."""
    repeatable: bool = False
    """The flag may be given several times; its words add up (``--lora a --lora b``). For the
    ``words`` kind (``terms`` flags always merge)."""

    def __post_init__(self) -> None:
        if self.repeatable and self.kind != "words":
            raise ValueError(f"flag --{self.name}: only words flags can be repeatable")
        for name in (self.name, *self.aliases):
            if not _NAME.fullmatch(name):
                raise ValueError(f"flag name {name!r} must be lower-case letters, digits, - or _")

    @property
    def spelling(self) -> str:
        return f"--{self.name}"

    @property
    def accepted(self) -> str:
        """The accepted values in words, for error messages and help."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        low, high = _fmt(self.minimum), _fmt(self.maximum)
        if self.kind in ("number", "integer") and self.minimum is not None:
            whole = "whole " if self.kind == "integer" else ""
            return f"a {whole}number from {low} to {high}"
        if self.kind == "ratio":
            tallest = _fmt(1 / (self.minimum or 1))
            return f"a ratio W:H of whole numbers between 1:{tallest} and {high}:1"
        return {
            "switch": "no value",
            "terms": "a comma-separated list",
            "refs": "image URLs or codes, each optionally followed by ::weight",
            "words": "one or more words",
            "text": "one value",
        }.get(self.kind, "a value")

    def ignored_message(self) -> str:
        return self.ignored_warning or (
            f"{self.spelling} has no effect on this server's engine yet, so it was ignored."
        )

    def parse(self, raw: str) -> FlagValue:
        """The value written after the flag (stripped, possibly empty) as a typed value."""
        if not raw:
            if self.kind == "switch" or self.optional_value:
                return True
            raise self._error(f"{self.spelling} needs a value: {self.accepted}")
        if self.kind == "switch":
            raise self._error(
                f"{self.spelling} takes no value, but {quoted(raw)} follows it. "
                "Put the prompt text before the flags."
            )
        if self.kind == "terms":
            return tuple(term.strip() for term in raw.split(",") if term.strip())
        tokens = raw.split()
        if self.kind == "refs":
            return tuple(self._parse_ref(token) for token in tokens)
        if self.kind == "words":
            return tuple(tokens)
        if len(tokens) > 1:
            raise self._error(
                f"{self.spelling} takes {self.accepted}, but got {quoted(raw)}. "
                "Put the prompt text before the flags."
            )
        if self.kind == "ratio":
            return self._parse_ratio(raw)
        if self.kind in ("number", "integer"):
            return self._parse_number(raw)
        if self.kind == "choice":
            value = raw.lower()
            if value not in self.choices:
                raise self._error(f"{self.spelling} takes {self.accepted}, not {quoted(raw)}")
            return value
        return raw

    def format(self, value: FlagValue) -> str:
        """``value`` written back as this flag, so that parsing it gives ``value`` again."""
        if value is True:
            return self.spelling
        if isinstance(value, tuple):
            items = [_format_item(item) for item in value]
            return f"{self.spelling} " + (", " if self.kind == "terms" else " ").join(items)
        return f"{self.spelling} {_fmt(value) if isinstance(value, float) else value}"

    def _parse_number(self, raw: str) -> int | float:
        try:
            number = float(raw)
        except ValueError:
            raise self._error(f"{self.spelling} takes {self.accepted}, not {quoted(raw)}") from None
        if not math.isfinite(number):
            raise self._error(f"{self.spelling} takes {self.accepted}, not {quoted(raw)}")
        if self.choices:
            if not any(number == float(choice) for choice in self.choices):
                raise self._error(f"{self.spelling} takes {self.accepted}, not {quoted(raw)}")
        elif not self._in_range(number):
            raise self._error(
                f"{self.spelling} takes {self.accepted}; {short(raw)} is out of range"
            )
        if self.kind == "integer":
            if not number.is_integer() or not re.fullmatch(r"[+-]?\d+(\.0*)?", raw):
                raise self._error(f"{self.spelling} takes {self.accepted}, not {quoted(raw)}")
            return int(number)
        return number

    def _parse_ratio(self, raw: str) -> str:
        match = re.fullmatch(r"(\d{1,5}):(\d{1,5})", raw)
        if not match or int(match[1]) == 0 or int(match[2]) == 0:
            raise self._error(
                f"{self.spelling} takes {self.accepted} (like 16:9), not {quoted(raw)}"
            )
        ratio = Fraction(int(match[1]), int(match[2]))
        if not self._in_range(float(ratio)):
            raise self._error(
                f"{self.spelling} takes {self.accepted}; {short(raw)} is out of range"
            )
        return raw

    def _parse_ref(self, token: str) -> WeightedRef:
        match = _REF_WEIGHT.match(token)
        ref, weight = (match["ref"], float(match["weight"])) if match else (token, 1.0)
        if abs(weight) > MAX_WEIGHT:  # inf included: 309 digits overflow a float
            raise self._error(
                f"{self.spelling}: the ::weight of {ref[:80]} is out of range; weights go "
                f"from -{MAX_WEIGHT:g} to {MAX_WEIGHT:g}."
            )
        return WeightedRef(ref=ref, weight=weight)

    def _in_range(self, number: float) -> bool:
        return (self.minimum is None or number >= self.minimum) and (
            self.maximum is None or number <= self.maximum
        )

    def _error(self, message: str) -> PromptError:
        return PromptError(message, flag=self.name)


class FlagRegistry:
    """All known flags, by canonical name and alias."""

    def __init__(self) -> None:
        self._flags: dict[str, Flag] = {}
        self._spellings: dict[str, Flag] = {}

    def register(self, flag: Flag) -> None:
        for spelling in (flag.name, *flag.aliases):
            taken = self._spellings.get(spelling)
            if taken is not None:
                raise ValueError(f"--{spelling} is already registered (by the flag --{taken.name})")
        self._flags[flag.name] = flag
        for spelling in (flag.name, *flag.aliases):
            self._spellings[spelling] = flag

    def __iter__(self) -> Iterator[Flag]:
        return iter(self._flags.values())

    def __getitem__(self, name: str) -> Flag:
        return self._flags[name]

    def __contains__(self, spelling: object) -> bool:
        """Whether ``--spelling`` (lower case) names a flag, by name or alias."""
        return spelling in self._spellings

    def lookup(self, spelling: str) -> Flag:
        """The flag written as ``--spelling``; an unknown one is an error with a suggestion."""
        flag = self._spellings.get(spelling.lower())
        if flag is not None:
            return flag
        close = difflib.get_close_matches(spelling.lower(), self._spellings, n=1, cutoff=0.6)
        hint = f" Did you mean --{close[0]}?" if close else ""
        raise PromptError(f"Unknown flag --{spelling}.{hint}", flag=spelling)

    def format(self, values: Mapping[str, FlagValue]) -> str:
        """Flags as a user writes them: ``--ar 3:2 --no text, watermark --tile``."""
        return " ".join(self._flags[name].format(value) for name, value in values.items())

    def defaults(self) -> dict[str, FlagValue]:
        return {flag.name: flag.default for flag in self if flag.default is not None}


def _format_item(item: str | WeightedRef) -> str:
    if isinstance(item, WeightedRef):
        return item.ref if item.weight == 1 else f"{item.ref}::{item.weight:g}"
    return item


def _fmt(number: float | None) -> str:
    if number is None:
        return ""
    return str(int(number)) if float(number).is_integer() else f"{number:g}"
