"""Stable Diffusion 1.x: a UNet over 4-channel latents, one CLIP text encoder, real CFG."""

from diffusers import (
    StableDiffusionControlNetPipeline,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
)

from imagine_bot.engine.gpu.families.family import Family, LatentFormat

PREVIEW = LatentFormat(
    "sd1",
    (
        (0.3512, 0.2297, 0.3227),
        (0.3250, 0.4974, 0.2350),
        (-0.2829, 0.1762, 0.2721),
        (-0.2120, -0.2616, -0.7177),
    ),
)

FAMILY = Family(
    name="sd1",
    title="Stable Diffusion 1.x",
    text_to_image=StableDiffusionPipeline,
    controlnets=(("ControlNetModel", StableDiffusionControlNetPipeline),),
    image_to_image=StableDiffusionImg2ImgPipeline,
    inpaint=StableDiffusionInpaintPipeline,
    long_prompts=True,
    preview=PREVIEW,
    ip_adapter=True,
    default_sampler="dpmpp_2m_karras",
    default_steps=30,
    default_guidance=7.0,
    tiny_source="builtin:tiny",
)
