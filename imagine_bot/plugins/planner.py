"""The event-loop half of a job's stages: parse, transform, validate -> frozen specs.

Nothing here touches torch or a pipeline, so planning is cheap and never blocks the event loop
for long; ``JobRunner`` runs the GPU half.
"""

from __future__ import annotations

import inspect

import pluggy

from imagine_bot.config import Settings
from imagine_bot.engine.domain import DraftSpec, GenerationSpec
from imagine_bot.engine.errors import PromptError
from imagine_bot.plugins.builtin.grammar import MAX_EXPANSIONS
from imagine_bot.plugins.flags import FlagRegistry
from imagine_bot.plugins.manager import collect_flags


class JobPlanner:
    """Turns prompt text into the specs of the jobs it asks for."""

    def __init__(self, settings: Settings, manager: pluggy.PluginManager) -> None:
        self.settings = settings
        self.manager = manager
        self.flags: FlagRegistry = collect_flags(manager)
        self._ignored_warnings = {flag.name: flag.ignored_message() for flag in self.flags}

    async def plan(self, text: str, *, model: str | None = None) -> list[GenerationSpec]:
        """Parse, transform and validate ``text`` into one spec per job it expands to.

        ``model`` forces a preset, as a plugin setting ``draft.model`` would.
        """
        prompts = self.manager.hook.imagine_parse(text=text, flags=self.flags)
        if prompts is None:
            raise RuntimeError("no plugin implements imagine_parse")
        defaults = self.flags.defaults()
        drafts = [
            DraftSpec(prompt=prompt, repeat=repeat, flag_defaults=defaults, model=model)
            for prompt in prompts
            for repeat in range(int(prompt.flags.get("repeat", 1)))
        ]
        if len(drafts) > MAX_EXPANSIONS:
            raise PromptError(
                f"This prompt makes {len(drafts)} jobs ({len(prompts)} prompts x --repeat); "
                f"the limit is {MAX_EXPANSIONS}.",
                flag="repeat",
            )
        specs = []
        for draft in drafts:
            draft.flag("repeat")
            self.manager.hook.imagine_transform(draft=draft, settings=self.settings)
            spec = draft.freeze(self._ignored_warnings)
            for outcome in self.manager.hook.imagine_validate(spec=spec, settings=self.settings):
                if inspect.isawaitable(outcome):
                    await outcome
            specs.append(spec)
        return specs
