"""Prompt text -> embeddings with compel: ``::`` blends and prompts past the 77-token window.

CLIP reads 77 tokens at a time; diffusers' own encoding drops the rest of a longer prompt.
compel (``truncate_long_prompts=False``) encodes every 77-token chunk and concatenates them,
and pads the negative prompt with empty chunks to the same length, so both halves of
classifier-free guidance line up. A ``::`` multi-prompt is compel's ``Blend`` of its parts:
the weighted average of their embeddings, ``sum(w_i * E_i) / sum(w_i)``.

The prompt text goes to compel as plain fragments, never through its parser, so its own
syntax (``(word)1.2``, ``word+``) has no meaning in a Midjourney prompt.

SDXL: both text encoders, their penultimate hidden states side by side (as diffusers does),
and the pooled embedding of the second one; a blend's pooled embedding is the parts' pooled
embeddings averaged with the same weights. An empty negative prompt is zeros on models that
say so (``force_zeros_for_empty_prompt``), as in diffusers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from compel import Compel, ReturnedEmbeddingsType
from compel.prompt_parser import Blend, FlattenedPrompt, Fragment
from diffusers import DiffusionPipeline

from imagine_bot.engine.spec import PromptPart


@dataclass(frozen=True)
class EncodedPrompt:
    """Both halves of classifier-free guidance, as (1, tokens, channels) tensors."""

    embeds: torch.Tensor
    negative: torch.Tensor
    pooled: torch.Tensor | None = None
    """SDXL only: (1, channels)."""
    negative_pooled: torch.Tensor | None = None
    window: int = 77
    """Tokens per chunk: each chunk starts with the start token."""


def encode_sd(
    pipeline: DiffusionPipeline, parts: tuple[PromptPart, ...], negative: str
) -> EncodedPrompt:
    """Stable Diffusion 1.x/2.x: one CLIP text encoder, its last (normalised) hidden states."""
    compel = _compel(pipeline, pipeline.tokenizer, pipeline.text_encoder, pooled=False)
    embeds, negative_embeds = _aligned(
        [compel], [_conditioning(compel, parts)], [_conditioning(compel, _text(negative))]
    )
    dtype = pipeline.text_encoder.dtype
    return EncodedPrompt(
        embeds.to(dtype), negative_embeds.to(dtype), window=pipeline.tokenizer.model_max_length
    )


def encode_sdxl(
    pipeline: DiffusionPipeline, parts: tuple[PromptPart, ...], negative: str
) -> EncodedPrompt:
    """SDXL: both text encoders and the second one's pooled embedding."""
    first = _compel(pipeline, pipeline.tokenizer, pipeline.text_encoder, pooled=False)
    second = _compel(pipeline, pipeline.tokenizer_2, pipeline.text_encoder_2, pooled=True)
    embeds, negative_embeds = _aligned(
        [first, second],
        [_conditioning(first, parts), _conditioning(second, parts)],
        [_conditioning(first, _text(negative)), _conditioning(second, _text(negative))],
    )
    pooled, negative_pooled = _pooled(second, parts), _pooled(second, _text(negative))
    if not negative and pipeline.config.get("force_zeros_for_empty_prompt", False):
        negative_embeds = torch.zeros_like(negative_embeds)
        negative_pooled = torch.zeros_like(negative_pooled)
    dtype = pipeline.text_encoder_2.dtype
    return EncodedPrompt(
        embeds.to(dtype),
        negative_embeds.to(dtype),
        pooled.to(dtype),
        negative_pooled.to(dtype),
        window=pipeline.tokenizer.model_max_length,
    )


def _text(text: str) -> tuple[PromptPart, ...]:
    return (PromptPart(text=text),)


def _aligned(
    compels: list[Compel], positive: list[torch.Tensor], negative: list[torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each encoder's positive and negative conditioning, padded with that encoder's empty
    chunks to the longest of them all, then side by side along the channels."""
    tokens = max(tensor.shape[1] for tensor in (*positive, *negative))

    def padded(compel: Compel, conditioning: torch.Tensor) -> torch.Tensor:
        empty = compel.conditioning_provider.empty_z.to(conditioning)
        chunks = (tokens - conditioning.shape[1]) // empty.shape[1]
        return torch.cat([conditioning, *[empty] * chunks], dim=1)

    return (
        torch.cat([padded(c, e) for c, e in zip(compels, positive, strict=True)], dim=-1),
        torch.cat([padded(c, e) for c, e in zip(compels, negative, strict=True)], dim=-1),
    )


def _compel(
    pipeline: DiffusionPipeline, tokenizer: object, encoder: object, *, pooled: bool
) -> Compel:
    kind = (
        ReturnedEmbeddingsType.PENULTIMATE_HIDDEN_STATES_NON_NORMALIZED
        if pooled or hasattr(pipeline, "text_encoder_2")
        else ReturnedEmbeddingsType.LAST_HIDDEN_STATES_NORMALIZED
    )
    return Compel(
        tokenizer=tokenizer,
        text_encoder=encoder,
        truncate_long_prompts=False,
        returned_embeddings_type=kind,
        requires_pooled=pooled,
        device=str(pipeline._execution_device),
    )


def _prompt(parts: tuple[PromptPart, ...]) -> FlattenedPrompt | Blend:
    prompts = [FlattenedPrompt([Fragment(part.text)]) for part in parts]
    if len(prompts) == 1:
        return prompts[0]
    return Blend(prompts, [part.weight for part in parts], normalize_weights=True)


def _conditioning(compel: Compel, parts: tuple[PromptPart, ...]) -> torch.Tensor:
    with torch.no_grad():
        (conditioning, _), _ = compel.build_conditioning_tensor_for_prompt_object(_prompt(parts))
    return conditioning if conditioning.dim() == 3 else conditioning.unsqueeze(0)


def _pooled(compel: Compel, parts: tuple[PromptPart, ...]) -> torch.Tensor:
    with torch.no_grad():
        pooled = compel.conditioning_provider.get_pooled_embeddings(
            [part.text for part in parts], device=compel.device
        )
    weights = torch.tensor([part.weight for part in parts], device=pooled.device)
    weights = weights / weights.sum()
    return torch.einsum("p,pc->c", weights, pooled.float()).unsqueeze(0).to(pooled.dtype)
