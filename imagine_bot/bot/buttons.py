"""Job buttons. A button's custom_id is only ``action:job_id:index`` (a DynamicItem), so every
button keeps working after a restart: the job is loaded from storage when it is pressed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from imagine_bot.engine.domain import GenerationSpec

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot

SELECT = "select"
"""U1-U4: post one image of a grid alone, with its own buttons. Runs no engine job."""


@dataclass(frozen=True)
class ButtonLook:
    label: str | None
    emoji: str | None = None
    style: discord.ButtonStyle = discord.ButtonStyle.secondary


# Midjourney's single-image buttons, row by row. Each names an engine action.
SINGLE_IMAGE_ROWS: tuple[tuple[tuple[str, ButtonLook], ...], ...] = (
    (
        ("upscale_subtle", ButtonLook("Upscale (Subtle)")),
        ("upscale_creative", ButtonLook("Upscale (Creative)")),
        ("enhance", ButtonLook("Enhance", "✨")),
    ),
    (
        ("vary_subtle", ButtonLook("Vary (Subtle)", "🪄")),
        ("vary_strong", ButtonLook("Vary (Strong)", "🪄")),
    ),
    (
        ("zoom_out_2x", ButtonLook("Zoom Out 2x", "🔍")),
        ("zoom_out_1_5x", ButtonLook("Zoom Out 1.5x", "🔍")),
        ("make_square", ButtonLook("Make Square", "↔️")),
    ),
    (
        ("pan_left", ButtonLook(None, "⬅️")),
        ("pan_right", ButtonLook(None, "➡️")),
        ("pan_up", ButtonLook(None, "⬆️")),
        ("pan_down", ButtonLook(None, "⬇️")),
    ),
)


class JobButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"(?P<action>[a-z0-9_]{1,40}):(?P<job>[0-9a-f]{32}):(?P<index>[0-4])",
):
    """One button of a job's message; its press is handled by ``ImagineBot.press``."""

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

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot: ImagineBot = interaction.client
        await bot.press(interaction, self.action, self.job_id, self.index)


def grid_view(job_id: str) -> discord.ui.View:
    """U1-U4 and reroll, then V1-V4, as Midjourney lays out a grid."""
    view = discord.ui.View(timeout=None)
    for index in range(1, 5):
        view.add_item(JobButton(SELECT, job_id, index, ButtonLook(f"U{index}"), row=0))
    view.add_item(JobButton("reroll", job_id, 0, ButtonLook(None, "🔄"), row=0))
    for index in range(1, 5):
        view.add_item(JobButton("variation", job_id, index, ButtonLook(f"V{index}"), row=1))
    return view


def single_view(job_id: str, index: int, spec: GenerationSpec) -> discord.ui.View:
    """The buttons under one image; those that do not apply to this image are left out."""
    view = discord.ui.View(timeout=None)
    for row, buttons in enumerate(SINGLE_IMAGE_ROWS):
        for action, look in buttons:
            if applies(action, spec):
                view.add_item(JobButton(action, job_id, index, look, row=row))
    return view


def applies(action: str, spec: GenerationSpec) -> bool:
    if action == "make_square":
        return spec.width != spec.height
    if action == "enhance":
        return bool(spec.flags.get("draft"))
    return True
