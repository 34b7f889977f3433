"""Stable Diffusion XL: a UNet with two CLIP text encoders (and pooled embeddings), real CFG."""

from diffusers import (
    StableDiffusionXLControlNetPipeline,
    StableDiffusionXLControlNetUnionPipeline,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLInpaintPipeline,
    StableDiffusionXLPipeline,
)

from imagine_bot.engine.gpu.families.family import Family, LatentFormat

PREVIEW = LatentFormat(
    "sdxl",
    (
        (0.3651, 0.4232, 0.4341),
        (-0.2533, -0.0042, 0.1068),
        (0.1076, 0.1111, -0.0362),
        (-0.3165, -0.2492, -0.2188),
    ),
    (0.1084, -0.0175, -0.0011),
)

FAMILY = Family(
    name="sdxl",
    title="Stable Diffusion XL",
    text_to_image=StableDiffusionXLPipeline,
    controlnets=(
        ("ControlNetModel", StableDiffusionXLControlNetPipeline),
        ("ControlNetUnionModel", StableDiffusionXLControlNetUnionPipeline),
    ),
    image_to_image=StableDiffusionXLImg2ImgPipeline,
    inpaint=StableDiffusionXLInpaintPipeline,
    long_prompts=True,
    preview=PREVIEW,
    ip_adapter=True,
    default_sampler="dpmpp_2m_karras",
    default_steps=30,
    default_guidance=6.5,
)
