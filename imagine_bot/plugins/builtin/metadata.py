"""Generation parameters in the format A1111 and ComfyUI-style readers parse from a PNG."""

from imagine_bot.config.settings import SchedulerName
from imagine_bot.engine.spec import GenerationResult, GenerationSpec
from imagine_bot.plugins import hookimpl

SAMPLER_NAMES: dict[SchedulerName, str] = {
    "default": "Default",
    "euler": "Euler",
    "euler_a": "Euler a",
    "ddim": "DDIM",
    "dpmpp_2m": "DPM++ 2M",
    "dpmpp_2m_karras": "DPM++ 2M Karras",
    "unipc": "UniPC",
}


@hookimpl(trylast=True)
def imagine_postprocess(result: GenerationResult) -> None:
    if not result.parameters:
        result.parameters = [parameters_text(result.spec, seed) for seed in result.spec.seeds]


def parameters_text(spec: GenerationSpec, seed: int) -> str:
    """A1111's ``parameters`` text: prompt, negative prompt line, then ``Key: value`` pairs."""
    settings = {
        "Steps": spec.steps,
        "Sampler": SAMPLER_NAMES[spec.scheduler],
        "CFG scale": spec.guidance,
        "Seed": seed,
        "Size": f"{spec.width}x{spec.height}",
        "Model": spec.model,
    }
    lines = [spec.prompt]
    if spec.negative_prompt:
        lines.append(f"Negative prompt: {spec.negative_prompt}")
    lines.append(", ".join(f"{key}: {value}" for key, value in settings.items()))
    return "\n".join(lines)
