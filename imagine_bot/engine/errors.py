"""Errors meant for the person who typed the prompt."""

from __future__ import annotations

from datetime import datetime


class UserError(Exception):
    """A failure a user caused or can fix; its message is shown to them as it is."""


class PromptError(UserError):
    """The prompt text or one of its flags cannot be understood."""

    def __init__(self, message: str, *, flag: str | None = None) -> None:
        super().__init__(message)
        self.flag = flag


class QueueFull(UserError):
    """A queue cap refused the job: the member's own (running + waiting) or the whole queue's."""


class QuotaExceeded(UserError):
    """The member's GPU time for this period is used up (or their tier lacks the lane)."""

    def __init__(self, message: str, *, resets_at: datetime | None = None) -> None:
        super().__init__(message)
        self.resets_at = resets_at
        """When the budget refills (aware UTC), if waiting helps."""


class ContentBlocked(UserError):
    """The safety classifier flagged a result in a channel whose policy blocks flagged images."""

    def __init__(self, flagged: list[int]) -> None:
        super().__init__(
            "This server's content filter flagged the result, so it was not posted. "
            "Your GPU time was refunded."
        )
        self.flagged = flagged
        """The flagged images, 1-based in grid order."""
