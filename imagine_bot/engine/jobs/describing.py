"""/describe as a job: the spec that asks a GPU worker for four prompts instead of images.

It is queued, capped (``describe.max_per_member``), charged or free by tier
(``quota.tiers.*.describe``), re-run after a crash and cancelled like any other job; the
worker's ``JobRunner`` runs the captioning and ranking models (``engine/gpu/describe.py``) and
the prompts come back in ``JobRecord.texts``.
"""

from __future__ import annotations

from imagine_bot.config.quoting import short
from imagine_bot.engine.images.store import StoredImage
from imagine_bot.engine.spec import DESCRIBE, DESCRIBE_MODEL, GenerationSpec, Lane, SourceImage

PROMPTS = 4
"""How many prompts a /describe job writes (one button each under the answer)."""


def describe_spec(image: StoredImage, name: str) -> GenerationSpec:
    """The job that describes ``image``: one unit of work (1 x 1 pixels, 1 step, 1 seed), so
    its GPU-time estimate is the mean of recent /describe jobs. ``name`` (the attachment's file
    name or the link) is what listings show for it: it has no prompt."""
    return GenerationSpec(
        prompt="",
        typed_prompt=f"/describe of {short(name)}",
        parts=(),
        negative_prompt="",
        model=DESCRIBE_MODEL,
        width=1,
        height=1,
        steps=1,
        guidance=0.0,
        scheduler="default",
        seeds=(0,),
        lane=Lane.FAST,
        action=DESCRIBE,
        source=SourceImage(sha256=image.sha256),
    )
