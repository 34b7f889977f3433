"""Build the plugin manager: built-ins, installed entry points, then the plugins folder."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pluggy

from imagine_bot.config import Settings
from imagine_bot.plugins import PROJECT_NAME, hookspecs
from imagine_bot.plugins.actions import ActionRegistry
from imagine_bot.plugins.flags import FlagRegistry

ENTRY_POINT_GROUP = "imagine"
BUILTIN_PREFIX = "builtin."
BUILTIN_PLUGINS = (
    "midjourney_flags",
    "actions",
    "region",
    "grammar",
    "model_preset",
    "prompt_text",
    "loras",
    "aspect",
    "hd",
    "fix",
    "structure",
    "edit",
    "quality",
    "stylize",
    "seed",
    "chaos",
    "stop",
    "tile",
    "lane",
    "image_refs",
    "limits",
    "safety",
    "generate",
    "grid",
    "metadata",
    "provenance",
)
"""The modules of ``plugins/builtin/``; their implementations of a hook run in this order."""
ESSENTIAL = {
    "midjourney_flags": "the bot writes members' settings as these flags and the planner reads "
    "--repeat",
    "grammar": "every prompt needs a parse stage; a plugin's imagine_parse already runs first",
    "generate": "every job needs a generate stage; a plugin's imagine_generate already runs first",
}
"""Built-ins that ``plugins.blocked`` may not name, each with the reason (pytest's
``essential_plugins``); override them by implementing their hooks instead."""


class PluginError(Exception):
    """A plugin that cannot be loaded or breaks the hook rules; names the plugin."""


def build_plugin_manager(settings: Settings) -> pluggy.PluginManager:
    """A fresh manager with every plugin the settings allow, checked against the hook rules."""
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    for name in settings.plugins.blocked:
        essential = name.removeprefix(BUILTIN_PREFIX)
        if name.startswith(BUILTIN_PREFIX) and essential in ESSENTIAL:
            raise PluginError(
                f"plugins.blocked names {name!r}, which cannot be blocked: {ESSENTIAL[essential]}"
            )
        manager.set_blocked(name)
    # pluggy calls trylast implementations in the order they were registered, so the
    # built-ins run in the order BUILTIN_PLUGINS lists them.
    for name in BUILTIN_PLUGINS:
        qualified = BUILTIN_PREFIX + name
        if not manager.is_blocked(qualified):
            manager.register(importlib.import_module(f"{__package__}.builtin.{name}"), qualified)
    try:
        manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    except Exception as exc:
        raise PluginError(f"an installed plugin failed to load: {exc!r}") from exc
    if settings.plugins.folder is not None:
        _load_folder(manager, settings.plugins.folder)
    _check(manager)
    return manager


def collect_flags(manager: pluggy.PluginManager) -> FlagRegistry:
    """Run the flag register hooks into a new registry."""
    flags = FlagRegistry()
    try:
        manager.hook.imagine_register_flags(register=flags.register)
    except ValueError as exc:
        raise PluginError(f"conflicting flags: {exc}") from exc
    return flags


def collect_actions(manager: pluggy.PluginManager, settings: Settings) -> ActionRegistry:
    """Run the action register hooks into a new registry."""
    actions = ActionRegistry()
    try:
        manager.hook.imagine_register_actions(register=actions.register, settings=settings)
    except ValueError as exc:
        raise PluginError(f"a plugin registered an action that cannot be used: {exc}") from exc
    return actions


@dataclass(frozen=True)
class PluginInfo:
    name: str
    source: str
    hooks: tuple[str, ...]


def describe_plugins(manager: pluggy.PluginManager) -> list[PluginInfo]:
    """Every loaded plugin, where it came from, and the hooks it implements."""
    distributions = {
        id(plugin): f"{dist.metadata['name']} {dist.version}"
        for plugin, dist in manager.list_plugin_distinfo()
    }
    infos = []
    for name, plugin in manager.list_name_plugin():
        if plugin is None:  # blocked
            continue
        if name.startswith(BUILTIN_PREFIX):
            source = "built in"
        else:
            source = distributions.get(id(plugin)) or getattr(plugin, "__file__", None) or "?"
        hooks = tuple(sorted(caller.name for caller in manager.get_hookcallers(plugin) or ()))
        infos.append(PluginInfo(name=name, source=str(source), hooks=hooks))
    return infos


def _load_folder(manager: pluggy.PluginManager, folder: Path) -> None:
    if not folder.is_dir():
        raise PluginError(f"plugins.folder {str(folder)!r} is not a folder")
    for path in sorted(folder.glob("*.py")):
        if path.stem.startswith("_") or manager.is_blocked(path.stem):
            continue
        module = _import_file(path)
        try:
            manager.register(module, path.stem)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise PluginError(f"plugin file {path}: {exc}") from exc


def _import_file(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"imagine_plugin_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise PluginError(f"plugin file {path} failed to load: {exc!r}") from exc
    return module


def _check(manager: pluggy.PluginManager) -> None:
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r}: {exc}") from exc
    for caller in manager.hook.__dict__.values():
        if not isinstance(caller, pluggy.HookCaller) or caller.spec is None:
            continue
        if not getattr(caller.spec.function, "imagine_sync_only", False):
            continue
        for impl in caller.get_hookimpls():
            if inspect.iscoroutinefunction(impl.function):
                raise PluginError(
                    f"plugin {impl.plugin_name!r}: {caller.name} must be a plain 'def', "
                    "not 'async def' (it runs synchronously, see hookspecs.py)"
                )
