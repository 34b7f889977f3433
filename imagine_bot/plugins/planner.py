"""The event-loop half of a job's stages: parse, transform, validate -> frozen specs.

Nothing here touches torch or a pipeline, so planning is cheap and never blocks the event loop
for long; ``JobRunner`` runs the GPU half. The one slow step, fetching the images a prompt
links to, is asynchronous: it happens here, when the job is accepted, so the GPU worker only
ever reads the image store.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import cast

import pluggy

from imagine_bot.config import Settings
from imagine_bot.engine.errors import PromptError, UserError
from imagine_bot.engine.images.fetch import ImageFetcher
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.spec import (
    DraftSpec,
    FlagValue,
    GenerationSpec,
    Prompt,
    ReferenceImage,
    SourceImage,
)
from imagine_bot.plugins.actions import ActionRegistry, ActionRequest, derived_draft, parent_preset
from imagine_bot.plugins.flags import FlagRegistry
from imagine_bot.plugins.limits import MAX_PROMPT_LENGTH, check_text
from imagine_bot.plugins.manager import collect_actions, collect_flags
from imagine_bot.plugins.syntax import MAX_EXPANSIONS, expand_macros, parse_flags


class JobPlanner:
    """Turns prompt text into the specs of the jobs it asks for."""

    def __init__(
        self,
        settings: Settings,
        manager: pluggy.PluginManager,
        *,
        fetcher: ImageFetcher | None = None,
    ) -> None:
        self.settings = settings
        self.manager = manager
        self.flags: FlagRegistry = collect_flags(manager)
        self.actions: ActionRegistry = collect_actions(manager, settings)
        self._ignored_warnings = {flag.name: flag.ignored_message() for flag in self.flags}
        self.fetcher = fetcher or ImageFetcher(settings.fetch, ImageStore(settings.paths.store))

    async def plan(
        self,
        text: str,
        *,
        model: str | None = None,
        preferences: Sequence[str] = (),
        macros: Mapping[str, str] | None = None,
        images: Sequence[ReferenceImage] = (),
    ) -> list[GenerationSpec]:
        """Parse, transform, fetch the linked images, then validate ``text`` into one spec
        per job it expands to.

        ``model`` forces a preset, as a plugin setting ``draft.model`` would. ``macros`` maps a
        user's ``--name`` to the flags it stands for. ``preferences`` are flag strings (channel
        defaults, the user's settings and suffix, in rising priority) that apply wherever the
        prompt sets no flag of the same name or group. ``images`` are given with the command
        rather than in its text: a Discord attachment (by URL) or a file already in the image
        store (by sha256); each says the role it plays.
        """
        check_text(text, "The prompt", MAX_PROMPT_LENGTH)
        expanded = expand_macros(text, macros or {})
        if expanded != text:
            check_text(expanded, "The prompt with your options filled in", MAX_PROMPT_LENGTH)
        prompts = self._parse(expanded)
        preferred: dict[str, FlagValue] = {}
        for flag_text in preferences:
            preferred = self._prefer(parse_flags(flag_text, self.flags), preferred)
        prompts = [
            prompt.model_copy(update={"flags": self._prefer(prompt.flags, preferred)})
            for prompt in prompts
        ]
        defaults = self.flags.defaults()
        drafts = [
            DraftSpec(
                prompt=prompt,
                repeat=repeat,
                flag_defaults=defaults,
                model=model,
                attachments=tuple(images),
            )
            for prompt in prompts
            for repeat in range(int(cast(float, prompt.flags.get("repeat", 1))))
        ]
        if len(drafts) > MAX_EXPANSIONS:
            raise PromptError(
                f"This prompt makes {len(drafts)} jobs ({len(prompts)} prompts x --repeat); "
                f"the limit is {MAX_EXPANSIONS}.",
                flag="repeat",
            )
        for draft in drafts:
            draft.flag("repeat")
            self.manager.hook.imagine_transform(draft=draft, settings=self.settings)
        await self._fetch_references(drafts)
        specs = []
        for draft in drafts:
            spec = draft.freeze(self._ignored_warnings)
            for outcome in self.manager.hook.imagine_validate(spec=spec, settings=self.settings):
                if inspect.isawaitable(outcome):
                    await outcome
            specs.append(spec)
        return specs

    def _prefer(
        self, chosen: Mapping[str, FlagValue], fallback: Mapping[str, FlagValue]
    ) -> dict[str, FlagValue]:
        """``chosen`` plus each fallback flag that no chosen flag overrides by name or group."""
        groups = {self.flags[name].group for name in chosen} - {None}
        kept = {
            name: value
            for name, value in fallback.items()
            if name not in chosen and self.flags[name].group not in groups
        }
        return {**kept, **chosen}

    async def _fetch_references(self, drafts: list[DraftSpec]) -> None:
        """Fetch every reference (and structure) image not yet in the store, once per URL
        across all jobs."""
        images = [ref for draft in drafts for ref in (*draft.references, draft.structure) if ref]
        urls = [ref.source for ref in images if ref.sha256 is None]
        if not urls:
            return
        stored = await self.fetcher.fetch_all(urls)

        def resolved(ref: ReferenceImage) -> ReferenceImage:
            if ref.sha256 is not None:
                return ref
            return ref.model_copy(update={"sha256": stored[ref.source].sha256})

        for draft in drafts:
            draft.references = [resolved(ref) for ref in draft.references]
            if draft.structure is not None:
                draft.structure = resolved(draft.structure)

    async def derive(
        self,
        parent: GenerationSpec,
        action: str,
        index: int,
        source: SourceImage | None,
        *,
        prompt: str | None = None,
        mask: SourceImage | None = None,
        macros: Mapping[str, str] | None = None,
        references: Sequence[ReferenceImage] = (),
    ) -> list[GenerationSpec]:
        """The job(s) a button press asks for: ``action`` on image ``index`` (1-4; 0 for the
        whole grid) of the job with spec ``parent``, starting from ``source`` (that image, in
        the image store). ``mask`` is the region the member marked (Vary (Region));
        ``references`` further stored pictures given with it (/edit's attachments).

        Enters the flow at the transform stage (docs/design.md, step 6): the action pre-sets its
        fields on a draft built from the parent's prompt and flags, then the transform hooks
        fill the rest, and the spec is frozen and validated like any other. ``prompt`` is the
        member's edit of the parent's prompt (Remix, with their ``macros``): parsed by the same
        grammar as /imagine, it must make exactly one job. The parent's stored images stay; when
        the parent had none, images the edit links to are fetched as for /imagine.
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
            mask=mask,
            references=tuple(references),
        )
        edited = None if prompt is None else self._edited(prompt, macros or {})
        draft = derived_draft(chosen, request, self.flags.defaults(), edited)
        self.manager.hook.imagine_transform(draft=draft, settings=self.settings)
        await self._fetch_references([draft])  # images an edited prompt links to
        spec = draft.freeze(self._ignored_warnings)
        for outcome in self.manager.hook.imagine_validate(spec=spec, settings=self.settings):
            if inspect.isawaitable(outcome):
                await outcome
        return [spec]

    def _parse(self, text: str) -> list[Prompt]:
        prompts: list[Prompt] | None = self.manager.hook.imagine_parse(text=text, flags=self.flags)
        if prompts is None:
            raise RuntimeError("no plugin implements imagine_parse")
        return prompts

    def _edited(self, text: str, macros: Mapping[str, str]) -> Prompt:
        check_text(text, "The edited prompt", MAX_PROMPT_LENGTH)
        expanded = expand_macros(text, macros)
        check_text(expanded, "The edited prompt with your options filled in", MAX_PROMPT_LENGTH)
        prompts = self._parse(expanded)
        if len(prompts) != 1:
            raise PromptError(
                f"The edited prompt makes {len(prompts)} prompts; a button makes one job, so "
                "leave out the {a, b} choices."
            )
        return prompts[0]
