"""Z-Image (and Z-Image-Turbo): a single-stream transformer with flow matching over FLUX.1's
16-channel VAE, a Qwen3 text encoder; real CFG (Turbo runs without: guidance 0)."""

from dataclasses import replace

from diffusers import (
    ZImageControlNetPipeline,
    ZImageImg2ImgPipeline,
    ZImageInpaintPipeline,
    ZImagePipeline,
)

from imagine_bot.engine.gpu.families import flux1
from imagine_bot.engine.gpu.families.family import Family, StepCacheDefaults

FAMILY = Family(
    name="zimage",
    title="Z-Image",
    text_to_image=ZImagePipeline,
    controlnets=(("ZImageControlNetModel", ZImageControlNetPipeline),),
    image_to_image=ZImageImg2ImgPipeline,
    inpaint=ZImageInpaintPipeline,
    token_limit=512,
    # FLUX.1's VAE and factors, but the latents are not packed.
    preview=replace(flux1.PREVIEW, name="zimage", packed=False),
    estimate="flow",
    samplers=("euler",),
    default_sampler="default",
    default_steps=28,
    default_guidance=4.0,
    tiny_source="builtin:tiny-zimage",
    # diffusers' First-Block Cache cannot read Z-Image's blocks; TaylorSeer predicts the
    # final layer instead.
    step_cache=StepCacheDefaults(cache="taylorseer", first_block=False),
)
