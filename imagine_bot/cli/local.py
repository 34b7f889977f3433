"""``imagine-bot upscale | vary | zoom | pan IMAGE``: the buttons' actions on a local file.

The same stages as a button press: the file goes into the image store, a parent spec stands
for the job that made it (its prompt from ``--prompt``, else from the PNG's generation
parameters when it is one of ours, else a neutral one; its size is the file's), the action
derives the new spec (``JobPlanner.derive``) and the GPU worker runs it (``JobRunner``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from imagine_bot.config import Settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.images.decode import store_image_file
from imagine_bot.engine.images.files import save_result
from imagine_bot.engine.images.store import PARAMETERS_KEY, ImageStore, StoredImage
from imagine_bot.engine.spec import GenerationSpec, SourceImage
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner

DEFAULT_PROMPT = "high quality, detailed"
"""The prompt of an outside image that has none: vary and outpainting need some text."""
MAX_SIDE = 16384
"""Input files are not scaled down below this side (attachments are, to ``fetch.max_side``)."""
ZOOMS = {"2": "zoom_out_2x", "1.5": "zoom_out_1_5x", "square": "make_square"}


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The four subcommands, each with the image, ``--prompt``, ``--model`` and ``-o``."""
    upscale = _command(commands, "upscale", "upscale an image (Upscale (Subtle) / (Creative))")
    upscale.add_argument(
        "--creative", action="store_true", help="then repaint detail at the new size"
    )
    upscale.set_defaults(
        action=lambda args: "upscale_creative" if args.creative else "upscale_subtle"
    )

    vary = _command(commands, "vary", "four variations of an image (Vary (Subtle) / (Strong))")
    vary.add_argument("--strong", action="store_true", help="looser variations (default: subtle)")
    vary.set_defaults(action=lambda args: "vary_strong" if args.strong else "vary_subtle")

    zoom = _command(commands, "zoom", "zoom out of an image: the scene around it is painted in")
    zoom.add_argument(
        "--by",
        choices=tuple(ZOOMS),
        default="2",
        help="2 or 1.5 times further out, or 'square' to extend the short sides (default 2)",
    )
    zoom.set_defaults(action=lambda args: ZOOMS[args.by])

    pan = _command(commands, "pan", "extend an image on one side")
    pan.add_argument("direction", choices=("left", "right", "up", "down"))
    pan.set_defaults(action=lambda args: f"pan_{args.direction}")


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str
) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=help, description=help)
    command.add_argument("image", type=Path, help="the image file (PNG, JPEG or WebP)")
    command.add_argument(
        "--prompt",
        help="what the image shows, with flags (default: the prompt saved in the PNG, if any)",
    )
    command.add_argument("--model", metavar="NAME", help="use this model preset")
    command.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="DIR",
        help="where to write the images (default: <data_dir>/images)",
    )
    command.set_defaults(command=run_image_command)
    return command


def run_image_command(args: argparse.Namespace, settings: Settings) -> int:
    # torch and diffusers take seconds to import: only the commands that generate load them.
    from imagine_bot.engine.gpu.models import ModelRegistry
    from imagine_bot.plugins.runner import JobRunner

    action = args.action(args)
    manager = build_plugin_manager(settings)
    planner = JobPlanner(settings, manager)
    stored = store_input(args.image, settings)
    source = SourceImage(sha256=stored.sha256)
    prompt = args.prompt or saved_prompt(args.image)
    size = (stored.width, stored.height)
    spec = asyncio.run(derive_from_file(planner, action, size, source, prompt, args.model))
    for warning in spec.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    runner = JobRunner(manager, ModelRegistry(settings))
    try:
        label = planner.actions[action].label
        with tqdm(total=spec.steps, desc=label, unit="step", file=sys.stderr) as bar:

            def advance(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            result = runner.submit(spec, JobControl(advance)).result()
    finally:
        runner.close()
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    files = save_result(result, args.output or settings.paths.data_dir / "images", uuid.uuid4().hex)
    if files.grid is not None:
        print(f"grid:   {files.grid}")
    for path in files.images:
        print(f"image:  {path}")
    return 0


async def derive_from_file(
    planner: JobPlanner,
    action: str,
    size: tuple[int, int],
    source: SourceImage,
    prompt: str | None,
    model: str | None,
) -> GenerationSpec:
    """``action``'s spec for a stored image of ``size``, as if a job of ``prompt`` made it."""
    specs = await planner.plan(prompt or DEFAULT_PROMPT, model=model)
    parent = specs[0].model_copy(update={"width": size[0], "height": size[1]})
    (spec,) = await planner.derive(parent, action, 1, source)
    return spec


def store_input(path: Path, settings: Settings) -> StoredImage:
    """The file in the image store, read like an attachment (same formats, byte and pixel
    limits, first frame, RGB) but at its own size: the actions scale it where they need to."""
    limits = settings.fetch.model_copy(update={"max_side": MAX_SIDE})
    return store_image_file(path, limits, ImageStore(settings.paths.store))


def saved_prompt(path: Path) -> str | None:
    """The prompt imagine-bot (or A1111) saved in a PNG's generation parameters, if any."""
    try:
        with Image.open(path, formats=("PNG",)) as image:
            parameters = image.info.get(PARAMETERS_KEY)
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    if not isinstance(parameters, str) or not parameters.strip():
        return None
    return parameters.splitlines()[0].strip() or None
