"""The content policy for shared channels: banned words in prompts, an image classifier on results.

Every field is documented in ``default.toml`` (``[safety]``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ContentPolicy = Literal["block", "spoiler", "allow"]
"""What happens to a result the classifier flags: ``block`` fails the job and refunds it,
``spoiler`` posts it behind Discord's spoiler cover, ``allow`` posts it as it is."""


class SafetySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    blocked_words: tuple[str, ...] = ()
    """Words or phrases a prompt may not contain (whole words, any case)."""
    classifier: str = ""
    """Hugging Face repo id or local folder of an image-classification model; empty: no check."""
    flagged_labels: tuple[str, ...] = ("nsfw",)
    """The classifier's labels that count as flagged."""
    threshold: float = Field(0.5, gt=0.0, le=1.0)
    """An image is flagged when the probability of a flagged label reaches this."""
    policy: ContentPolicy = "block"
    """In channels not listed in ``channels``."""
    age_restricted: ContentPolicy = "allow"
    """In channels Discord marks age-restricted (NSFW), unless ``channels`` lists them."""
    channels: dict[str, ContentPolicy] = Field(default_factory=dict)
    """Channel id -> policy, overriding both of the above."""

    @field_validator("blocked_words")
    @classmethod
    def _no_empty_words(cls, words: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(" ".join(word.split()) for word in words)
        if any(not word for word in cleaned):
            raise ValueError("an empty word would block every prompt")
        return cleaned

    def channel_policy(self, channel_id: int | None, age_restricted: bool) -> ContentPolicy:
        """The policy for results posted in a channel."""
        if channel_id is not None and str(channel_id) in self.channels:
            return self.channels[str(channel_id)]
        return self.age_restricted if age_restricted else self.policy
