"""The commands that run on this machine, without Discord: ``imagine`` and ``parse`` (a prompt)
and ``upscale | vary | vary-region | zoom | pan | hd | fix-faces | retexture IMAGE`` (the
buttons' actions on a local file).

Both kinds go through the bot's stages. A prompt is planned (``JobPlanner.plan``); an image
command puts the file into the image store, lets a parent spec stand for the job that made it
(its prompt from ``--prompt``, else the prompt as typed that our PNGs carry, else A1111's
generation parameters, else a neutral one; its size is the file's) and derives the action's
spec from it (``JobPlanner.derive``). :func:`run_locally` then runs the specs on the GPU worker
thread.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from imagine_bot.app import Planning
from imagine_bot.config import Settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.images.decode import store_image_file
from imagine_bot.engine.images.files import save_result
from imagine_bot.engine.images.masks import read_mask
from imagine_bot.engine.images.store import PARAMETERS_KEY, PROMPT_KEY, StoredImage
from imagine_bot.engine.spec import GenerationSpec, ImageRole, ReferenceImage, SourceImage
from imagine_bot.plugins.flags import FlagRegistry
from imagine_bot.plugins.planner import JobPlanner

DEFAULT_PROMPT = "high quality, detailed"
"""The prompt of an outside image that has none: vary and outpainting need some text."""
MAX_SIDE = 16384
"""Input files are not scaled down below this side (attachments are, to ``fetch.max_side``)."""
ZOOMS = {"2": "zoom_out_2x", "1.5": "zoom_out_1_5x", "square": "make_square"}
if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]


def add_local_commands(commands: Commands) -> None:
    """``imagine``, ``parse`` and the image commands."""
    imagine = commands.add_parser("imagine", help="generate a 2x2 grid locally from a prompt")
    imagine.add_argument("prompt", help="the prompt, with Midjourney flags")
    add_output_argument(imagine)
    imagine.add_argument("--model", metavar="NAME", help="use this model preset")
    _add_image_arguments(imagine)
    imagine.set_defaults(command=_imagine)

    parse = commands.add_parser("parse", help="show the jobs a prompt resolves to, without running")
    parse.add_argument("prompt", help="the prompt, with Midjourney flags")
    parse.add_argument("--json", action="store_true", help="print the specs as JSON")
    parse.add_argument("--model", metavar="NAME", help="use this model preset")
    _add_image_arguments(parse)
    parse.set_defaults(command=_parse)

    upscale = _image_command(
        commands, "upscale", "upscale an image (Upscale (Subtle) / (Creative))"
    )
    upscale.add_argument(
        "--creative", action="store_true", help="then repaint detail at the new size"
    )
    upscale.set_defaults(
        action=lambda args: "upscale_creative" if args.creative else "upscale_subtle"
    )

    vary = _image_command(
        commands, "vary", "four variations of an image (Vary (Subtle) / (Strong))"
    )
    vary.add_argument("--strong", action="store_true", help="looser variations (default: subtle)")
    vary.set_defaults(action=lambda args: "vary_strong" if args.strong else "vary_subtle")

    region = _image_command(commands, "vary-region", "repaint the region of an image a mask marks")
    region.add_argument(
        "--mask",
        type=Path,
        required=True,
        help="a PNG the size of the image: white where to repaint, black (or transparent) kept",
    )
    region.set_defaults(action=lambda args: "vary_region")

    zoom = _image_command(
        commands, "zoom", "zoom out of an image: the scene around it is painted in"
    )
    zoom.add_argument(
        "--by",
        choices=tuple(ZOOMS),
        default="2",
        help="2 or 1.5 times further out, or 'square' to extend the short sides (default 2)",
    )
    zoom.set_defaults(action=lambda args: ZOOMS[args.by])

    pan = _image_command(commands, "pan", "extend an image on one side")
    pan.add_argument("direction", choices=("left", "right", "up", "down"))
    pan.set_defaults(action=lambda args: f"pan_{args.direction}")

    hd = _image_command(
        commands, "hd", "an image at twice its side, detail repainted (Rerun as HD)"
    )
    hd.set_defaults(action=lambda args: "rerun_hd")

    fix = _image_command(commands, "fix-faces", "repaint the faces in an image (Fix Faces)")
    fix.set_defaults(action=lambda args: "fix_faces")

    retexture = _image_command(
        commands, "retexture", "the image's structure with the look of --prompt (Retexture)"
    )
    retexture.set_defaults(action=lambda args: "retexture")


def run_locally(
    planning: Planning, specs: Sequence[GenerationSpec], label: str, output: Path | None
) -> None:
    """Run ``specs`` one after the other on a GPU worker thread of this process, with a
    progress bar each, and write their images to ``output`` (default: <data_dir>/images)."""
    folder = output or planning.settings.paths.data_dir / "images"
    runner = planning.new_runner()
    try:
        for number, spec in enumerate(specs, 1):
            desc = f"job {number}/{len(specs)}" if len(specs) > 1 else label
            with tqdm(total=spec.steps, desc=desc, unit="step", file=sys.stderr) as bar:
                result = runner.submit(spec, JobControl(_advance(bar))).result()
            _print_warnings(result.warnings)
            files = save_result(result, folder, uuid.uuid4().hex)
            if files.grid is not None:
                print(f"grid:   {files.grid}")
            for path in files.images:
                print(f"image:  {path}")
    finally:
        runner.close()


def _imagine(args: argparse.Namespace, settings: Settings) -> int:
    planning = Planning.build(settings)
    specs = _plan(planning, args)
    _print_warnings(warning for spec in specs for warning in spec.warnings)
    run_locally(planning, specs, "imagine", args.output)
    return 0


def _parse(args: argparse.Namespace, settings: Settings) -> int:
    planning = Planning.build(settings)
    specs = _plan(planning, args)
    if args.json:
        print(json.dumps([spec.model_dump(mode="json") for spec in specs], indent=2))
        return 0
    for number, spec in enumerate(specs, 1):
        if len(specs) > 1:
            print(f"job {number} of {len(specs)}")
        print(_describe(spec, planning.planner.flags))
    _print_warnings(warning for spec in specs for warning in spec.warnings)
    return 0


def _image_command(commands: Commands, name: str, help: str) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=help, description=help)
    command.add_argument("image", type=Path, help="the image file (PNG, JPEG or WebP)")
    command.add_argument(
        "--prompt",
        help="what the image shows, with flags (default: the prompt saved in the PNG, if any)",
    )
    command.add_argument("--model", metavar="NAME", help="use this model preset")
    add_output_argument(command)
    command.set_defaults(command=_run_image_command)
    return command


def _run_image_command(args: argparse.Namespace, settings: Settings) -> int:
    action = args.action(args)
    planning = Planning.build(settings)
    stored = store_input(args.image, planning)
    source = SourceImage(sha256=stored.sha256)
    prompt = args.prompt or saved_prompt(args.image)
    size = (stored.width, stored.height)
    planner = planning.planner
    mask = store_mask(args.mask, size, planning) if getattr(args, "mask", None) else None
    spec = asyncio.run(derive_from_file(planner, action, size, source, prompt, args.model, mask))
    _print_warnings(spec.warnings)
    run_locally(planning, [spec], planner.actions[action].label, args.output)
    return 0


async def derive_from_file(
    planner: JobPlanner,
    action: str,
    size: tuple[int, int],
    source: SourceImage,
    prompt: str | None,
    model: str | None,
    mask: SourceImage | None = None,
) -> GenerationSpec:
    """``action``'s spec for a stored image of ``size``, as if a job of ``prompt`` made it."""
    specs = await planner.plan(prompt or DEFAULT_PROMPT, model=model)
    parent = specs[0].model_copy(update={"width": size[0], "height": size[1]})
    (spec,) = await planner.derive(parent, action, 1, source, mask=mask)
    return spec


def store_input(path: Path, planning: Planning) -> StoredImage:
    """The file in the image store, read like an attachment (same formats, byte and pixel
    limits, first frame, RGB) but at its own size: the actions scale it where they need to.

    An RGB PNG that decodes to the very same pixels (one the bot made) is kept byte for byte,
    so the images made from it name it, Content Credentials and all, as their parent."""
    limits = planning.settings.fetch.model_copy(update={"max_side": MAX_SIDE})
    stored = store_image_file(path, limits, planning.images)
    original = path.read_bytes()
    with Image.open(io.BytesIO(original)) as image:
        same = image.format == "PNG" and image.mode == "RGB"
        same = same and image.tobytes() == planning.images.open(stored.sha256).tobytes()
    return planning.images.put_png(original, stored.width, stored.height) if same else stored


def store_mask(path: Path, size: tuple[int, int], planning: Planning) -> SourceImage:
    """The mask file, checked against the image's ``size``, in the image store."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UserError(f"Cannot read the mask {path}: {error.strerror}.") from None
    stored = planning.images.put(read_mask(data, size))
    return SourceImage(sha256=stored.sha256)


def saved_prompt(path: Path) -> str | None:
    """The prompt saved in a PNG: as typed (flags and ``::`` weights included) when
    imagine-bot made it, else the first line of A1111's generation parameters, if any."""
    try:
        with Image.open(path, formats=("PNG",)) as image:
            typed = image.info.get(PROMPT_KEY)
            parameters = image.info.get(PARAMETERS_KEY)
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    if isinstance(typed, str) and typed.strip():
        return typed.strip()
    if not isinstance(parameters, str) or not parameters.strip():
        return None
    return parameters.splitlines()[0].strip() or None


def _plan(planning: Planning, args: argparse.Namespace) -> list[GenerationSpec]:
    images = _image_inputs(args, planning)
    return asyncio.run(planning.planner.plan(args.prompt, model=args.model, images=images))


def _image_inputs(args: argparse.Namespace, planning: Planning) -> list[ReferenceImage]:
    """The ``--image`` and ``--sref`` files, checked and stored like fetched images."""
    inputs: list[tuple[ImageRole, str]] = [("image", path) for path in args.image]
    inputs += [("style", path) for path in args.sref]
    images = []
    for role, text in inputs:
        path, weight = _split_weight(text)
        stored = store_image_file(Path(path), planning.settings.fetch, planning.images)
        images.append(
            ReferenceImage(role=role, source=Path(path).name, weight=weight, sha256=stored.sha256)
        )
    return images


def _split_weight(text: str) -> tuple[str, float]:
    path, separator, weight = text.rpartition("::")
    if separator:
        try:
            return path, float(weight)
        except ValueError:
            pass
    return text, 1.0


def add_output_argument(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="DIR",
        help="where to write the images (default: <data_dir>/images)",
    )


def _add_image_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="PATH",
        help="an image prompt from a file, like a Discord attachment (repeatable)",
    )
    command.add_argument(
        "--sref",
        action="append",
        default=[],
        metavar="PATH[::W]",
        help="a style reference image from a file, optionally ::weight (repeatable; "
        "adds to the prompt's --sref)",
    )


def _advance(bar: tqdm) -> Callable[[int, int], None]:
    """A progress callback that moves ``bar`` (an upscale's total is known only as it runs)."""

    def advance(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return advance


def _describe(spec: GenerationSpec, flags: FlagRegistry) -> str:
    rows = {
        "prompt": spec.prompt,
        "weights": ", ".join(f"{part.text}::{part.weight:g}" for part in spec.parts)
        if len(spec.parts) > 1
        else "",
        "negative": spec.negative_prompt,
        "images": " ".join(spec.image_prompts),
        "references": ", ".join(
            f"{ref.role} {ref.source}" + (f"::{ref.weight:g}" if ref.weight != 1 else "")
            for ref in spec.references
        ),
        "scales": ", ".join(f"{role} {scale:g}" for role, scale in spec.reference_scales.items()),
        "model": spec.model,
        "size": f"{spec.width}x{spec.height}",
        "steps": str(spec.steps),
        "guidance": f"{spec.guidance:g}",
        "scheduler": spec.scheduler,
        "seeds": ", ".join(str(seed) for seed in spec.seeds),
        "lane": spec.lane,
        "flags": flags.format(spec.flags),
    }
    return "\n".join(f"  {key + ':':<10} {value}" for key, value in rows.items() if value)


def _print_warnings(warnings: Iterable[str]) -> None:
    for warning in dict.fromkeys(warnings):
        print(f"warning: {warning}", file=sys.stderr)
