"""The built-in tiny models, one per model family: small, randomly initialised pipelines.

Each is built on this machine (no download) into the model folder, then loaded with
``from_pretrained`` like any other model. Their weights come from a fixed seed, so every
machine builds the same model. Their images are noise: they exist for trying the bot and for
tests. A source ``builtin:tiny-flux`` names the builder ``tiny/flux.py``'s ``build``.
"""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diffusers import DiffusionPipeline, StableDiffusionPipeline

PREFIX = "builtin:"
TINY_SOURCE = "builtin:tiny"
BUILDERS = {
    "tiny": "sd",
    "tiny-sd3": "sd3",
    "tiny-flux": "flux",
    "tiny-flux-kontext": "flux_kontext",
    "tiny-flux2": "flux2",
    "tiny-zimage": "zimage",
    "tiny-qwen-image": "qwen_image",
}
"""Folder (and source) name -> the module of ``engine/gpu/tiny`` that builds it."""


def is_builtin(source: str) -> bool:
    return source.startswith(PREFIX)


def ensure_builtin(source: str, models_dir: Path) -> Path:
    """The folder of built-in model ``source`` under ``models_dir``, built first if it is not
    there yet."""
    name = source.removeprefix(PREFIX)
    if name not in BUILDERS:
        known = ", ".join(PREFIX + known for known in BUILDERS)
        raise ValueError(f"{source!r} is not a built-in model; the built-in ones are {known}")
    target = models_dir / name
    if (target / "model_index.json").is_file():
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename into place, so a crash or a concurrent build never
    # leaves a half-written model that later loads fail on.
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=f".{name}-") as scratch:
        build_builtin(source).save_pretrained(Path(scratch) / name)
        try:
            (Path(scratch) / name).rename(target)
        except OSError:
            if not (target / "model_index.json").is_file():
                raise
    return target


def build_builtin(source: str) -> DiffusionPipeline:
    """A fresh (unsaved) pipeline of built-in model ``source``."""
    module = importlib.import_module(f"{__name__}.{BUILDERS[source.removeprefix(PREFIX)]}")
    pipeline: DiffusionPipeline = module.build()
    return pipeline


def ensure_tiny_model(models_dir: Path) -> Path:
    """The Stable-Diffusion-shaped ``builtin:tiny`` model's folder, built first if need be."""
    return ensure_builtin(TINY_SOURCE, models_dir)


def build_tiny_pipeline() -> StableDiffusionPipeline:
    from imagine_bot.engine.gpu.tiny import sd

    return sd.build()
