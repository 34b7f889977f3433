"""Image prompts, ``--sref``, ``--cref`` and ``--oref`` -> the job's reference images.

Each image gets a role, and each role one IP-Adapter scale (see the README, "Image prompts and
references"):

* ``image``: the URLs at the start of the prompt and the command's attachment; every UNet
  block, scale ``image_scale x --iw``.
* ``style``: ``--sref`` images; only the preset's style blocks (InstantStyle), scale
  ``style_scale x sqrt(--sw / 100)``. A profile's images (``--p NAME``, ``--p`` alone: the
  member's learned default) join them, each by its weight; without ``--sref`` the scale
  follows ``--stylize`` instead: ``style_scale x sqrt(--stylize / 100)``.
* ``subject``: ``--cref`` / ``--oref`` images; only the preset's subject blocks, scale
  ``subject_scale x --cw / 100`` or ``subject_scale x sqrt(--ow / 100)``.

Images of one role are blended by their ``::`` weights. The URLs are only recorded here; the
planner fetches them (``engine/images/fetch.py``) before the spec is frozen.
"""

from __future__ import annotations

import math
import re

from imagine_bot.config import IPAdapterSettings, Settings
from imagine_bot.config.quoting import quoted
from imagine_bot.engine.errors import ImagesWithoutAdapter, PromptError
from imagine_bot.engine.jobs.profiles import PROFILE_SOURCE
from imagine_bot.engine.spec import DraftSpec, ImageRole, ReferenceImage, WeightedRef
from imagine_bot.plugins import hookimpl

_URL = re.compile(r"^https?://", re.IGNORECASE)
_STYLE_CODE = re.compile(r"\d{1,20}|random", re.IGNORECASE)
_FLAG_ROLE: dict[str, ImageRole] = {"sref": "style", "cref": "subject", "oref": "subject"}
_WEIGHT_FLAG = {"sref": "sw", "cref": "cw", "oref": "ow"}


def image_scale(iw: float, adapter: IPAdapterSettings) -> float:
    return adapter.image_scale * iw


def style_scale(sw: float, adapter: IPAdapterSettings) -> float:
    """``--sw 100`` is the preset's scale; the square root keeps ``--sw 1000`` usable (x3.2)."""
    return adapter.style_scale * math.sqrt(sw / 100)


def subject_scale(flag: str, weight: float, adapter: IPAdapterSettings) -> float:
    """``--cw`` 0-100 scales linearly; ``--ow`` 1-1000 like ``--sw``."""
    factor = weight / 100 if flag == "cref" else math.sqrt(weight / 100)
    return adapter.subject_scale * factor


@hookimpl(trylast=True)
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    if draft.references or draft.reference_scales:
        return  # a plugin that ran earlier decided
    images = [ReferenceImage(role="image", source=url) for url in draft.prompt.image_prompts]
    images += [image for image in draft.attachments if image.role != "structure"]
    for flag, role in _FLAG_ROLE.items():
        images += _flag_images(draft, flag, role)
    images += _profile_images(draft)
    if draft.has_flag("cref") and draft.has_flag("oref"):
        raise PromptError(
            "Use --cref or --oref, not both: here both give the subject reference.", flag="oref"
        )
    _warn_about_unused_weights(draft, images)
    if not images:
        return

    adapter = draft.preset.ip_adapter if draft.preset is not None else None
    if adapter is None and not draft.prompt.parts:
        raise ImagesWithoutAdapter(
            f"This prompt is only an image, and the model {draft.model!r} has no image-prompt "
            f"adapter (models.{draft.model}.ip_adapter in the settings), so there is nothing "
            "to draw from: add words that describe the image.",
            model=str(draft.model),
        )
    if adapter is None:
        draft.warnings.append(
            f"The model {draft.model!r} has no image-prompt adapter (models.{draft.model}."
            f"ip_adapter in the settings), so {_describe(images, draft)} had no effect."
        )
        return
    blocks: dict[ImageRole, object] = {
        "style": adapter.style_blocks,
        "subject": adapter.subject_blocks,
    }
    for role, configured in blocks.items():
        if not configured and any(image.role == role for image in images):
            flags = _describe([image for image in images if image.role == role], draft)
            draft.warnings.append(
                f"{flags} is not supported by the model {draft.model!r} (no "
                f"models.{draft.model}.ip_adapter.{role}_blocks in the settings), so it was "
                "ignored."
            )
            images = [image for image in images if image.role != role]

    scales: dict[str, float] = {}
    for role in dict.fromkeys(image.role for image in images):
        total = sum(image.weight for image in images if image.role == role)
        if total <= 0:
            raise PromptError(
                f"The weights of the {role} images add up to {total:g}; "
                "they must add up to more than 0.",
                flag=_role_flag(role, draft),
            )
        scales[role] = _scale(role, draft, adapter)
    draft.references = images
    draft.reference_scales = scales


def _flag_images(draft: DraftSpec, flag: str, role: ImageRole) -> list[ReferenceImage]:
    refs: tuple[WeightedRef, ...] = draft.flag(flag) or ()
    images = []
    for ref in refs:
        if _URL.match(ref.ref):
            images.append(ReferenceImage(role=role, source=ref.ref, weight=ref.weight))
        elif not _STYLE_CODE.fullmatch(ref.ref):
            raise PromptError(
                f"--{flag} takes image links (https://…), numeric style codes or random, "
                f"not {quoted(ref.ref)}.",
                flag=flag,
            )
        else:
            what = "random" if ref.ref.lower() == "random" else f"the code {ref.ref}"
            draft.warnings.append(
                f"--{flag} {ref.ref}: style codes and `random` name Midjourney's own style "
                f"library, which this server does not have, so {what} was ignored. "
                "Give an image link instead."
            )
    return images


def _profile_images(draft: DraftSpec) -> list[ReferenceImage]:
    if not draft.has_flag("p"):
        return []
    value = draft.flag("p")
    if draft.action is not None:
        return []  # a button's job: the parent's profile images came with its references
    name = " ".join(value) if isinstance(value, tuple) else ""
    images = draft.profiles.get(name)
    if images:
        return list(images)
    if name:
        raise PromptError(
            f"There is no profile named {quoted(name)} for you: /profile list shows yours "
            "and the server's.",
            flag="p",
        )
    draft.warnings.append(
        "--p uses your default profile, learned from the images you upscale (U) and star; "
        "you have none yet, so it was ignored."
    )
    return []


def _warn_about_unused_weights(draft: DraftSpec, images: list[ReferenceImage]) -> None:
    roles = {image.role for image in images}
    if draft.has_flag("iw"):
        draft.flag("iw")
        if "image" not in roles:
            draft.warnings.append("--iw was ignored: the prompt has no image prompt.")
    for flag, weight in _WEIGHT_FLAG.items():
        if draft.has_flag(weight):
            draft.flag(weight)
            if not draft.has_flag(flag) and not (flag == "sref" and "style" in roles):
                draft.warnings.append(f"--{weight} was ignored: the prompt has no --{flag}.")


def _scale(role: str, draft: DraftSpec, adapter: IPAdapterSettings) -> float:
    if role == "image":
        return image_scale(float(draft.flag("iw")), adapter)
    if role == "style":
        steering = "sw" if draft.has_flag("sref") or not draft.has_flag("p") else "stylize"
        return style_scale(float(draft.flag(steering)), adapter)
    flag = "oref" if draft.has_flag("oref") else "cref"
    return subject_scale(flag, float(draft.flag(_WEIGHT_FLAG[flag])), adapter)


def _role_flag(role: str, draft: DraftSpec) -> str | None:
    if role == "style":
        return "sref"
    if role == "subject":
        return "oref" if draft.has_flag("oref") else "cref"
    return None


def _describe(images: list[ReferenceImage], draft: DraftSpec) -> str:
    subject = "--oref" if draft.has_flag("oref") else "--cref"
    names = {"image": "the image prompt", "style": "--sref", "subject": subject}
    parts = list(
        dict.fromkeys(
            "--p" if image.source.startswith(PROFILE_SOURCE) else names[image.role]
            for image in images
        )
    )
    return " and ".join(parts)
