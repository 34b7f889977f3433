"""FLUX.2 [klein] and [dev]: a flux2 transformer with flow matching over the 32-channel FLUX.2
VAE, one LLM text encoder (Qwen3 for klein, Mistral for dev). Klein's distilled models take
no guidance; its base models and dev do. Editing is the same pipeline given images."""

from diffusers import Flux2KleinInpaintPipeline, Flux2KleinPipeline, Flux2Pipeline

from imagine_bot.engine.gpu.families.family import Family, StepCacheDefaults

FAMILY = Family(
    name="flux2",
    title="FLUX.2",
    text_to_image=Flux2KleinPipeline,
    # Flux2KleinPipeline's `image` is a reference to edit, not a start to noise: variations
    # run as inpainting over the whole image.
    image_to_image=None,
    inpaint=Flux2KleinInpaintPipeline,
    edit=Flux2KleinPipeline,
    edit_lists=(Flux2KleinPipeline, Flux2Pipeline),
    negative_prompt=False,
    token_limit=512,
    estimate="flow",
    samplers=("euler",),
    default_sampler="default",
    default_steps=4,
    default_guidance=1.0,
    tiny_source="builtin:tiny-flux2",
    step_cache=StepCacheDefaults(),
)
