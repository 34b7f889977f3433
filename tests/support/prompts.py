"""Hostile prompts for fuzzing the planner: what a member could type into /imagine, with the
macros (/prefer option) they could have saved. One generator, driven by a ``random.Random``,
serves the hypothesis test (``st.randoms()``) and ``benchmarks/fuzz.py`` (a seeded one)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

DISCORD_OPTION_LIMIT = 4000
"""/imagine's prompt option holds at most this many characters."""
FLAG_NAMES = (
    "ar", "aspect", "chaos", "c", "no", "q", "quality", "seed", "stop", "s", "stylize", "tile",
    "weird", "w", "iw", "sw", "sv", "cw", "ow", "sref", "cref", "oref", "draft", "r", "repeat",
    "v", "niji", "style", "raw", "fast", "relax", "turbo", "p", "stealth", "public",
    "arr", "x", "m0", "m1", "m2",
)  # fmt: skip
WORDS = (
    "fox", "a", "lighthouse", "at", "dusk", "—", "\u2013", "-", "--", "—ar", "::", '"', "'", "{",
    "}", ",", "\\,", "(", ")", ".", "<", ">", "@everyone", "<@&1>", "🦊", "\ud800", "\udfff",
    "\u200b", "\n", "\t", "https://cdn.discordapp.com/a.png", "https://x.test/b.png",
    "<https://cdn.discordapp.com/c.png>", "http://10.0.0.1/x.png", "%", "\x00", "*", "_",
)  # fmt: skip
VALUES = (
    "16:9", "0:1", "1:0", "99999:1", "2:3", "-1", "0", ".25", "1e309", "nan", "inf", "random",
    "javascript:alert(1)", "data:image/png;base64,AAAA", "/etc/passwd", "not-a-url", "raw",
    "cute", "text, watermark", "https://cdn.discordapp.com/s.png::2", "42::-0.5", "",
)  # fmt: skip
PLAIN = ("a", "red", "fox", "stormy", "sea", "oil", "painting", "cat", "in", "the", "rain")
GOOD_VALUES = ("16:9", "2", "1", "100", "250", "text", "raw", "42", "3:2", "")


@dataclass
class HostilePrompt:
    text: str
    macros: dict[str, str] = field(default_factory=dict)
    preferences: list[str] = field(default_factory=list)


def hostile_prompt(rng: random.Random) -> HostilePrompt:
    macros = {f"m{n}": _flags(rng, rng.randint(0, 3)) for n in range(rng.randint(0, 3))}
    if macros and rng.random() < 0.1:  # one long macro, up to the size /prefer accepts
        macros["m0"] = "--no " + ", ".join(["dusk"] * rng.randint(1, 160))
    text = _text(rng)
    if rng.random() < 0.1:  # a flood: one piece repeated up to Discord's limit
        text = (text + " ") * (DISCORD_OPTION_LIMIT // (len(text) + 1))
    return HostilePrompt(
        text=text[:DISCORD_OPTION_LIMIT],
        macros=macros,
        preferences=[_flags(rng, rng.randint(0, 2)) for _ in range(rng.randint(0, 2))],
    )


def _text(rng: random.Random, depth: int = 0) -> str:
    pieces = []
    for _ in range(rng.randint(1, 12)):
        kind = rng.random()
        if kind < 0.25:
            pieces.append(rng.choice(PLAIN))
        elif kind < 0.45:
            pieces.append(rng.choice(WORDS))
        elif kind < 0.6:
            pieces.append("::" + _number(rng))
        elif kind < 0.85:
            pieces.append(_flags(rng, 1))
        elif kind < 0.9:  # deep nesting, up to and past the limit
            levels = rng.randint(1, 20)
            pieces.append("{" * levels + rng.choice(WORDS) + "}" * rng.choice((levels, 0, 1)))
        elif depth < 2:
            options = ", ".join(_text(rng, depth + 1) for _ in range(rng.randint(1, 3)))
            pieces.append("{" + options + "}")
    return rng.choice((" ", "", ",", " ")).join(pieces)


def _flags(rng: random.Random, count: int) -> str:
    flags = []
    for _ in range(count):
        dash = rng.choice(("--", "--", "—"))
        value = rng.choice((rng.choice(VALUES), _number(rng), rng.choice(GOOD_VALUES)))
        flags.append(f"{dash}{rng.choice(FLAG_NAMES)} {value}".strip())
    return " ".join(flags)


def _number(rng: random.Random) -> str:
    digits = rng.choice((1, 2, 3, 40, 310))
    number = "".join(rng.choice("0123456789") for _ in range(digits))
    return rng.choice(("", "-", ".", "0.")) + number
