"""Stable Diffusion 3 / 3.5: an MMDiT with flow matching, two CLIPs and a T5, real CFG."""

from diffusers import (
    StableDiffusion3ControlNetPipeline,
    StableDiffusion3Img2ImgPipeline,
    StableDiffusion3InpaintPipeline,
    StableDiffusion3Pipeline,
)

from imagine_bot.engine.gpu.families.family import Family, LatentFormat, StepCacheDefaults

PREVIEW = LatentFormat(
    "sd3",
    (
        (-0.0922, -0.0175, 0.0749),
        (0.0311, 0.0633, 0.0954),
        (0.1994, 0.0927, 0.0458),
        (0.0856, 0.0339, 0.0902),
        (0.0587, 0.0272, -0.0496),
        (-0.0006, 0.1104, 0.0309),
        (0.0978, 0.0306, 0.0427),
        (-0.0042, 0.1038, 0.1358),
        (-0.0194, 0.0020, 0.0669),
        (-0.0488, 0.0130, -0.0268),
        (0.0922, 0.0988, 0.0951),
        (-0.0278, 0.0524, -0.0542),
        (0.0332, 0.0456, 0.0895),
        (-0.0069, -0.0030, -0.0810),
        (-0.0596, -0.0465, -0.0293),
        (-0.1448, -0.1463, -0.1189),
    ),
    (0.2394, 0.2135, 0.1925),
)

FAMILY = Family(
    name="sd3",
    title="Stable Diffusion 3.5",
    text_to_image=StableDiffusion3Pipeline,
    controlnets=(("SD3ControlNetModel", StableDiffusion3ControlNetPipeline),),
    image_to_image=StableDiffusion3Img2ImgPipeline,
    inpaint=StableDiffusion3InpaintPipeline,
    token_limit=256,  # T5's part (max_sequence_length); the CLIPs read the first 77
    preview=PREVIEW,
    estimate="flow",
    samplers=("euler",),
    ip_adapter=True,  # SD 3.5 Large's InstantX adapter, through load_ip_adapter
    default_sampler="default",
    default_steps=28,
    default_guidance=4.5,
    tiny_source="builtin:tiny-sd3",
    step_cache=StepCacheDefaults(),
)
