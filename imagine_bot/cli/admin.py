"""The commands an admin runs after editing the settings: ``config`` prints every setting as the
bot sees it and who set it; ``check`` finds what would fail only when a member first asks for
it (missing model and LoRA files, a localhost ``public_url`` on a server)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from imagine_bot.config import Settings, effective_settings

EXIT_PROBLEMS = 1


def add_admin_commands(commands: Any) -> None:
    config = commands.add_parser(
        "config",
        help="print the effective settings, each with where it came from "
        "(the file, an IMAGINE_* variable, or the defaults)",
    )
    config.set_defaults(command=_config)
    check = commands.add_parser(
        "check",
        help="check every model's and LoRA's source and the web address; exit 1 on a problem",
    )
    check.set_defaults(command=_check)


def _config(args: argparse.Namespace, settings: Settings) -> int:
    for key, value, source in effective_settings(args.config):
        print(f"{key} = {json.dumps(value)}  # {source}")
    return 0


def _check(args: argparse.Namespace, settings: Settings) -> int:
    # Loaded without torch: the check runs on a machine without a GPU, in seconds.
    from imagine_bot.engine.sources import check_sources

    findings = check_sources(settings)
    warnings = [settings.web.public_url_warning] if settings.web.public_url_warning else []
    broken = [finding for finding in findings if finding.broken]
    for finding in broken:
        print(f"error: {finding}")
    for line in [*warnings, *(str(f) for f in findings if not f.broken)]:
        print(f"note: {line}")
    if settings.workers.backend == "ray":
        print("note: paths were checked on this machine; Ray workers read them on their nodes")
    total = len(settings.models) + len(settings.loras)
    print(f"{len(broken)} problem{'s' * (len(broken) != 1)} in {total} model and LoRA presets")
    return EXIT_PROBLEMS if broken else 0
