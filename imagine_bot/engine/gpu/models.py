"""Model presets -> resident diffusers pipelines, and a fresh scheduler for every job."""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import diffusers
import torch
import transformers
from diffusers import (
    DDIMScheduler,
    DiffusionPipeline,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler,
    LCMScheduler,
    UniPCMultistepScheduler,
)
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from huggingface_hub.utils.tqdm import enable_progress_bars as enable_hub_progress_bars

from imagine_bot.config import ModelPreset, Settings
from imagine_bot.config.settings import SchedulerName
from imagine_bot.config.structure import StructureSettings
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.gpu import acceleration
from imagine_bot.engine.gpu.checkpoints import load_pipeline
from imagine_bot.engine.gpu.devices import resolve_device
from imagine_bot.engine.gpu.families import Family, UnknownFamily, family_of
from imagine_bot.engine.gpu.ip_adapter import ImagePromptAdapter
from imagine_bot.engine.gpu.tiny import ensure_builtin, is_builtin
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.spec import GRID_SIZE, FixTarget, GenerationSpec

if TYPE_CHECKING:
    from imagine_bot.engine.gpu.safety import ContentClassifier
    from imagine_bot.engine.gpu.structure import DepthEstimator
    from imagine_bot.engine.gpu.upscale import Upscaler
    from imagine_bot.engine.images.detectors import Detector

SCHEDULERS: dict[SchedulerName, tuple[type[SchedulerMixin], dict[str, Any]]] = {
    # every name of config.settings.SCHEDULERS but "default", the pipeline's own
    "euler": (EulerDiscreteScheduler, {}),
    "euler_a": (EulerAncestralDiscreteScheduler, {}),
    "ddim": (DDIMScheduler, {}),
    "dpmpp_2m": (DPMSolverMultistepScheduler, {}),
    "dpmpp_2m_karras": (DPMSolverMultistepScheduler, {"use_karras_sigmas": True}),
    "unipc": (UniPCMultistepScheduler, {}),
    # For LCM-distilled models and LCM-LoRAs (the SDXL draft): 4 to 8 steps, guidance 1-2.
    "lcm": (LCMScheduler, {}),
}
LOADING = threading.Lock()
"""Loading patches torch process-wide (accelerate's empty-weights init), so two workers'
registries loading at once would break each other's models: one load at a time."""
Variant = Literal["img2img", "inpaint", "edit"]


class ModelRegistry:
    """Loads each preset's pipeline once and keeps it on the device.

    Pipelines are not thread-safe, so only the thread that claimed the registry (the GPU
    worker) may ask for one.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.presets = settings.models
        self.models_dir = settings.paths.models
        self.device = resolve_device(settings.engine.device)
        self.acceleration = acceleration.plan_acceleration(
            settings.engine, acceleration.probe_device(self.device)
        )
        self.dtype = self.acceleration.dtype
        self.store = ImageStore(settings.paths.store)
        """Every input image a spec refers to, by sha256."""
        self._pipelines: dict[str, DiffusionPipeline] = {}
        self._families: dict[str, Family] = {}
        self._adapters: dict[str, ImagePromptAdapter] = {}
        self._variants: dict[tuple[str, Variant], DiffusionPipeline] = {}
        self._upscaler: Upscaler | None = None
        self._classifier: ContentClassifier | None = None
        self._detectors: dict[FixTarget, Detector] = {}
        self._controlnets: dict[str, DiffusionPipeline] = {}
        self._depth: dict[str, DepthEstimator] = {}
        self._owner: int | None = None
        # Loading bars from the libraries would interleave with ours and with the bot's logs;
        # transformers also turns off the hub's, which show a (rare, long) download's progress.
        diffusers.utils.logging.disable_progress_bar()
        transformers.utils.logging.disable_progress_bar()
        enable_hub_progress_bars()

    def claim_thread(self) -> None:
        """Make the calling thread the only one allowed to use pipelines."""
        self._owner = threading.get_ident()
        if self.settings.engine.threads:
            # Per thread under OpenMP: set where the pipelines run.
            torch.set_num_threads(self.settings.engine.threads)

    def pipeline(self, name: str) -> DiffusionPipeline:
        """The resident text-to-image pipeline of preset ``name``, loaded on first use."""
        if self._owner != threading.get_ident():
            raise RuntimeError("pipelines may only be used on the GPU worker thread")
        if name not in self._pipelines:
            self._pipelines[name] = self._load(name)
        return self._pipelines[name]

    def warm_up(self, name: str) -> float:
        """Load preset ``name`` and run one short grid at its default size, so the first job
        waits for neither loading nor compilation. Worker thread only; returns the seconds."""
        started = time.perf_counter()
        preset = self.presets[name]
        pipeline, family = self.pipeline(name), self.family(name)
        inputs = family.guidance_inputs(pipeline, preset.guidance)
        if family.negative_prompt:
            inputs["negative_prompt"] = [family.blank_negative] * GRID_SIZE
        acceleration.warm_up(pipeline, preset.resolution, preset.resolution, **inputs)
        return time.perf_counter() - started

    def image_prompts(
        self, pipeline: DiffusionPipeline, spec: GenerationSpec
    ) -> AbstractContextManager[dict[str, Any]]:
        """The extension point that gives a generate stage the spec's image prompts and
        references: wrap the pipeline call, and pass what it yields on to the call.

        ``with models.image_prompts(pipeline, spec) as inputs: pipeline(..., **inputs)``

        Inside the block ``pipeline``'s UNet carries the preset's IP-Adapter (loaded on first
        use) scaled for ``spec``; it yields ``ip_adapter_image_embeds``. A spec without
        references yields ``{}`` and leaves the pipeline as it is. Works for any pipeline that
        shares the preset's UNet (img2img and inpaint variants made with ``from_pipe``).
        """
        if not spec.references:
            return nullcontext({})
        preset = self.presets[spec.model]
        if preset.ip_adapter is None:
            raise UserError(
                f"This job has image prompts, but the model {spec.model!r} has no image-prompt "
                f"adapter any more (models.{spec.model}.ip_adapter)."
            )
        adapter = self._adapters.get(spec.model)
        if adapter is None:
            adapter = ImagePromptAdapter(spec.model, preset.ip_adapter, self.device, self.dtype)
            self._adapters[spec.model] = adapter
        return adapter.attached(pipeline, spec, self.store)

    def family(self, name: str) -> Family:
        """The model family of preset ``name`` (its ``family``, else its pipeline's)."""
        if name not in self._families:
            try:
                self._families[name] = family_of(self.pipeline(name), self.presets[name].family)
            except UnknownFamily as exc:
                raise UserError(
                    f"The model {name!r} is a {exc.pipeline_class}, which this bot cannot run."
                ) from exc
        return self._families[name]

    def variant(self, name: str, kind: Variant) -> DiffusionPipeline:
        """The image-to-image, inpainting or edit pipeline of preset ``name``, as its family
        names it (an edit preset's own pipeline is its edit pipeline: Kontext, FLUX.2).

        Made once with ``from_pipe`` from the resident text-to-image pipeline: the same
        denoiser, VAE and text encoders, so no weights are loaded or copied. With a denoiser
        of the usual input channels (not an inpainting model), diffusers' inpaint pipelines
        keep the unmasked latents at every step and generate only under the mask.
        """
        key = (name, kind)
        if key not in self._variants:
            base, family = self.pipeline(name), self.family(name)
            variant_class = {
                "img2img": family.image_to_image,
                "inpaint": family.inpaint,
                "edit": family.edit,
            }[kind]
            if kind == "edit" and isinstance(base, family.edit_pipelines):
                return base  # an edit model (Kontext, Qwen-Image-Edit, FLUX.2) as loaded
            if variant_class is None:
                raise UserError(
                    f"{family.title} models have no {kind} pipeline in diffusers, so the model "
                    f"{name!r} cannot do this action."
                )
            try:
                pipeline = variant_class.from_pipe(base)
            except ValueError as exc:
                raise UserError(
                    f"The model {name!r} ({type(base).__name__}) has no {kind} pipeline in "
                    "diffusers, so this action is not supported by this model."
                ) from exc
            pipeline.set_progress_bar_config(disable=True)
            self._variants[key] = pipeline
        return self._variants[key]

    def upscaler(self) -> Upscaler:
        """The Real-ESRGAN upscaler, resident once its weights are first used."""
        if self._owner != threading.get_ident():
            raise RuntimeError("the upscaler may only be used on the GPU worker thread")
        if self._upscaler is None:
            from imagine_bot.engine.gpu.upscale import Upscaler

            self._upscaler = Upscaler(self.settings)
        return self._upscaler

    def classifier(self) -> ContentClassifier | None:
        """The safety classifier (``safety.classifier``), resident once first used; None
        when none is configured."""
        if not self.settings.safety.classifier:
            return None
        if self._classifier is None:
            from imagine_bot.engine.gpu.safety import ContentClassifier

            self._classifier = ContentClassifier(self.settings.safety, self.device)
        return self._classifier

    def detector(self, target: FixTarget) -> Detector:
        """What finds ``target`` regions for Fix Faces; a YOLO model stays resident."""
        if target not in self._detectors:
            from imagine_bot.engine.images.detectors import detector_for

            self._detectors[target] = detector_for(target, self.settings.fix, str(self.device))
        return self._detectors[target]

    def controlnet_pipeline(self, name: str) -> tuple[DiffusionPipeline, StructureSettings]:
        """Preset ``name``'s pipeline with its ControlNet (``structure``) and those settings:
        the family's ControlNet pipeline made once with ``from_pipe`` (shared weights)."""
        settings = self.presets[name].structure
        if settings is None:
            raise UserError(
                f"The model {name!r} has no ControlNet (models.{name}.structure in the "
                "settings), so it cannot keep a picture's structure."
            )
        if name not in self._controlnets:
            from imagine_bot.engine.gpu.structure import with_controlnet

            base, family = self.pipeline(name), self.family(name)
            with LOADING:
                pipeline = with_controlnet(base, family, name, settings, self.dtype, self.device)
            self._controlnets[name] = pipeline
        return self._controlnets[name], settings

    def depth_estimator(self, source: str) -> DepthEstimator:
        """The depth-estimation model of Retexture's depth control images, resident once used."""
        if source not in self._depth:
            from imagine_bot.engine.gpu.structure import DepthEstimator

            with LOADING:
                self._depth[source] = DepthEstimator(source, self.device)
        return self._depth[source]

    def loaded(self, name: str) -> bool:
        """Whether preset ``name``'s pipeline is resident (readable from any thread)."""
        return name in self._pipelines

    def fresh_scheduler(self, pipeline: DiffusionPipeline, name: SchedulerName) -> SchedulerMixin:
        """A new scheduler for one job, built from the pipeline's own scheduler config.

        Schedulers keep per-run state (step index, sigmas), so jobs never share one. A
        flow-matching model keeps its own scheduler class whatever ``name`` says: the others
        predict noise, not velocity.
        """
        base = pipeline.scheduler
        if isinstance(base, FlowMatchEulerDiscreteScheduler):
            return type(base).from_config(base.config)
        cls, options = SCHEDULERS.get(name, (type(base), {}))
        return cls.from_config(base.config, **options)

    def _load(self, name: str) -> DiffusionPipeline:
        preset = self.presets[name]
        with LOADING:
            pipeline = load_pipeline(name, preset, self._source_path(preset), self.dtype)
        acceleration.accelerate(pipeline, self.acceleration)
        pipeline.set_progress_bar_config(disable=True)
        return pipeline

    def _source_path(self, preset: ModelPreset) -> str:
        if is_builtin(preset.source):
            return str(ensure_builtin(preset.source, self.models_dir))
        local = Path(preset.source).expanduser()
        return str(local) if local.exists() else preset.source
