"""imagine-bot: a self-hosted, Midjourney-style Discord bot on a local diffusers engine.

This package is also the plugin API in one import::

    from imagine_bot import Action, Flag, hookimpl

The names load on first use (PEP 562): every ``imagine_bot.*`` import runs this module first,
so importing the engine or the settings never drags the plugin layer in, and ``import
imagine_bot`` loads neither torch nor anything else heavy. Only ``ModelRegistry`` (the type of
``imagine_generate``'s ``models``) loads torch: import it under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imagine_bot.config import Settings
    from imagine_bot.engine.control import JobControl
    from imagine_bot.engine.errors import PromptError, UserError
    from imagine_bot.engine.gpu.models import ModelRegistry
    from imagine_bot.engine.result import GenerationResult
    from imagine_bot.engine.spec import (
        DraftSpec,
        FlagValue,
        GenerationSpec,
        Prompt,
        PromptPart,
        ReferenceImage,
        SourceImage,
        WeightedRef,
    )
    from imagine_bot.plugins import hookimpl
    from imagine_bot.plugins.actions import Action, ActionRequest, ActionScope
    from imagine_bot.plugins.flags import Flag, FlagKind, FlagRegistry

__version__ = "0.1.0"

_HOMES = {
    "hookimpl": "imagine_bot.plugins",
    "Flag": "imagine_bot.plugins.flags",
    "FlagKind": "imagine_bot.plugins.flags",
    "FlagRegistry": "imagine_bot.plugins.flags",
    "Action": "imagine_bot.plugins.actions",
    "ActionRequest": "imagine_bot.plugins.actions",
    "ActionScope": "imagine_bot.plugins.actions",
    "Prompt": "imagine_bot.engine.spec",
    "PromptPart": "imagine_bot.engine.spec",
    "FlagValue": "imagine_bot.engine.spec",
    "WeightedRef": "imagine_bot.engine.spec",
    "ReferenceImage": "imagine_bot.engine.spec",
    "SourceImage": "imagine_bot.engine.spec",
    "DraftSpec": "imagine_bot.engine.spec",
    "GenerationSpec": "imagine_bot.engine.spec",
    "GenerationResult": "imagine_bot.engine.result",
    "JobControl": "imagine_bot.engine.control",
    "UserError": "imagine_bot.engine.errors",
    "PromptError": "imagine_bot.engine.errors",
    "Settings": "imagine_bot.config",
    "ModelRegistry": "imagine_bot.engine.gpu.models",
}

__all__ = [
    "Action",
    "ActionRequest",
    "ActionScope",
    "DraftSpec",
    "Flag",
    "FlagKind",
    "FlagRegistry",
    "FlagValue",
    "GenerationResult",
    "GenerationSpec",
    "JobControl",
    "ModelRegistry",
    "Prompt",
    "PromptError",
    "PromptPart",
    "ReferenceImage",
    "Settings",
    "SourceImage",
    "UserError",
    "WeightedRef",
    "hookimpl",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'imagine_bot' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
