"""Job buttons. A button's custom_id is only ``action:job_id:index`` (a DynamicItem), so every
button keeps working after a restart: the job is loaded from storage when it is pressed, and
the button itself decides who may press it (discord.py's ``interaction_check``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import discord

from imagine_bot.bot.access import answer_if_refused
from imagine_bot.bot.errors import answer_failure
from imagine_bot.config.names import ACTION_NAME
from imagine_bot.engine.jobs.records import JobRecord
from imagine_bot.engine.spec import GenerationSpec
from imagine_bot.plugins.actions import Action, ActionRegistry


class JobPresses(Protocol):
    """What a job button needs from the bot: a form instead of a job, the check of who may
    press, and the press itself."""

    async def open_form(
        self, interaction: discord.Interaction[Any], action: str, job_id: str, index: int
    ) -> bool: ...

    async def let_through(
        self, interaction: discord.Interaction[Any], job_id: str, action: str
    ) -> JobRecord | None: ...

    async def press(
        self, interaction: discord.Interaction[Any], parent: JobRecord, action: str, index: int
    ) -> None: ...


@runtime_checkable
class ButtonHost(Protocol):
    """The client of a press (the one object a DynamicItem can reach) hands out the desk."""

    @property
    def desk(self) -> JobPresses: ...


SELECT = "select"
"""U1-U4: post one image of a grid alone, with its own buttons. Runs no engine job."""
STAR = "star"
"""Star or unstar the grid (index 0) or the image for the member who pressed (anyone may)."""
DELETE = "delete"
"""The owner removes the bot's message; the job stays stored, hidden from the gallery."""


@dataclass(frozen=True)
class ButtonLook:
    label: str | None
    emoji: str | None = None
    style: discord.ButtonStyle = discord.ButtonStyle.secondary


MAX_ROWS, MAX_PER_ROW = 5, 5
"""Discord's limits for the buttons of one message."""


JOB_ID_TEMPLATE = rf"(?P<action>{ACTION_NAME.pattern}):(?P<job>[0-9a-f]{{32}}):(?P<index>[0-4])"
"""The one grammar of a job's custom_ids (its buttons', and the prompt form's after a prefix);
action names are checked against the same pattern when they are registered."""


class JobButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=JOB_ID_TEMPLATE,
):
    """One button of a job's message; the client's desk handles its press."""

    def __init__(
        self, action: str, job_id: str, index: int, look: ButtonLook, row: int | None = None
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=look.label,
                emoji=look.emoji,
                style=look.style,
                custom_id=f"{action}:{job_id}:{index}",
            ),
            row=row,
        )
        self.action = action
        self.job_id = job_id
        self.index = index
        self.job: JobRecord | None = None
        """The job, once ``interaction_check`` has loaded it."""

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> JobButton:
        assert isinstance(item, discord.ui.Button)
        look = ButtonLook(item.label, str(item.emoji) if item.emoji else None, item.style)
        return cls(match["action"], match["job"], int(match["index"]), look)

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """Only the job's owner (or whom the settings allow) may press, but anyone may star;
        anyone else is told so, privately. A press answered with a form (Remix) goes no
        further."""
        if not await answer_if_refused(interaction):
            return False
        desk = _desk(interaction)
        if await desk.open_form(interaction, self.action, self.job_id, self.index):
            return False
        self.job = await desk.let_through(interaction, self.job_id, self.action)
        return self.job is not None

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        assert self.job is not None  # interaction_check ran first
        try:
            await _desk(interaction).press(interaction, self.job, self.action, self.index)
        except Exception as error:
            await answer_failure(interaction, error)


def _desk(interaction: discord.Interaction[Any]) -> JobPresses:
    client = interaction.client
    assert isinstance(client, ButtonHost), "job buttons need a client with a desk"
    return client.desk


def grid_view(job_id: str, spec: GenerationSpec, actions: ActionRegistry) -> discord.ui.View:
    """U1-U4 and the whole-grid actions (reroll), then one row per per-image action (V1-V4),
    then the star and Delete for the grid."""
    view = discord.ui.View(timeout=None)
    for index in range(1, 5):
        view.add_item(JobButton(SELECT, job_id, index, ButtonLook(f"U{index}"), row=0))
    row = 0
    for action in actions.for_message(spec, "grid"):
        if action.per_image:
            row += 1
            for index in range(1, 5):
                look = ButtonLook(f"{action.label}{index}", action.emoji)
                view.add_item(JobButton(action.name, job_id, index, look, row=row))
        else:
            view.add_item(JobButton(action.name, job_id, 0, _look(action), row=0))
    _add_keeping(view, job_id, 0, row=row + 1)
    return view


def single_view(
    job_id: str, index: int, spec: GenerationSpec, actions: ActionRegistry
) -> discord.ui.View:
    """The actions for one image, a row per family (upscale, vary, zoom, pan...), and the
    star and Delete where there is room."""
    view = discord.ui.View(timeout=None)
    for row, group in enumerate(_rows(actions.for_message(spec, "image"), reserved=2)):
        for action in group:
            view.add_item(JobButton(action.name, job_id, index, _look(action), row=row))
    _add_keeping(view, job_id, index, row=None)
    return view


def _add_keeping(view: discord.ui.View, job_id: str, index: int, row: int | None) -> None:
    """The star and Delete buttons (``row`` None: the first row with room)."""
    view.add_item(JobButton(STAR, job_id, index, ButtonLook(None, "\N{WHITE MEDIUM STAR}"), row))
    look = ButtonLook(None, "\N{WASTEBASKET}", discord.ButtonStyle.danger)
    view.add_item(JobButton(DELETE, job_id, index, look, row))


def _look(action: Action) -> ButtonLook:
    return ButtonLook(action.label, action.emoji)


def _rows(actions: list[Action], reserved: int = 0) -> list[list[Action]]:
    """Actions grouped by the first word of their name, one group a row while rows last,
    then into the first row with room; ``reserved`` places are left for other buttons."""
    rows: list[list[Action]] = []
    families: dict[str, int] = {}
    for action in actions[: MAX_ROWS * MAX_PER_ROW - reserved]:
        family = action.name.split("_")[0]
        row = families.get(family)
        if row is None or len(rows[row]) >= MAX_PER_ROW:
            if len(rows) < MAX_ROWS:
                rows.append([])
                row = len(rows) - 1
            else:
                row = next((i for i, r in enumerate(rows) if len(r) < MAX_PER_ROW), None)
                if row is None:
                    break  # more actions than Discord can show under one message
            families[family] = row
        rows[row].append(action)
    return rows
