"""The ``imagine-bot`` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from imagine_bot.cli.local import add_commands as add_image_commands
from imagine_bot.cli.storage import add_storage_commands
from imagine_bot.config import Settings, SettingsError, load_settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.errors import ModelUnavailable, UserError
from imagine_bot.engine.images.decode import store_image_file
from imagine_bot.engine.images.files import save_result
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.spec import GenerationSpec, ImageRole, ReferenceImage
from imagine_bot.plugins.flags import FlagRegistry
from imagine_bot.plugins.manager import PluginError, build_plugin_manager, describe_plugins
from imagine_bot.plugins.planner import JobPlanner

EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    # transformers announces at import that it runs without torchvision, which we never use.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        return int(args.command(args, settings))
    except (SettingsError, PluginError, UserError) as exc:
        # Whoever runs the command line is the admin: the details are for them.
        print(
            f"imagine-bot: {exc.details if isinstance(exc, ModelUnavailable) else exc}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imagine-bot", description="A self-hosted, Midjourney-style image bot."
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help="settings file (default: $IMAGINE_CONFIG, else the built-in defaults)",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    imagine = commands.add_parser("imagine", help="generate a 2x2 grid locally from a prompt")
    imagine.add_argument("prompt", help="the prompt, with Midjourney flags")
    imagine.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="DIR",
        help="where to write the images (default: <data_dir>/images)",
    )
    imagine.add_argument("--model", metavar="NAME", help="use this model preset")
    _add_image_arguments(imagine)
    imagine.set_defaults(command=_imagine)

    parse = commands.add_parser("parse", help="show the jobs a prompt resolves to, without running")
    parse.add_argument("prompt", help="the prompt, with Midjourney flags")
    parse.add_argument("--json", action="store_true", help="print the specs as JSON")
    parse.add_argument("--model", metavar="NAME", help="use this model preset")
    _add_image_arguments(parse)
    parse.set_defaults(command=_parse)

    run = commands.add_parser("run", help="start the Discord bot (token from DISCORD_TOKEN)")
    run.set_defaults(command=_run)

    sync = commands.add_parser("sync", help="publish the slash commands to Discord")
    sync.add_argument("--guild", type=int, metavar="ID", help="only to this server (instant)")
    sync.set_defaults(command=_sync)

    add_image_commands(commands)

    plugins = commands.add_parser(
        "plugins", help="list loaded plugins and the hooks they implement"
    )
    plugins.set_defaults(command=_plugins)
    add_storage_commands(commands)
    return parser


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


def _image_inputs(args: argparse.Namespace, settings: Settings) -> list[ReferenceImage]:
    """The ``--image`` and ``--sref`` files, checked and stored like fetched images."""
    store = ImageStore(settings.paths.store)
    inputs: list[tuple[ImageRole, str]] = [("image", path) for path in args.image]
    inputs += [("style", path) for path in args.sref]
    images = []
    for role, text in inputs:
        path, weight = _split_weight(text)
        stored = store_image_file(Path(path), settings.fetch, store)
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


def _imagine(args: argparse.Namespace, settings: Settings) -> int:
    # torch and diffusers take seconds to import: only the commands that generate load them.
    from imagine_bot.engine.gpu.models import ModelRegistry
    from imagine_bot.plugins.runner import JobRunner

    manager = build_plugin_manager(settings)
    planner = JobPlanner(settings, manager)
    images = _image_inputs(args, settings)
    specs = asyncio.run(planner.plan(args.prompt, model=args.model, images=images))
    _print_warnings(specs)
    output = args.output or settings.paths.data_dir / "images"
    runner = JobRunner(manager, ModelRegistry(settings))
    try:
        for number, spec in enumerate(specs, 1):
            job_id = uuid.uuid4().hex
            label = f"job {number}/{len(specs)}" if len(specs) > 1 else "imagine"
            with tqdm(total=spec.steps, desc=label, unit="step", file=sys.stderr) as bar:
                control = JobControl(lambda done, total: bar.update(done - bar.n))
                result = runner.submit(spec, control).result()
            files = save_result(result, output, job_id)
            print(f"grid:   {files.grid}")
            for path in files.images:
                print(f"image:  {path}")
    finally:
        runner.close()
    return 0


def _parse(args: argparse.Namespace, settings: Settings) -> int:
    planner = JobPlanner(settings, build_plugin_manager(settings))
    images = _image_inputs(args, settings)
    specs = asyncio.run(planner.plan(args.prompt, model=args.model, images=images))
    if args.json:
        print(json.dumps([spec.model_dump(mode="json") for spec in specs], indent=2))
        return 0
    for number, spec in enumerate(specs, 1):
        if len(specs) > 1:
            print(f"job {number} of {len(specs)}")
        print(_describe(spec, planner.flags))
    _print_warnings(specs)
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from imagine_bot.bot.run import run_bot

    asyncio.run(run_bot(settings))
    return 0


def _sync(args: argparse.Namespace, settings: Settings) -> int:
    from imagine_bot.bot.run import sync_commands

    count = asyncio.run(sync_commands(settings, args.guild))
    print(f"synced {count} commands" + (f" to server {args.guild}" if args.guild else ""))
    return 0


def _plugins(args: argparse.Namespace, settings: Settings) -> int:
    for info in describe_plugins(build_plugin_manager(settings)):
        print(f"{info.name}  ({info.source})")
        for hook in info.hooks:
            print(f"    {hook}")
    return 0


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


def _print_warnings(specs: list[GenerationSpec]) -> None:
    for warning in dict.fromkeys(warning for spec in specs for warning in spec.warnings):
        print(f"warning: {warning}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
