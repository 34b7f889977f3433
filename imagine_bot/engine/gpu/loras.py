"""LoRAs for one job: loaded into the pipeline before it runs, removed after it.

diffusers' ``load_lora_weights`` reads diffusers/peft and kohya files alike and adds each
LoRA as a named peft adapter on the UNet (and the text encoders, when the file has weights
for them); ``set_adapters`` weighs them; ``unload_lora_weights`` restores the original layers,
so the next job runs on the untouched model. Variants made with ``from_pipe`` share the UNet,
so a LoRA on one is on all of them for as long as the job runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from diffusers import DiffusionPipeline

from imagine_bot.config.loras import LoraPreset
from imagine_bot.engine.errors import LoraUnusable, UserError
from imagine_bot.engine.spec import GenerationSpec

ADAPTER_PREFIX = "lora_"
"""Adapter names are the preset names behind this prefix, apart from any the model came with."""


@contextmanager
def applied_loras(
    pipeline: DiffusionPipeline, spec: GenerationSpec, presets: Mapping[str, LoraPreset]
) -> Iterator[None]:
    """``spec``'s LoRAs on ``pipeline`` for the duration of the block."""
    if not spec.loras:
        yield
        return
    if not hasattr(pipeline, "load_lora_weights"):
        raise UserError(f"{type(pipeline).__name__} models cannot use LoRAs (--lora).")
    missing = [use.name for use in spec.loras if use.name not in presets]
    if missing:
        raise UserError(f"The LoRA {missing[0]!r} is no longer configured on this server.")
    try:
        for use in spec.loras:
            _load(pipeline, use.name, presets[use.name])
        pipeline.set_adapters(
            [ADAPTER_PREFIX + use.name for use in spec.loras], [use.weight for use in spec.loras]
        )
        yield
    finally:
        # Also after a failed load, which may have added some of its layers already.
        pipeline.unload_lora_weights()


def _load(pipeline: DiffusionPipeline, name: str, preset: LoraPreset) -> None:
    options = {"weight_name": preset.weight_name} if preset.weight_name else {}
    try:
        pipeline.load_lora_weights(preset.source, adapter_name=ADAPTER_PREFIX + name, **options)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        # peft reports a LoRA made for other layer sizes as a RuntimeError ("size mismatch").
        mismatch = "size mismatch" in str(exc)
        raise LoraUnusable(name, preset.source, str(exc), mismatch=mismatch) from exc
