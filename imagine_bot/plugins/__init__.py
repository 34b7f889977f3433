"""The plugin API: hook markers, the hook specifications and the plugin manager.

A plugin is a module or object with functions named after the hooks in
:mod:`imagine_bot.plugins.hookspecs`, each marked with :data:`hookimpl`.
"""

import pluggy

PROJECT_NAME = "imagine"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]
