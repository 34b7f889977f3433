"""The event-loop half of a job's stages: parse, transform, validate -> frozen specs.

Nothing here touches torch or a pipeline, so planning is cheap and never blocks the event loop
for long; ``JobRunner`` runs the GPU half.
"""

from __future__ import annotations

import inspect

import pluggy

from imagine_bot.config import Settings
from imagine_bot.engine.domain import DraftSpec, GenerationSpec, SourceImage
from imagine_bot.engine.errors import PromptError, UserError
from imagine_bot.plugins.actions import ActionRegistry, ActionRequest, derived_draft, parent_preset
from imagine_bot.plugins.builtin.grammar import MAX_EXPANSIONS
from imagine_bot.plugins.flags import FlagRegistry
from imagine_bot.plugins.manager import collect_actions, collect_flags


class JobPlanner:
    """Turns prompt text into the specs of the jobs it asks for."""

    def __init__(self, settings: Settings, manager: pluggy.PluginManager) -> None:
        self.settings = settings
        self.manager = manager
        self.flags: FlagRegistry = collect_flags(manager)
        self.actions: ActionRegistry = collect_actions(manager)
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

    async def derive(
        self, parent: GenerationSpec, action: str, index: int, source: SourceImage | None
    ) -> list[GenerationSpec]:
        """The job(s) a button press asks for: ``action`` on image ``index`` (1-4; 0 for the
        whole grid) of the job with spec ``parent``, starting from ``source`` (that image, in
        the image store).

        Enters the flow at the transform stage (DESIGN.md, step 8): the action pre-sets its
        fields on a draft built from the parent's prompt and flags, then the transform hooks
        fill the rest, and the spec is frozen and validated like any other.
        """
        chosen = self.actions[action]
        if not chosen.applies_to(parent):
            raise UserError(f"{chosen.label} is not available for this job.")
        if not 0 <= index <= len(parent.seeds) or (chosen.needs_source and index == 0):
            raise UserError(f"{chosen.label} needs one of the job's images, not #{index}.")
        if chosen.needs_source and source is None:
            raise UserError(f"{chosen.label} needs the image it starts from.")
        request = ActionRequest(
            parent=parent,
            index=index,
            source=source,
            settings=self.settings,
            preset=parent_preset(self.settings, parent),
        )
        draft = derived_draft(chosen, request, self.flags.defaults())
        self.manager.hook.imagine_transform(draft=draft, settings=self.settings)
        spec = draft.freeze(self._ignored_warnings)
        for outcome in self.manager.hook.imagine_validate(spec=spec, settings=self.settings):
            if inspect.isawaitable(outcome):
                await outcome
        return [spec]
