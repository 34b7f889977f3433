"""Errors meant for the person who typed the prompt.

Each carries the facts as fields and a plain sentence as its ``str()`` (what the command line
prints); the bot may word them its own way (flags, Discord timestamps): ``bot.messages``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from imagine_bot.engine.times import duration, utc_stamp


class UserError(Exception):
    """A failure a user caused or can fix; its message is shown to them as it is.

    Picklable whatever a subclass's constructor takes (Ray sends errors back from its workers
    by pickle, which would call the constructor with the message alone): the message and the
    fields travel, and the constructor is not called again."""

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[UserError], args: tuple[Any, ...], fields: dict[str, Any]) -> UserError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(fields)
    return error


class PromptError(UserError):
    """The prompt text or one of its flags cannot be understood."""

    def __init__(self, message: str, *, flag: str | None = None) -> None:
        super().__init__(message)
        self.flag = flag


class ImagesWithoutAdapter(PromptError):
    """A prompt made only of images, for a ``model`` without an image-prompt adapter: nothing
    is left to draw from. /blend words it for itself (it has no text to add)."""

    def __init__(self, message: str, *, model: str) -> None:
        super().__init__(message)
        self.model = model


class ModelUnavailable(UserError):
    """A model (or a part of one) could not be loaded. Its message is for the member and names
    no file; ``details`` (source, reason, the setting to check) is for the log and the admin."""

    def __init__(
        self, what: str, source: str, reason: str, setting: str, *, sentence: str | None = None
    ) -> None:
        super().__init__(
            sentence
            or f"The {what} could not be loaded on this server, so no images were made; "
            "the admin can find why in the bot's log."
        )
        self.what = what
        self.details = (
            f"The {what} could not be loaded from {source}: {reason}. Check {setting} in the "
            "settings and that the weights are downloaded (models from the hub need network "
            "access once)."
        )


class LoraUnusable(ModelUnavailable):
    """A LoRA preset's file is missing, unreadable or shaped for another model."""

    def __init__(self, name: str, source: str, reason: str, *, mismatch: bool) -> None:
        problem = (
            "does not fit this model (it was made for another kind)"
            if mismatch
            else "could not be loaded on this server"
        )
        super().__init__(
            f"LoRA {name!r}",
            source,
            reason,
            f"loras.{name}.source and loras.{name}.family",
            sentence=f"The LoRA {name!r} {problem}, so no images were made; "
            "the admin can find why in the bot's log.",
        )
        self.name = name
        self.mismatch = mismatch


class QueueFull(UserError):
    """A queue cap refused the job: the member's own (running + waiting) or the whole queue's."""

    def __init__(
        self, *, asked: int, pending: int, limit: int, whole_queue: bool = False, running: int = 0
    ) -> None:
        self.asked = asked
        """How many jobs the refused prompt makes."""
        self.pending = pending
        """The member's jobs queued or running; with ``whole_queue``, every job waiting."""
        self.limit = limit
        """The cap that was hit (the member's running + waiting cap, or the queue's)."""
        self.whole_queue = whole_queue
        self.running = running
        """Of the member's ``limit``, how many may run at once."""
        super().__init__(self._sentence())

    def _sentence(self) -> str:
        if self.whole_queue:
            return (
                f"The queue is full ({self.pending} jobs waiting for the GPU). "
                "Please try again in a few minutes."
            )
        split = f"({self.running} running and {self.limit - self.running} waiting)"
        room = max(0, self.limit - self.pending)
        if room and self.asked > 1:
            return (
                f"This prompt makes {self.asked} jobs, but you have room for {room} more: at "
                f"most {self.limit} of your jobs can be queued or running {split}. Try fewer, "
                "or wait for some to finish."
            )
        return (
            f"You already have {self.pending} jobs queued or running, the most allowed "
            f"{split}. Wait for one to finish, or cancel one."
        )


class DescribeBusy(UserError):
    """The member already has as many /describe requests queued or running as allowed."""

    def __init__(self, *, pending: int, limit: int) -> None:
        self.pending = pending
        self.limit = limit
        """``describe.max_per_member``."""
        super().__init__(
            f"You already have {pending} images being described, the most allowed at once. "
            "Wait for one to finish."
        )


class QuotaExceeded(UserError):
    """The member's GPU time for this period is used up (or their tier lacks the lane)."""

    def __init__(self, message: str, *, resets_at: datetime | None = None) -> None:
        super().__init__(message)
        self.resets_at = resets_at
        """When the budget refills (aware UTC), if waiting helps."""


class LaneNotInPlan(QuotaExceeded):
    """The member's tier does not include the lane the job asks for (relax)."""

    def __init__(self, *, lane: str, tier: str) -> None:
        super().__init__(f"{lane.title()} mode is not part of your plan ({tier}).")
        self.lane = lane
        self.tier = tier


class OutOfTime(QuotaExceeded):
    """The job costs more GPU time than the member has left, and relax cannot take it."""

    def __init__(
        self,
        *,
        lane: str,
        multiplier: float,
        needed: float,
        left: float,
        budget: float,
        period: str,
        resets_at: datetime,
    ) -> None:
        self.lane = lane
        self.multiplier = multiplier
        """What one GPU-second in ``lane`` costs (turbo 2x by default)."""
        self.needed = needed
        """GPU-seconds the job would reserve, the lane's price included."""
        self.left = left
        self.budget = budget
        self.period = period
        price = f" ({lane} time counts {multiplier:g}x)" if multiplier != 1 else ""
        super().__init__(
            f"Not enough GPU time left: this job needs about {duration(needed)}{price}, and "
            f"you have {duration(max(0.0, left))} of your {period} {duration(budget)}. Your "
            f"time resets at {utc_stamp(resets_at)}.",
            resets_at=resets_at,
        )


class ContentBlocked(UserError):
    """The safety classifier flagged a result in a channel whose policy blocks flagged images."""

    def __init__(self, flagged: list[int]) -> None:
        super().__init__(
            "This server's content filter flagged the result, so it was not posted. "
            "Your GPU time was refunded."
        )
        self.flagged = flagged
        """The flagged images, 1-based in grid order."""


class NothingToFix(UserError):
    """Fix Faces found no face (or hand) in the picture; nothing was repainted or charged."""

    def __init__(self, target: str) -> None:
        self.target = target
        super().__init__(f"No {target} were found in this picture, so there was nothing to fix.")


class DetectorUnavailable(UserError):
    """``[fix]`` names a YOLO detector that cannot be used here; ``reason`` says why."""

    def __init__(self, setting: str, reason: str) -> None:
        self.setting = setting
        self.reason = reason
        super().__init__(f"The detector of {setting} cannot be used: {reason}.")
