"""The text conditioning of a job: ``::`` multi-prompt blends, long prompts and ``--chaos``.

**Multi-prompts** (``hot dog::1.5 animal::-0.5``). Each part (with the preset's style suffix)
is encoded on its own by the pipeline's text encoder(s) into per-token hidden states; the
prompt embedding is their weighted average, ``sum(w_i * E_i) / sum(w_i)`` (the grammar
guarantees ``sum(w_i) > 0``), computed by compel (``prompt_encoding``). A negative weight
therefore pushes the embedding away from that part: ``E(hot dog) + 0.5 * (E(hot dog) -
E(animal))`` in the example. SDXL's pooled embeddings are blended with the same weights.
Prompts longer than CLIP's 77 tokens are encoded in full, chunk by chunk.

**Chaos** (``--chaos 0-100``) makes the four images of a grid differ more than their seeds
alone do, after CADS (Sadat et al., "CADS: Unleashing the Diversity of Diffusion Models
through Condition-Annealed Sampling", ICLR 2024): each image gets its own Gaussian noise
(drawn from its seed, so it is reproducible) added to its prompt embedding, strongest at the
start of sampling, where the composition is decided, and annealed to nothing by
``CHAOS_CLEAN_AT`` of the steps, so the details still follow the prompt. Per token,

    e' = mu + (e - mu + s * a(p) * sigma * n) / sqrt(1 + (s * a(p))^2)

where mu and sigma are the token's mean and spread over its channels (the rescale keeps them),
``s = CHAOS_MAX_NOISE * chaos / 100`` and ``a(p)`` is 1 until ``CHAOS_FULL_UNTIL`` of the steps
and falls linearly to 0 at ``CHAOS_CLEAN_AT``. The start token (of every 77-token chunk), which
is the same for every prompt, is left alone. The unconditional (negative) half of
classifier-free guidance is never noised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from diffusers import (
    DiffusionPipeline,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLInpaintPipeline,
    StableDiffusionXLPipeline,
)

from imagine_bot.engine.gpu.families import Family
from imagine_bot.engine.gpu.prompt_encoding import encode_sd, encode_sdxl
from imagine_bot.engine.spec import GenerationSpec, PromptPart

SD_PIPELINES = (
    StableDiffusionPipeline,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionInpaintPipeline,
)
SDXL_PIPELINES = (
    StableDiffusionXLPipeline,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLInpaintPipeline,
)

CHAOS_MAX_NOISE = 1.0
"""Noise spread relative to each token's own spread, at ``--chaos 100``."""
CHAOS_FULL_UNTIL = 0.1
CHAOS_CLEAN_AT = 0.4
_CHAOS_SEED_SALT = 0x9E3779B97F4A7C15
"""Mixed into each image's seed so its chaos noise is independent of its latent noise."""


@dataclass
class TextConditioning:
    """What a pipeline call needs for its text, and the state ``--chaos`` anneals."""

    inputs: dict[str, Any]
    """Keyword arguments for the pipeline call (prompts as text, or embeddings)."""
    clean: torch.Tensor | None = None
    """Per-image prompt embeddings without chaos noise, (images, tokens, channels)."""
    noise: torch.Tensor | None = None
    """Per-image unit noise of the same shape; None without chaos."""
    chaos: float = 0.0
    window: int = 77
    """Tokens per encoded chunk; each chunk's first token is the start token."""

    def noisy(self, progress: float) -> torch.Tensor:
        """The prompt embeddings for a step at ``progress`` (0 = first step, 1 = done)."""
        assert self.clean is not None
        if self.noise is None:
            return self.clean
        scale = CHAOS_MAX_NOISE * self.chaos * anneal(progress)
        return add_chaos(self.clean, self.noise, scale, self.window)


def anneal(progress: float) -> float:
    """How much of the chaos noise is left at ``progress`` through the steps (1 -> 0)."""
    if progress <= CHAOS_FULL_UNTIL:
        return 1.0
    if progress >= CHAOS_CLEAN_AT:
        return 0.0
    return (CHAOS_CLEAN_AT - progress) / (CHAOS_CLEAN_AT - CHAOS_FULL_UNTIL)


def add_chaos(
    clean: torch.Tensor, noise: torch.Tensor, scale: float, window: int = 77
) -> torch.Tensor:
    """``clean`` with ``noise`` mixed in at ``scale``, keeping each token's mean and spread;
    the start token of every ``window``-token chunk is left as it is."""
    if scale <= 0:
        return clean
    embeds = clean.float()
    mean = embeds.mean(dim=-1, keepdim=True)
    spread = embeds.std(dim=-1, keepdim=True)
    noisy = mean + (embeds - mean + scale * spread * noise.float()) / (1 + scale**2) ** 0.5
    noisy[:, ::window] = embeds[:, ::window]  # the start tokens
    return noisy.to(clean.dtype)


def chaos_noise(seeds: tuple[int, ...], shape: tuple[int, ...]) -> torch.Tensor:
    """One unit-Gaussian tensor of ``shape`` per seed, stacked; the same on every device."""
    return torch.stack(
        [
            torch.randn(
                shape, generator=torch.Generator("cpu").manual_seed(seed ^ _CHAOS_SEED_SALT)
            )
            for seed in seeds
        ]
    )


def text_conditioning(
    pipeline: DiffusionPipeline,
    family: Family,
    spec: GenerationSpec,
    warn: Callable[[str], None],
) -> TextConditioning:
    """The text inputs of ``spec``'s pipeline call: embeddings made with compel
    (``prompt_encoding``) for Stable Diffusion 1/2 and XL, so that blends, prompts past 77
    tokens and chaos work; the other families get the plain prompt (and a negative prompt
    where ``family`` takes one), with a warning when that loses a blend, chaos or ``--no``.
    """
    count = len(spec.seeds)
    parts = spec.blend or (PromptPart(text=spec.prompt),)
    if "no" in spec.flags and family.negative_prompt and not _negative_counts(family, spec):
        warn(
            f"--no needs guidance above 1, and the model {spec.model!r} ({family.title}) runs "
            f"at {spec.guidance:g}, so --no was not used."
        )
    if isinstance(pipeline, SDXL_PIPELINES):
        encoded = encode_sdxl(pipeline, parts, spec.negative_prompt)
    elif isinstance(pipeline, SD_PIPELINES):
        encoded = encode_sd(pipeline, parts, spec.negative_prompt)
    else:
        return _plain_text(family, spec, warn)
    clean = encoded.embeds.expand(count, -1, -1).contiguous()
    conditioning = TextConditioning(
        {"negative_prompt_embeds": encoded.negative.expand(count, -1, -1)},
        clean=clean,
        chaos=spec.chaos,
        window=encoded.window,
    )
    if spec.chaos > 0:
        noise = chaos_noise(spec.seeds, tuple(encoded.embeds.shape[1:]))
        conditioning.noise = noise.to(device=clean.device, dtype=clean.dtype)
    conditioning.inputs["prompt_embeds"] = conditioning.noisy(0.0)
    if encoded.pooled is not None and encoded.negative_pooled is not None:
        conditioning.inputs["pooled_prompt_embeds"] = encoded.pooled.expand(count, -1)
        conditioning.inputs["negative_pooled_prompt_embeds"] = encoded.negative_pooled.expand(
            count, -1
        )
    return conditioning


def _negative_counts(family: Family, spec: GenerationSpec) -> bool:
    """Whether a negative prompt changes the images: it is the other half of classifier-free
    guidance, which pipelines run only above a scale of 1 (FLUX.1 runs its own true CFG)."""
    return family.true_cfg_for_negative is not None or spec.guidance > 1


def _plain_text(
    family: Family, spec: GenerationSpec, warn: Callable[[str], None]
) -> TextConditioning:
    """The prompt as text, for the pipeline's own encoder."""
    count = len(spec.seeds)
    model = f"the model {spec.model!r} ({family.title})"
    if spec.blend:
        warn(f"::-weighted prompts are not blended on {model}, so the prompt was used as text.")
    if spec.chaos > 0:
        warn(f"--chaos is not supported on {model}, so it was ignored.")
    inputs: dict[str, Any] = {"prompt": [spec.prompt] * count}
    if family.negative_prompt:
        inputs["negative_prompt"] = [spec.negative_prompt or family.blank_negative] * count
    elif "no" in spec.flags:
        warn(f"--no is not supported on {model}, which takes no negative prompt; it was ignored.")
    return TextConditioning(inputs)
