"""The model families the engine runs, one module each, and which family a pipeline is.

Adding a family is one module here (a ``FAMILY`` record) plus its tiny builder in
``engine/gpu/tiny/``, and its name in ``config.loras.ModelFamily``.
"""

from __future__ import annotations

import importlib

from diffusers import DiffusionPipeline

from imagine_bot.engine.gpu.families.family import Family, LatentFormat

__all__ = ["FAMILIES", "Family", "LatentFormat", "UnknownFamily", "family_named", "family_of"]

_MODULES = ("sd1", "sd2", "sdxl", "sd3", "flux1", "flux2", "zimage", "qwen_image")
FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (importlib.import_module(f"{__name__}.{name}").FAMILY for name in _MODULES)
}
"""Every family by name, in detection order (sd1 before sd2, which share pipeline classes)."""
ALIASES = {"tiny": "sd1"}
"""Preset family names that are not families of their own: ``tiny`` is the LoRA family of the
``builtin:tiny`` model, which is SD 1.x-shaped."""


def family_named(name: str) -> Family | None:
    return FAMILIES.get(ALIASES.get(name, name))


def family_of(pipeline: DiffusionPipeline, configured: str | None = None) -> Family:
    """The family of ``pipeline``: the preset's ``family`` when it names one, else the one
    whose pipelines include ``pipeline``'s class."""
    if configured is not None:
        named = family_named(configured)
        if named is not None:
            return named
    for family in FAMILIES.values():
        if isinstance(pipeline, family.pipelines):
            return family
    raise UnknownFamily(type(pipeline).__name__)


class UnknownFamily(ValueError):
    """A pipeline class that no family module describes."""

    def __init__(self, pipeline_class: str) -> None:
        super().__init__(
            f"{pipeline_class} is not a model family this bot knows; the known ones are "
            + ", ".join(family.title for family in FAMILIES.values())
        )
        self.pipeline_class = pipeline_class
