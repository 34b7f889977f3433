"""The words the bot posts: one place, so every message reads the same way."""

from __future__ import annotations

import discord

from imagine_bot.bot.errors import fit
from imagine_bot.engine.errors import LaneNotInPlan, UserError
from imagine_bot.engine.jobs.records import QuotaStatus
from imagine_bot.engine.spec import GenerationSpec, Lane
from imagine_bot.engine.times import duration
from imagine_bot.plugins.flags import FlagRegistry

MAX_PROMPT_ECHO = 1500
"""Messages hold 2000 characters; the rest of the line needs room too."""

ACTION_TITLES = {
    "reroll": "",
    "variation": "Variations (Strong)",
    "vary_subtle": "Variations (Subtle)",
    "vary_strong": "Variations (Strong)",
    "upscale_subtle": "Upscaled (Subtle)",
    "upscale_creative": "Upscaled (Creative)",
    "zoom_out_2x": "Zoom Out",
    "zoom_out_1_5x": "Zoom Out",
    "make_square": "Make Square",
    "pan_left": "Pan Left",
    "pan_right": "Pan Right",
    "pan_up": "Pan Up",
    "pan_down": "Pan Down",
    "enhance": "Enhanced",
}


def typed_prompt(spec: GenerationSpec, flags: FlagRegistry) -> str:
    """The prompt as the user wrote it, image prompts and flags included."""
    pieces = (" ".join(spec.image_prompts), _text(spec), flags.format(spec.flags))
    return " ".join(piece for piece in pieces if piece)


def prompt_echo(spec: GenerationSpec, flags: FlagRegistry) -> str:
    """The typed prompt, shortened to fit a message, safe to show in bold."""
    text = typed_prompt(spec, flags)
    if len(text) > MAX_PROMPT_ECHO:
        text = text[: MAX_PROMPT_ECHO - 1] + "…"
    return discord.utils.escape_markdown(discord.utils.escape_mentions(text))


def job_line(spec: GenerationSpec, flags: FlagRegistry, owner_id: int, *status: str) -> str:
    """``**prompt** - Variations (Strong) by @user (42%) (fast)``, as Midjourney words it."""
    title = ACTION_TITLES.get(spec.action, "")
    who = f"{title} by <@{owner_id}>" if title else f"<@{owner_id}>"
    return fit(f"**{prompt_echo(spec, flags)}** - {who}" + "".join(f" ({part})" for part in status))


def single_line(spec: GenerationSpec, flags: FlagRegistry, owner_id: int, index: int) -> str:
    return f"**{prompt_echo(spec, flags)}** - Image #{index} <@{owner_id}>"


def waiting(position: int | None) -> str:
    if position is None or position <= 1:
        return "Waiting to start"
    return f"Waiting to start, #{position} in queue"


def percent(done: int, total: int) -> str:
    return f"{100 * done // max(total, 1)}%"


def describe_quota(status: QuotaStatus) -> str:
    if not status.enabled:
        return "Quotas are off on this server: every job runs in the lane it asks for."
    left = max(status.left, 0.0)
    lane = {
        Lane.FAST: "fast",
        Lane.RELAX: "relax (fast time used up)",
        None: "none until the reset",
    }
    return (
        f"Tier: {status.tier} ({status.period})\n"
        f"Fast GPU time left: {duration(left)} of {duration(status.budget + status.granted)}"
        f" (used {duration(status.used)}, held for queued jobs {duration(status.held)})\n"
        f"New jobs run in: {lane.get(status.lane, status.lane)}\n"
        f"Resets {discord.utils.format_dt(status.next_reset, 'R')}"
    )


def user_error(error: UserError) -> str:
    """What the member reads for ``error``: the engine's plain sentence, or the same facts
    worded with the flag that helps."""
    if isinstance(error, LaneNotInPlan) and error.lane == Lane.RELAX:
        return f"Relax mode is not part of your plan ({error.tier}); use --fast instead."
    return str(error)


def _text(spec: GenerationSpec) -> str:
    return " ".join(
        part.text if part.weight == 1 else f"{part.text}::{part.weight:g}" for part in spec.parts
    )
