"""Qwen-Image (and Qwen-Image-Edit): an MMDiT with flow matching over the 16-channel Wan VAE,
a Qwen2.5-VL text encoder; real CFG under the name ``true_cfg_scale``, which diffusers runs only
when a negative prompt is given."""

from diffusers import (
    QwenImageControlNetPipeline,
    QwenImageEditPipeline,
    QwenImageEditPlusPipeline,
    QwenImageImg2ImgPipeline,
    QwenImageInpaintPipeline,
    QwenImagePipeline,
)

from imagine_bot.engine.gpu.families.family import Family, StepCacheDefaults

FAMILY = Family(
    name="qwen_image",
    title="Qwen-Image",
    text_to_image=QwenImagePipeline,
    controlnets=(("QwenImageControlNetModel", QwenImageControlNetPipeline),),
    image_to_image=QwenImageImg2ImgPipeline,
    inpaint=QwenImageInpaintPipeline,
    edit=QwenImageEditPipeline,
    edit_lists=(QwenImageEditPlusPipeline,),
    blank_negative=" ",
    guidance="true_cfg",
    token_limit=1024,
    estimate="flow",
    samplers=("euler",),
    default_sampler="default",
    default_steps=50,
    default_guidance=4.0,
    tiny_source="builtin:tiny-qwen-image",
    step_cache=StepCacheDefaults(),
)
