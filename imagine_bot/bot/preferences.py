"""A user's saved defaults (/settings, /prefer suffix) as the flags they stand for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from imagine_bot.config import Settings
from imagine_bot.engine.spec import Lane

STYLIZE_LEVELS = {"low": 50, "med": 100, "high": 250, "very_high": 750}


def preference_flags(preferences: Mapping[str, Any], settings: Settings) -> list[str]:
    """Flag strings in rising priority: the /settings choices, then the /prefer suffix."""
    chosen = []
    preset = settings.models.get(str(preferences.get("model", "")))
    if preset is not None and preset.versions:
        chosen.append(f"--v {preset.versions[0]}")
    elif preset is not None and preset.niji:
        chosen.append(f"--niji {preset.niji[0]}")
    if preferences.get("stylize") in STYLIZE_LEVELS:
        chosen.append(f"--stylize {STYLIZE_LEVELS[preferences['stylize']]}")
    if preferences.get("lane") in set(Lane):
        chosen.append(f"--{preferences['lane']}")
    if preferences.get("raw"):
        chosen.append("--raw")
    return [" ".join(chosen), str(preferences.get("suffix", ""))]
