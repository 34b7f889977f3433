"""The ``imagine-bot`` command line: the parser, settings and errors, and the commands that
start Discord (``run``, ``sync``) or list plugins. The local commands are in ``local.py``, the
database and quota ones in ``storage.py``. Nothing heavy loads at import: torch only in the
commands that generate, discord only in ``run`` and ``sync``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from imagine_bot import __version__
from imagine_bot.cli.admin import add_admin_commands
from imagine_bot.cli.edit import add_edit_command
from imagine_bot.cli.local import add_local_commands
from imagine_bot.cli.provenance import add_provenance_commands
from imagine_bot.cli.storage import add_storage_commands
from imagine_bot.config import Settings, SettingsError, load_settings
from imagine_bot.engine.errors import ModelUnavailable, UserError
from imagine_bot.plugins.manager import PluginError, build_plugin_manager, describe_plugins

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
    parser.add_argument("--version", action="version", version=f"imagine-bot {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help="settings file (default: $IMAGINE_CONFIG, else the built-in defaults)",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    add_local_commands(commands)
    add_edit_command(commands)

    run = commands.add_parser("run", help="start the Discord bot (token from DISCORD_TOKEN)")
    run.set_defaults(command=_run)

    sync = commands.add_parser("sync", help="publish the slash commands to Discord")
    sync.add_argument("--guild", type=int, metavar="ID", help="only to this server (instant)")
    sync.set_defaults(command=_sync)

    plugins = commands.add_parser(
        "plugins", help="list loaded plugins and the hooks they implement"
    )
    plugins.set_defaults(command=_plugins)
    add_storage_commands(commands)
    add_admin_commands(commands)
    add_provenance_commands(commands)
    return parser


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


if __name__ == "__main__":
    sys.exit(main())
