"""Per-user defaults: the /settings panel, /prefer suffix and /prefer option macros."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from imagine_bot.bot.access import answer_if_refused
from imagine_bot.bot.messages import fit
from imagine_bot.bot.preferences import REMIX, STYLIZE_LEVELS
from imagine_bot.config.names import PRESET_NAME
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.spec import Lane
from imagine_bot.plugins.builtin.lane import DEFAULT_LANE
from imagine_bot.plugins.limits import MAX_FLAGS_LENGTH, check_text
from imagine_bot.plugins.syntax import parse_flags

if TYPE_CHECKING:
    from imagine_bot.app import ImagineApp

MACRO_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")


class SettingButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    # A value is a model preset's name or a word of ours (a stylize level, a lane, "toggle").
    template=rf"setting:(?P<key>[a-z_]{{1,20}}):(?P<value>{PRESET_NAME.pattern})",
):
    """One choice on the /settings panel; pressing it saves the choice and redraws the panel."""

    def __init__(self, key: str, value: str, label: str, selected: bool, row: int) -> None:
        style = discord.ButtonStyle.success if selected else discord.ButtonStyle.secondary
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=f"setting:{key}:{value}"), row=row
        )
        self.key = key
        self.value = value

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> SettingButton:
        assert isinstance(item, discord.ui.Button)
        return cls(match["key"], match["value"], item.label or "", False, 0)

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """The panel obeys the allowed servers and channels like the commands do."""
        return await answer_if_refused(interaction)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        # The panel's own cog holds the app: the one way in from a DynamicItem's press.
        cog = interaction.client.get_cog(Preferences.__cog_name__)
        assert isinstance(cog, Preferences)
        app = cog.app
        service = app.service
        user_id = interaction.user.id
        if self.key == "reset":
            for key in ("model", "stylize", "lane", "raw", REMIX):
                await service.set_preference(user_id, key, None)
        elif self.key in ("raw", REMIX):
            current = await service.preferences(user_id)
            await service.set_preference(user_id, self.key, not current.get(self.key))
        else:
            await service.set_preference(user_id, self.key, self.value)
        content, view = await settings_panel(app, user_id)
        await interaction.response.edit_message(content=content, view=view)


def current_choices(app: ImagineApp, preferences: dict[str, Any]) -> dict[str, Any]:
    """What /imagine uses now: the member's choices, else the server's defaults, so the panel
    shows them before anything is pressed."""
    default_stylize = app.planner.flags["stylize"].default
    stylize = [name for name, value in STYLIZE_LEVELS.items() if value == default_stylize]
    return {
        "model": app.settings.default_model,
        "stylize": stylize[0] if stylize else None,
        "lane": DEFAULT_LANE,
        "raw": False,
        REMIX: False,
        **preferences,
    }


async def settings_panel(app: ImagineApp, user_id: int) -> tuple[str, discord.ui.View]:
    """The panel's line (the choices in words) and its buttons, the current choices lit."""
    current = current_choices(app, await app.service.preferences(user_id))
    view = discord.ui.View(timeout=None)
    # Rows 0 and 4 hold the models, five a row; /imagine's model option offers any number.
    for index, name in enumerate(list(app.settings.models)[:10]):
        chosen = current["model"] == name
        view.add_item(SettingButton("model", name, name, chosen, 0 if index < 5 else 4))
    for level in STYLIZE_LEVELS:
        label = f"Stylize {level.replace('_', ' ')}"
        view.add_item(SettingButton("stylize", level, label, current["stylize"] == level, 1))
    for lane in Lane:
        view.add_item(
            SettingButton("lane", lane, f"{lane.title()} mode", current["lane"] == lane, 2)
        )
    view.add_item(SettingButton("raw", "toggle", "Raw mode", bool(current["raw"]), 3))
    view.add_item(SettingButton(REMIX, "toggle", "Remix mode", bool(current[REMIX]), 3))
    view.add_item(SettingButton("reset", "all", "Reset settings", False, 3))
    stylize = str(current["stylize"] or "the model's own").replace("_", " ")
    on_off = {True: "on", False: "off"}
    line = (
        f"Your defaults for /imagine: model {current['model']}, stylize {stylize}, "
        f"{current['lane']} mode, raw mode {on_off[bool(current['raw'])]}, "
        f"remix mode {on_off[bool(current[REMIX])]}."
    )
    return line, view


class Preferences(commands.Cog):
    prefer = app_commands.Group(name="prefer", description="Your prompt defaults")
    option = app_commands.Group(name="option", description="Named flag shortcuts", parent=prefer)

    def __init__(self, app: ImagineApp) -> None:
        self.app = app

    @app_commands.command(description="Your default model, stylize, speed, raw and remix mode")
    async def settings(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True)
        content, panel = await settings_panel(self.app, interaction.user.id)
        await interaction.followup.send(content, view=panel, ephemeral=True)

    @prefer.command(
        name="suffix", description="Flags added to every prompt of yours (empty to clear)"
    )
    async def suffix(self, interaction: discord.Interaction[Any], flags: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True)
        if flags:
            check_text(flags, "The suffix", MAX_FLAGS_LENGTH)
            parse_flags(flags, self.app.planner.flags)
        await self.app.service.set_preference(interaction.user.id, "suffix", flags or None)
        await interaction.followup.send(
            fit(f"Suffix {'set to ' + flags if flags else 'cleared'}."), ephemeral=True
        )

    @option.command(name="set", description="Make --name stand for some flags")
    async def option_set(
        self, interaction: discord.Interaction[Any], name: str, flags: str
    ) -> None:
        await interaction.response.defer(ephemeral=True)
        name = name.lower().removeprefix("--")
        if not MACRO_NAME.fullmatch(name):
            raise UserError("An option name is a word of letters, digits, - or _.")
        if name in {
            spelling for flag in self.app.planner.flags for spelling in (flag.name, *flag.aliases)
        }:
            raise UserError(f"--{name} is already a flag; choose another name.")
        check_text(flags, "An option", MAX_FLAGS_LENGTH)
        parse_flags(flags, self.app.planner.flags)
        await self.app.service.set_macro(interaction.user.id, name, flags)
        await interaction.followup.send(fit(f"--{name} now means `{flags}`."), ephemeral=True)

    @option.command(name="list", description="Your flag shortcuts")
    async def option_list(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True)
        macros = await self.app.service.macros(interaction.user.id)
        lines = [f"--{name}: `{flags}`" for name, flags in sorted(macros.items())]
        await interaction.followup.send(
            fit("\n".join(lines) or "You have no options yet."), ephemeral=True
        )

    @option.command(name="unset", description="Forget a flag shortcut")
    async def option_unset(self, interaction: discord.Interaction[Any], name: str) -> None:
        await interaction.response.defer(ephemeral=True)
        await self.app.service.delete_macro(interaction.user.id, name.lower().removeprefix("--"))
        await interaction.followup.send(
            fit(f"--{name.removeprefix('--')} is forgotten."), ephemeral=True
        )
