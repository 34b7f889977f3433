"""Settings of /describe: the captioning and ranking models (``[describe]``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DescribeSettings(BaseModel):
    """The models /describe runs on the GPU worker, loaded on its first use.

    A BLIP-style captioning model says what the image shows; a CLIP model ranks the shipped
    vocabulary of mediums, styles and lighting against the image; the four prompts combine both.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    caption_model: str = Field("Salesforce/blip-image-captioning-base", min_length=1)
    """Hugging Face repo id or local folder of a BLIP captioning model and its processor."""
    ranking_model: str = Field("openai/clip-vit-base-patch32", min_length=1)
    """Hugging Face repo id or local folder of a CLIP model and its processor."""
    max_words: int = Field(20, ge=4, le=60)
    """The longest caption, in tokens, the captioning model may write."""
    max_per_member: int = Field(2, ge=1, le=20)
    """How many /describe requests of one member may be queued or running at once."""
