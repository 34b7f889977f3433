"""FLUX.1 [dev] / [schnell] (and Kontext for editing): a flux transformer with flow matching
over packed 16-channel latents, CLIP (pooled) and T5, guidance distilled into the model."""

from diffusers import (
    FluxControlNetPipeline,
    FluxFillPipeline,
    FluxImg2ImgPipeline,
    FluxInpaintPipeline,
    FluxKontextPipeline,
    FluxPipeline,
)

from imagine_bot.engine.gpu.families.family import Family, LatentFormat, StepCacheDefaults

PREVIEW = LatentFormat(
    "flux1",
    (
        (-0.0346, 0.0244, 0.0681),
        (0.0034, 0.0210, 0.0687),
        (0.0275, -0.0668, -0.0433),
        (-0.0174, 0.0160, 0.0617),
        (0.0859, 0.0721, 0.0329),
        (0.0004, 0.0383, 0.0115),
        (0.0405, 0.0861, 0.0915),
        (-0.0236, -0.0185, -0.0259),
        (-0.0245, 0.0250, 0.1180),
        (0.1008, 0.0755, -0.0421),
        (-0.0515, 0.0201, 0.0011),
        (0.0428, -0.0012, -0.0036),
        (0.0817, 0.0765, 0.0749),
        (-0.1264, -0.0522, -0.1103),
        (-0.0280, -0.0881, -0.0499),
        (-0.1262, -0.0982, -0.0778),
    ),
    (-0.0329, -0.0718, -0.0851),
    packed=True,
)

FAMILY = Family(
    name="flux1",
    title="FLUX.1",
    text_to_image=FluxPipeline,
    controlnets=(("FluxControlNetModel", FluxControlNetPipeline),),
    image_to_image=FluxImg2ImgPipeline,
    inpaint=FluxInpaintPipeline,
    edit=FluxKontextPipeline,
    other_pipelines=(FluxFillPipeline,),
    # A negative prompt runs as true CFG (true_cfg_scale), two model calls per step.
    guidance="distilled",
    token_limit=512,  # T5's (max_sequence_length); the CLIP gives only the pooled vector
    preview=PREVIEW,
    estimate="flow",
    samplers=("euler",),
    ip_adapter=True,  # XLabs' FLUX.1 IP-Adapter, through load_ip_adapter
    default_sampler="default",
    default_steps=28,
    default_guidance=3.5,
    tiny_source="builtin:tiny-flux",
    step_cache=StepCacheDefaults(),
)
