"""What the engine needs to know about one model family, in one record per family.

A family module (``sd1.py``, ``flux1.py`` ...) fills one ``Family``: the diffusers pipeline of
each task, like the tables of diffusers' ``auto_pipeline.py``, and the facts the rest of the
engine asks instead of assuming a UNet with CLIP text encoders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from diffusers import DiffusionPipeline

Guidance = Literal["cfg", "distilled", "true_cfg", "none"]
"""What ``--stylize``'s guidance number drives on a family:

- ``cfg``: classifier-free guidance (``guidance_scale``), a negative prompt is the other half;
- ``distilled``: guidance distilled into the model (FLUX.1 [dev]'s ``guidance_scale`` is an
  input of the transformer, one model call per step);
- ``true_cfg``: classifier-free guidance under the name ``true_cfg_scale`` (Qwen-Image);
- ``none``: a step-distilled model that takes no guidance (FLUX.2 [klein] distilled).
"""
Estimate = Literal["scheduler", "flow"]
"""How ``--stop`` gets the finished-image estimate: from the scheduler's own ``x0`` prediction
(DDPM-style schedulers), or from flow matching's ``x0 = x_t - sigma * v``."""


@dataclass(frozen=True)
class LatentFormat:
    """How to turn a family's latents into a preview without its VAE."""

    name: str
    factors: tuple[tuple[float, float, float], ...]
    """One (R, G, B) row per latent channel, applied in the pipeline's (scaled) latent space.
    They are the ones ComfyUI fitted (``comfy/latent_formats.py``)."""
    bias: tuple[float, float, float] = (0.0, 0.0, 0.0)
    packed: bool = False
    """Whether the pipeline's latents are 2x2 patches packed into a sequence (FLUX.1)."""


@dataclass(frozen=True)
class StepCacheDefaults:
    """The step cache ``engine.cache = "auto"`` runs for a family (``engine/gpu/step_cache.py``).

    First-Block Cache thresholds: the relative change of the first transformer block's output
    below which a step reuses the other blocks' last change. FLUX.1's 0.08 (about 1.5-2x fewer
    block computations at 28 steps with no visible change) and 0.12 are ParaAttention's
    recommendations for FLUX.1 [dev]; the other families start from the same, unmeasured on
    their real weights.
    """

    cache: Literal["first_block", "taylorseer"] = "first_block"
    threshold: float = 0.08
    draft_threshold: float = 0.12
    first_block: bool = True
    """Whether diffusers' First-Block Cache can read the family's blocks (it finds Z-Image's
    ``hidden_states`` argument under another name)."""


@dataclass(frozen=True)
class Family:
    """One model family: its pipelines per task and the facts the engine asks of it."""

    name: str
    """The name presets use (``family = "flux1"``)."""
    title: str
    """The name people know it by, for messages."""
    text_to_image: type[DiffusionPipeline]
    image_to_image: type[DiffusionPipeline] | None
    """None: the family has no image-to-image pipeline; image-to-image runs as inpainting
    under a mask that covers the whole image (the same noising and denoising)."""
    inpaint: type[DiffusionPipeline] | None
    edit: type[DiffusionPipeline] | None = None
    """Instruction editing ("make it night"), where the family has it."""
    edit_lists: tuple[type[DiffusionPipeline], ...] = ()
    """Edit pipelines that take several images (a list: the source, then references), where
    the family has multi-reference editing (FLUX.2, Qwen-Image-Edit-2509)."""
    controlnets: tuple[tuple[str, type[DiffusionPipeline]], ...] = ()
    """Retexture's pipelines, by the ControlNet model class each takes (a ControlNet's
    ``config.json`` names its class: SDXL's ``ControlNetModel`` or ``ControlNetUnionModel``)."""
    other_pipelines: tuple[type[DiffusionPipeline], ...] = ()
    """Further pipeline classes that are this family (for detection only)."""

    negative_prompt: bool = True
    """Whether its pipelines take a negative prompt (``--no``)."""
    blank_negative: str = ""
    """The negative prompt to send when there is none (Qwen-Image's true CFG needs one)."""
    guidance: Guidance = "cfg"
    token_limit: int = 77
    """Prompt tokens its text encoder reads; the pipelines cut the rest."""
    long_prompts: bool = False
    """Whether the engine encodes past ``token_limit`` (compel's chunks, SD 1/2/XL)."""
    preview: LatentFormat | None = None
    """None: progress is reported without preview pictures."""
    estimate: Estimate = "scheduler"
    samplers: tuple[str, ...] | None = None
    """The scheduler names of ``config.settings.SCHEDULERS`` it can run (None: all of them);
    flow-matching models run only their own flow-matching scheduler."""
    lora: bool = True
    ip_adapter: bool = False
    """Whether diffusers can load an IP-Adapter into it (``--sref``, ``--cref``, image prompts)."""
    default_sampler: str = "default"
    default_steps: int = 30
    default_guidance: float = 6.0
    tiny_source: str | None = None
    """The ``builtin:`` model of this family's shape."""
    step_cache: StepCacheDefaults | None = None
    """None: ``engine.cache = "auto"`` leaves it off (UNets: diffusers' cache hooks need a
    transformer's list of blocks)."""

    @property
    def pipelines(self) -> tuple[type[DiffusionPipeline], ...]:
        tasks = (self.text_to_image, self.image_to_image, self.inpaint, *self.edit_pipelines)
        return tuple(cls for cls in tasks if cls is not None) + self.other_pipelines

    @property
    def edit_pipelines(self) -> tuple[type[DiffusionPipeline], ...]:
        return tuple(cls for cls in (self.edit, *self.edit_lists) if cls is not None)

    def guidance_inputs(self, pipeline: DiffusionPipeline, guidance: float) -> dict[str, Any]:
        """The pipeline-call arguments that carry ``guidance``."""
        if self.guidance == "true_cfg":
            return {"true_cfg_scale": guidance}
        if self.guidance == "none" or getattr(pipeline.config, "is_distilled", False):
            return {}
        return {"guidance_scale": guidance}

    def controlnet_pipeline(self, controlnet_class: str) -> type[DiffusionPipeline] | None:
        """The pipeline that runs a ControlNet of ``controlnet_class`` on this family."""
        return dict(self.controlnets).get(controlnet_class)

    def runs_sampler(self, name: str) -> bool:
        return name == "default" or self.samplers is None or name in self.samplers
