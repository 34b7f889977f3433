"""``imagine-bot edit IMAGE --instruction TEXT``: the Edit button on a local file.

The file (and each ``--oref`` file, for multi-reference editing) is stored like an attachment,
and the job is /edit's (``plugins/builtin/edit.py``): four edits by the preset's edit model.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from imagine_bot.app import Planning
from imagine_bot.cli.local import add_output_argument, run_locally, store_input
from imagine_bot.config import Settings
from imagine_bot.engine.images.decode import store_image_file
from imagine_bot.engine.spec import ReferenceImage
from imagine_bot.plugins.builtin.edit import edit_picture

if TYPE_CHECKING:
    from imagine_bot.cli.local import Commands


def add_edit_command(commands: Commands) -> None:
    help = "four edits of an image, as an instruction says (Edit)"
    edit = commands.add_parser("edit", help=help, description=help)
    edit.add_argument("image", type=Path, help="the image file (PNG, JPEG or WebP)")
    edit.add_argument(
        "--instruction", required=True, help="what to change: 'make it night', 'remove the car'"
    )
    edit.add_argument(
        "--oref",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="another picture the edit may use (repeatable, up to 3; FLUX.2, Qwen-Image-Edit-2509)",
    )
    edit.add_argument("--model", metavar="NAME", help="the preset whose edit_model runs")
    add_output_argument(edit)
    edit.set_defaults(command=_edit)


def _edit(args: argparse.Namespace, settings: Settings) -> int:
    planning = Planning.build(settings)
    picture = store_input(args.image, planning)
    references = [
        ReferenceImage(
            role="subject",
            source=path.name,
            sha256=store_image_file(path, settings.fetch, planning.images).sha256,
        )
        for path in args.oref
    ]
    spec = asyncio.run(
        edit_picture(
            planning.planner, picture, args.instruction, model=args.model, references=references
        )
    )
    for warning in spec.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    run_locally(planning, [spec], "edit", args.output)
    return 0
