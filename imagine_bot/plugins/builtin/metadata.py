"""What a result's PNGs say about how they were made: A1111's ``parameters`` text (which
A1111, sd-parsers and sd-prompt-reader read), the prompt as typed and the spec as JSON."""

from collections.abc import Mapping

from imagine_bot.config.settings import SchedulerName
from imagine_bot.engine.images.store import PROMPT_KEY, SPEC_KEY
from imagine_bot.engine.result import GenerationResult
from imagine_bot.engine.spec import HD_FACTOR, GenerationSpec
from imagine_bot.plugins import hookimpl

SAMPLER_NAMES: dict[SchedulerName, str] = {
    "default": "Default",
    "euler": "Euler",
    "euler_a": "Euler a",
    "ddim": "DDIM",
    "dpmpp_2m": "DPM++ 2M",
    "dpmpp_2m_karras": "DPM++ 2M Karras",
    "unipc": "UniPC",
    "lcm": "LCM",
}


@hookimpl(trylast=True)
def imagine_postprocess(result: GenerationResult) -> None:
    if not result.parameters:
        result.parameters = [
            parameters_text(result.spec, seed, result.notes) for seed in result.spec.seeds
        ]
    if not result.png_text:
        result.png_text = {
            PROMPT_KEY: result.spec.typed_prompt,
            SPEC_KEY: result.spec.model_dump_json(),
        }


def parameters_text(spec: GenerationSpec, seed: int, notes: Mapping[str, str] | None = None) -> str:
    """A1111's ``parameters`` text: prompt, negative prompt line, then ``Key: value`` pairs.

    ``Steps`` are those that ran: an image-to-image pass runs its ``Denoising strength``'s
    share of the preset's steps. ``notes`` add how the engine ran it (``Step cache``)."""
    settings: dict[str, object] = {
        "Steps": spec.steps_run,
        "Sampler": SAMPLER_NAMES[spec.scheduler],
        "CFG scale": spec.guidance,
        "Seed": seed,
        "Size": f"{spec.width}x{spec.height}",
        "Model": spec.model,
    }
    if spec.hd is not None:
        # A1111's hires fix: its strength is the "Denoising strength" of the second pass.
        settings |= {"Denoising strength": spec.hd, "Hires upscale": HD_FACTOR}
        settings["Hires upscaler"] = "Lanczos"
    elif spec.source is not None and spec.strength is not None and spec.fix is None:
        settings["Denoising strength"] = spec.strength
    if spec.kind == "edit":
        # The prompt line is the instruction; these are the pictures it was given.
        settings["Edit images"] = 1 + len(spec.references)
    if spec.fix is not None:
        # ADetailer's keys, as its users' tools read them.
        settings["ADetailer model"] = spec.fix
        settings["ADetailer denoising strength"] = spec.strength
    settings.update(notes or {})
    lines = [spec.prompt]
    if spec.negative_prompt:
        lines.append(f"Negative prompt: {spec.negative_prompt}")
    lines.append(", ".join(f"{key}: {value}" for key, value in settings.items()))
    return "\n".join(lines)
