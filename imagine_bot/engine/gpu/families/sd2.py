"""Stable Diffusion 2.x: the pipelines and VAE of 1.x with OpenCLIP and v-prediction; told
apart from 1.x only by the preset (``family = "sd2"``)."""

from dataclasses import replace

from imagine_bot.engine.gpu.families import sd1

FAMILY = replace(
    sd1.FAMILY, name="sd2", title="Stable Diffusion 2.x", ip_adapter=False, tiny_source=None
)
