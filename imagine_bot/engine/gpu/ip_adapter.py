"""Image prompts and references through IP-Adapter (diffusers ``load_ip_adapter``).

Each role a preset supports (``image``; ``style`` with ``style_blocks``; ``subject`` with
``subject_blocks``) is one adapter instance of the same weights, because diffusers keeps one
scale per adapter and attention block: image prompts act on every block, ``--sref`` only on the
style blocks (InstantStyle), ``--cref``/``--oref`` only on the subject blocks.

The adapter is loaded into the preset's UNet once, on the first job with images, and attached
only for the duration of such a job: other jobs run on the UNet's original attention
processors, so they pay nothing and cannot be affected. The images of one role are blended by
their ``::`` weights as a weighted mean of their CLIP image embeddings, computed here (and kept
for the next jobs with the same images, such as a ``--p`` profile's) and passed to the
pipeline as ``ip_adapter_image_embeds``; roles a job does not use get scale 0, which diffusers
skips.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from diffusers.models.embeddings import ImageProjection
from diffusers.utils import logging as diffusers_logging
from PIL import Image
from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

from imagine_bot.config import IPAdapterSettings
from imagine_bot.config.settings import BlockScales
from imagine_bot.engine.errors import ModelUnavailable, UserError
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.spec import GenerationSpec, ImageRole, ReferenceImage

if TYPE_CHECKING:
    from diffusers import DiffusionPipeline

ROLES: tuple[ImageRole, ...] = ("image", "style", "subject")
MEAN_CACHE_SIZE = 32


def scaled_blocks(blocks: BlockScales, scale: float) -> dict[str, Any]:
    """``blocks`` with every relative scale multiplied by ``scale``."""

    def times(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: times(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [times(inner) for inner in value]
        return float(value) * scale

    result: dict[str, Any] = times(blocks)
    return result


class ImagePromptAdapter:
    """One preset's IP-Adapter and image encoder, and the UNet state to swap in and out."""

    def __init__(
        self, name: str, settings: IPAdapterSettings, device: torch.device, dtype: torch.dtype
    ) -> None:
        self.name = name
        self.settings = settings
        self.device = device
        self.dtype = dtype
        self.roles: tuple[ImageRole, ...] = tuple(
            role for role in ROLES if role == "image" or self._blocks(role)
        )
        self._unet: Any = None
        self._adapted: dict[str, Any] = {}
        self._projection: Any = None
        self._encoder: Any = None
        self._processor: Any = None
        self._means: dict[tuple[int, tuple[tuple[str | None, float], ...]], torch.Tensor] = {}
        """Recent weighted mean embeddings by (adapter instance, images and weights): a
        profile (``--p``) is the same images job after job."""

    @contextmanager
    def attached(
        self, pipeline: DiffusionPipeline, spec: GenerationSpec, store: ImageStore
    ) -> Iterator[dict[str, Any]]:
        """Inside the block, ``pipeline``'s UNet carries the adapter scaled for ``spec``;
        yields the pipeline-call arguments that feed it the spec's images."""
        self._ensure_loaded(pipeline)
        embeds = self._embeddings(spec, store, do_cfg=_uses_cfg(pipeline, spec))
        unet = self._unet
        # whatever the UNet runs now comes back afterwards, even if something else set it
        saved = _UNetState.of(unet)
        unet.set_attn_processor(dict(self._adapted))  # set_attn_processor empties its argument
        unet.encoder_hid_proj = self._projection
        unet.config.encoder_hid_dim_type = "ip_image_proj"
        try:
            pipeline.set_ip_adapter_scale(
                [
                    self._scale_config(role, spec.reference_scales.get(role, 0.0))
                    for role in self.roles
                ]
            )
            yield {"ip_adapter_image_embeds": embeds}
        finally:
            saved.restore(unet)

    # --- loading -----------------------------------------------------------------------

    def _ensure_loaded(self, pipeline: DiffusionPipeline) -> None:
        unet = pipeline.unet
        if self._unet is unet:
            return
        if self._unet is not None:
            raise RuntimeError(f"the IP-Adapter of {self.name!r} belongs to another UNet")
        setting = f"models.{self.name}.ip_adapter"
        plain = _UNetState.of(unet)
        try:
            encoder = self._load_encoder()
            if getattr(pipeline, "image_encoder", None) is None:
                # load_ip_adapter would otherwise look for an encoder beside the weights itself.
                pipeline.register_modules(image_encoder=encoder)
            count = len(self.roles)
            verbosity = diffusers_logging.get_verbosity()
            # It warns that casting the UNet with .to() may upset float32-only modules; the
            # tiny and SD/SDXL UNets have none, and the admin can do nothing about it anyway.
            diffusers_logging.set_verbosity_error()
            try:
                pipeline.load_ip_adapter(
                    [_local_or_hub(self.settings.source)] * count,
                    subfolder=[self.settings.subfolder] * count,
                    weight_name=[self.settings.weight_name] * count,
                    image_encoder_folder=None,
                )
            finally:
                diffusers_logging.set_verbosity(verbosity)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            plain.restore(unet)
            raise ModelUnavailable(
                f"image-prompt adapter of the model {self.name!r}",
                self.settings.source,
                str(exc),
                setting,
            ) from exc
        try:
            for role in self.roles:  # a block layout that does not fit this UNet fails here
                scales = [self._scale_config(r, 1.0) if r == role else 0.0 for r in self.roles]
                pipeline.set_ip_adapter_scale(scales)
        except ValueError as exc:
            raise UserError(
                f"{setting}.{role}_blocks does not fit the model {self.name!r}: {exc}"
            ) from exc
        finally:
            self._adapted = dict(unet.attn_processors)
            self._projection = unet.encoder_hid_proj
            plain.restore(unet)
        self._unet = unet
        self._encoder = encoder
        size = encoder.config.image_size
        self._processor = CLIPImageProcessor(size=size, crop_size=size)

    def _load_encoder(self) -> Any:
        if self.settings.image_encoder is not None:
            source = _local_or_hub(self.settings.image_encoder)
            subfolder = self.settings.image_encoder_subfolder
        else:  # diffusers' layout: the encoder in "image_encoder" beside the weights
            source = _local_or_hub(self.settings.source)
            subfolder = "/".join(
                part for part in (self.settings.subfolder, "image_encoder") if part
            )
        encoder = CLIPVisionModelWithProjection.from_pretrained(
            source, subfolder=subfolder or None, dtype=self.dtype
        )
        return encoder.to(self.device).eval()

    # --- per job -------------------------------------------------------------------------

    def _blocks(self, role: ImageRole) -> BlockScales | None:
        if role == "style":
            return self.settings.style_blocks
        if role == "subject":
            return self.settings.subject_blocks
        return None

    def _scale_config(self, role: ImageRole, scale: float) -> float | dict[str, Any]:
        blocks = self._blocks(role)
        return scale if blocks is None else scaled_blocks(blocks, scale)

    def _embeddings(
        self, spec: GenerationSpec, store: ImageStore, *, do_cfg: bool
    ) -> list[torch.Tensor]:
        """One tensor per adapter instance: ``[2 (negative, positive) or 1, 1, *features]``."""
        with torch.no_grad():
            return [
                self._role_embedding(index, role, spec, store, do_cfg)
                for index, role in enumerate(self.roles)
            ]

    def _role_embedding(
        self, index: int, role: ImageRole, spec: GenerationSpec, store: ImageStore, do_cfg: bool
    ) -> torch.Tensor:
        """The ``::``-weighted mean embedding of the role's images (zeros when it has none)."""
        hidden = not isinstance(self._projection.image_projection_layers[index], ImageProjection)
        negative = self._negative(hidden)
        refs = [ref for ref in spec.references if ref.role == role and ref.sha256 is not None]
        key = (index, tuple((ref.sha256, ref.weight) for ref in refs))
        cached = self._means.pop(key, None)
        if cached is not None:
            positive = cached
        elif refs:
            images = [_open(store, ref) for ref in refs]
            pixels = self._processor(images, return_tensors="pt").pixel_values
            embeds = self._encode(pixels.to(self.device, self.dtype), hidden).float()
            weights = torch.tensor([ref.weight for ref in refs], device=self.device)
            weights = (weights / weights.sum()).view(-1, *[1] * (embeds.ndim - 1))
            positive = (embeds * weights).sum(dim=0).to(self.dtype)
        else:
            positive = torch.zeros_like(negative)
        self._means[key] = positive  # most recent last: the oldest goes first
        while len(self._means) > MEAN_CACHE_SIZE:
            self._means.pop(next(iter(self._means)))
        stacked = torch.stack([negative, positive]) if do_cfg else positive[None]
        return stacked[:, None]

    def _encode(self, pixels: torch.Tensor, hidden: bool) -> torch.Tensor:
        if hidden:  # IP-Adapter Plus: the penultimate hidden states
            return self._encoder(pixels, output_hidden_states=True).hidden_states[-2]
        embeds: torch.Tensor = self._encoder(pixels).image_embeds
        return embeds

    def _negative(self, hidden: bool) -> torch.Tensor:
        """The unconditional embedding, as diffusers' ``encode_image`` makes it: zeros, or for
        IP-Adapter Plus the hidden states of a blank image."""
        config = self._encoder.config
        if not hidden:
            return torch.zeros(config.projection_dim, device=self.device, dtype=self.dtype)
        blank = torch.zeros(
            (1, 3, config.image_size, config.image_size), device=self.device, dtype=self.dtype
        )
        return self._encode(blank, hidden=True)[0]


def _uses_cfg(pipeline: DiffusionPipeline, spec: GenerationSpec) -> bool:
    """Whether the pipeline will run classifier-free guidance (then it wants negative embeds)."""
    return spec.guidance > 1 and pipeline.unet.config.time_cond_proj_dim is None


@dataclass(frozen=True)
class _UNetState:
    """What attaching an adapter changes in a UNet, to put back afterwards."""

    processors: dict[str, Any]
    projection: Any
    projection_type: Any

    @classmethod
    def of(cls, unet: Any) -> _UNetState:
        return cls(
            dict(unet.attn_processors), unet.encoder_hid_proj, unet.config.encoder_hid_dim_type
        )

    def restore(self, unet: Any) -> None:
        unet.set_attn_processor(dict(self.processors))
        unet.encoder_hid_proj = self.projection
        unet.config.encoder_hid_dim_type = self.projection_type


def _open(store: ImageStore, ref: ReferenceImage) -> Image.Image:
    assert ref.sha256 is not None
    try:
        return store.open(ref.sha256)
    except FileNotFoundError:
        raise UserError(
            f"The input image {ref.source} ({ref.sha256[:12]}) is no longer in the image store."
        ) from None


def _local_or_hub(source: str) -> str:
    local = Path(source).expanduser()
    return str(local) if local.exists() else source
