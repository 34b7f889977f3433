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


class ImageFetchError(UserError):
    """A URL, a download or a file that cannot be used as an image; says which and why."""


class ModelUnavailable(UserError):
    """A model (or a part of one) could not be loaded. Its message is for the member and names
    no file; ``details`` (source, reason, the setting to check) is for the log and the admin."""

    def __init__(self, what: str, source: str, reason: str, setting: str) -> None:
        super().__init__(
            f"The {what} could not be loaded on this server, so no images were made; "
            "the admin can find why in the bot's log."
        )
        self.details = (
            f"The {what} could not be loaded from {source}: {reason}. Check {setting} in the "
            "settings and that the weights are downloaded (models from the hub need network "
            "access once)."
        )


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
