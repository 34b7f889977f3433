"""Midjourney's parameter list, with its aliases, value types, ranges and defaults."""

from collections.abc import Callable

from imagine_bot.engine.spec import SEED_LIMIT
from imagine_bot.plugins import hookimpl
from imagine_bot.plugins.flags import Flag

_NO_GALLERY = "This server has no public gallery, so --stealth and --public change nothing."

MIDJOURNEY_FLAGS = (
    Flag(
        "ar",
        "ratio",
        aliases=("aspect",),
        default="1:1",
        minimum=0.25,
        maximum=4.0,
        help="aspect ratio of the images",
    ),
    Flag(
        "chaos",
        "number",
        aliases=("c",),
        default=0,
        minimum=0,
        maximum=100,
        help="how different the four images are from each other",
    ),
    Flag("no", "terms", help="things to leave out (a negative prompt)"),
    Flag(
        "quality",
        "number",
        aliases=("q",),
        default=1,
        choices=(".25", ".5", "1", "2", "4"),
        help="rendering effort: more steps at higher values",
    ),
    Flag(
        "seed",
        "integer",
        minimum=0,
        maximum=SEED_LIMIT - 1,
        help="starting noise; the same seed and prompt give the same images",
    ),
    Flag(
        "stop",
        "integer",
        default=100,
        minimum=10,
        maximum=100,
        help="finish early, at this percentage of the steps",
    ),
    Flag(
        "stylize",
        "integer",
        aliases=("s",),
        default=100,
        minimum=0,
        maximum=1000,
        help="how strongly the model's own style is applied",
    ),
    Flag("tile", help="images that tile seamlessly"),
    Flag(
        "weird",
        "integer",
        aliases=("w",),
        default=0,
        minimum=0,
        maximum=3000,
        help="unconventional aesthetics",
    ),
    Flag(
        "iw",
        "number",
        default=1,
        minimum=0,
        maximum=3,
        help="weight of the image prompts against the text",
    ),
    Flag("sref", "refs", help="style reference images or codes (`random` picks one)"),
    Flag("sw", "integer", default=100, minimum=0, maximum=1000, help="style reference weight"),
    Flag("sv", "integer", default=4, minimum=1, maximum=6, help="style reference version"),
    Flag("cref", "refs", help="character reference images"),
    Flag("cw", "integer", default=100, minimum=0, maximum=100, help="character reference weight"),
    Flag("oref", "refs", help="omni reference image"),
    Flag("ow", "integer", default=100, minimum=1, maximum=1000, help="omni reference weight"),
    Flag(
        "zoom",
        "number",
        minimum=1.0,
        maximum=2.0,
        help="Custom Zoom: how far to zoom out (1 to 2)",
        ignored_warning="--zoom only works in Custom Zoom (the button under an image), so it "
        "was ignored.",
    ),
    Flag("draft", help="a fast, cheap draft grid; Enhance re-renders at full quality"),
    Flag(
        "repeat",
        "integer",
        aliases=("r",),
        default=1,
        minimum=1,
        maximum=40,
        help="run the prompt several times",
    ),
    Flag(
        "style",
        "choice",
        choices=("raw", "cute", "expressive", "original", "scenic"),
        help="style variant; raw drops the model's default styling",
    ),
    Flag("raw", help="same as --style raw"),
    Flag(
        "niji", "text", optional_value=True, group="model", help="the anime model preset (--niji 6)"
    ),
    Flag("v", "text", aliases=("version",), group="model", help="the model version preset (--v 7)"),
    Flag("fast", group="speed", help="fast lane (the default)"),
    Flag("relax", group="speed", help="relax lane: free, runs when the GPU is idle"),
    Flag("turbo", group="speed", help="turbo lane: first in line, costs double"),
    Flag(
        "p",
        "words",
        aliases=("personalize",),
        optional_value=True,
        help="a style profile (/profile): yours learned from what you select, or --p NAME",
    ),
    Flag("exp", "integer", default=0, minimum=0, maximum=100, help="experimental aesthetics"),
    Flag(
        "stealth",
        group="visibility",
        help="keep the images out of the public gallery",
        ignored_warning=_NO_GALLERY,
    ),
    Flag(
        "public",
        group="visibility",
        help="show the images in the public gallery",
        ignored_warning=_NO_GALLERY,
    ),
)


@hookimpl(trylast=True)
def imagine_register_flags(register: Callable[[Flag], None]) -> None:
    for flag in MIDJOURNEY_FLAGS:
        register(flag)
