"""The words the bot posts: one place, so every message reads the same way."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from imagine_bot.engine.errors import LaneNotInPlan, UserError
from imagine_bot.engine.jobs.records import QuotaStatus
from imagine_bot.engine.spec import DESCRIBE, GenerationSpec, Lane
from imagine_bot.engine.times import duration
from imagine_bot.plugins.actions import ActionRegistry
from imagine_bot.plugins.flags import FlagRegistry

MAX_CONTENT = 2000
"""Discord refuses a message whose content is longer."""
MAX_PROMPT_ECHO = 1500
"""Messages hold 2000 characters; the rest of the line needs room too."""


def prompt_text(spec: GenerationSpec, flags: FlagRegistry) -> str:
    """The prompt as the user wrote it, flags included (to edit it, or to echo it)."""
    pieces = (" ".join(spec.image_prompts), _text(spec), flags.format(spec.flags))
    return " ".join(piece for piece in pieces if piece)


def editable_prompt(
    spec: GenerationSpec, flags: FlagRegistry, limit: int, extra: str = ""
) -> tuple[str, bool]:
    """The prompt as the user wrote it, plus ``extra`` flags, within ``limit`` characters (a
    form's field): image links and flags whole, the text cut at a word when it must be; True
    when it was cut, to say so."""
    head, text = " ".join(spec.image_prompts), _text(spec)
    tail = " ".join(piece for piece in (flags.format(spec.flags), extra) if piece)
    whole = " ".join(piece for piece in (head, text, tail) if piece)
    if len(whole) <= limit:
        return whole, False
    room = max(limit - len(whole) + len(text), 0)
    shortened = text[:room]
    if text[room : room + 1] not in ("", " ") and " " in shortened:
        shortened = shortened.rsplit(" ", 1)[0]  # no half word
    # Only links and flags over the limit by themselves are cut anywhere.
    return " ".join(piece for piece in (head, shortened.rstrip(), tail) if piece)[:limit], True


def listed(spec: GenerationSpec, flags: FlagRegistry) -> str:
    """A job in a list (/queue): its prompt as the member wrote it, or, for a /describe job
    (which has none), what it describes."""
    if spec.action == DESCRIBE:
        return discord.utils.escape_markdown(discord.utils.escape_mentions(spec.typed_prompt))
    return prompt_echo(spec, flags)


def prompt_echo(spec: GenerationSpec, flags: FlagRegistry) -> str:
    """The prompt as the user wrote it, flags included, safe to show in bold."""
    text = prompt_text(spec, flags)
    if len(text) > MAX_PROMPT_ECHO:
        text = text[: MAX_PROMPT_ECHO - 1] + "…"
    return discord.utils.escape_markdown(discord.utils.escape_mentions(text))


def job_line(
    spec: GenerationSpec,
    flags: FlagRegistry,
    actions: ActionRegistry,
    owner_id: int,
    *status: str,
) -> str:
    """``**prompt** - Variations (Strong) by @user (42%) (fast)``, as Midjourney words it."""
    title = actions.title(spec.action)
    who = f"{title} by <@{owner_id}>" if title else f"<@{owner_id}>"
    return fit(f"**{prompt_echo(spec, flags)}** - {who}" + "".join(f" ({part})" for part in status))


def single_line(
    spec: GenerationSpec, flags: FlagRegistry, actions: ActionRegistry, owner_id: int, index: int
) -> str:
    """One image alone: what made it when its job made only this one ("Upscaled (Subtle) by
    @user"), else its number in the grid it was picked from ("Image #2 @user")."""
    title = actions.title(spec.action) if len(spec.seeds) == 1 else ""
    if title:
        return f"**{prompt_echo(spec, flags)}** - {title} by <@{owner_id}>"
    return f"**{prompt_echo(spec, flags)}** - Image #{index} <@{owner_id}>"


PAUSED = "the queue is paused by an admin"
NO_WORKER = "waiting for a GPU worker"


def waiting(position: int | None, hold: str | None = None) -> str:
    """A waiting job's status: its place, or why nothing starts (``PAUSED``, ``NO_WORKER``)."""
    if hold is not None:
        return f"Queued: {hold}"
    if position is None or position <= 1:
        return "Waiting to start"
    return f"Waiting to start, #{position} in queue"


def submitted(positions: Sequence[int | None], hold: str | None) -> str:
    """The private answer to a submission of jobs at ``positions`` in the queue (None: already
    started): "Started.", "Queued (#3).", or queued and why nothing starts."""
    count = len(positions)
    jobs = "" if count == 1 else f" {count} jobs"
    if hold is not None:
        return f"Queued{jobs}: {hold}."
    places = sorted(position for position in positions if position is not None)
    if not places:
        return f"Started{jobs}."
    where = f"#{places[0]}" if len(places) == 1 else f"#{places[0]} to #{places[-1]}"
    return f"Queued{jobs} ({where})."


def already_started(link: str | None) -> str:
    """A repeated press or submission: the job exists, and here is where."""
    return f"That job is already started: {link}" if link else "That job is already started."


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


def fit(text: str, limit: int = MAX_CONTENT) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
