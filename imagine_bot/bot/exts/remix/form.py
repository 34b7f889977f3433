"""The prompt form (a Discord modal) that a job button opens before its job is queued.

Its custom_id is ``remix:action:job_id:index``, like the button's own, and the form keeps no
state in the process: the submission is handled by the Remix cog from the ids alone, so a form
opened before a restart still works, and a form submitted twice reaches the job service twice,
whose one-child-per-(parent, action, index) rule starts one job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import discord

from imagine_bot.bot.access import may_press
from imagine_bot.bot.jobs.buttons import JOB_ID_TEMPLATE
from imagine_bot.bot.messages import editable_prompt, prompt_text
from imagine_bot.bot.preferences import REMIX
from imagine_bot.engine.jobs.records import JobRecord
from imagine_bot.plugins.actions import INSTRUCTION_LIMIT, Action

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot

FORM_ID = re.compile(f"remix:{JOB_ID_TEMPLATE}")
PROMPT_FIELD = "prompt"
FORM_TIMEOUT = 15 * 60.0
"""Seconds discord.py keeps the form object; the submission is handled without it anyway."""
MAX_PROMPT = 4000
"""Discord's limit for a text field of a modal."""
MAX_TITLE = 45
MAX_LABEL = 45
SHORTENED_LABEL = "Prompt (text shortened to fit; flags kept)"
"""At most MAX_LABEL characters, Discord's limit for a field's label."""


async def open_prompt_form(
    bot: ImagineBot, interaction: discord.Interaction[Any], action: str, job_id: str, index: int
) -> bool:
    """Answer a job button with the prompt form when the action asks for one: always, or in the
    member's Remix mode. False when it does not, or when the press cannot be honoured (the
    ordinary press then says why)."""
    actions = bot.app.planner.actions
    if action not in actions or actions[action].edit_prompt == "never":
        return False
    chosen = actions[action]
    if chosen.edit_prompt == "remix":
        preferences = await bot.app.service.preferences(interaction.user.id)
        if not preferences.get(REMIX):
            return False
    parent = await bot.app.service.job(job_id)
    if (
        parent is None
        or not may_press(bot.app.settings.discord, interaction.user, parent.owner_id)
        or not chosen.applies_to(parent.spec)
    ):
        return False
    await interaction.response.send_modal(prompt_form(bot, chosen, parent, index))
    return True


def prompt_form(bot: ImagineBot, action: Action, parent: JobRecord, index: int) -> discord.ui.Modal:
    """The parent's prompt, flags included, to edit; Custom Zoom's ends in ``--zoom 2``. A
    prompt longer than the field keeps its flags, and the field says its text was shortened.
    An action that asks for an instruction (Edit) gets an empty field under its own label."""
    label = f"{action.label}{index}" if action.per_image else action.label
    title = label if action.edit_prompt == "always" else f"Remix: {label}"
    form = discord.ui.Modal(
        title=title[:MAX_TITLE],
        custom_id=f"remix:{action.name}:{parent.id}:{index}",
        timeout=FORM_TIMEOUT,
    )
    if action.instruction:
        form.add_item(
            discord.ui.TextInput(
                label=action.instruction[:MAX_LABEL],
                custom_id=PROMPT_FIELD,
                style=discord.TextStyle.paragraph,
                placeholder="make it night",
                max_length=INSTRUCTION_LIMIT,
            )
        )
        return form
    flags = bot.app.planner.flags
    suffix = action.form_suffix
    extra = suffix if suffix and suffix.split()[0] not in prompt_text(parent.spec, flags) else ""
    text, shortened = editable_prompt(parent.spec, flags, MAX_PROMPT, extra)
    form.add_item(
        discord.ui.TextInput(
            label=SHORTENED_LABEL if shortened else "Prompt",
            custom_id=PROMPT_FIELD,
            style=discord.TextStyle.paragraph,
            default=text,
            max_length=MAX_PROMPT,
        )
    )
    return form


def submitted_value(data: Mapping[str, Any], custom_id: str) -> str | None:
    """The value of field ``custom_id`` in a modal submission's payload, wherever the layout
    (action rows or labels) nests it."""
    for component in data.get("components", []):
        if component.get("custom_id") == custom_id and "value" in component:
            return str(component["value"])
        nested = [component.get("component") or {}, *component.get("components", [])]
        for child in nested:
            if child.get("custom_id") == custom_id and "value" in child:
                return str(child["value"])
    return None
