"""A tiny ControlNet (made from the tiny model's UNet) and a tiny DPT depth model, built on
this machine and saved like real weights, for the Retexture tests."""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import ControlNetModel, UNet2DConditionModel
from transformers import DPTConfig, DPTForDepthEstimation, DPTImageProcessor

from imagine_bot.engine.gpu.tiny import ensure_tiny_model


def tiny_controlnet(models_dir: Path) -> Path:
    """A ControlNet with the tiny UNet's layout (``ControlNetModel.from_unet``), saved once."""
    target = models_dir / "tiny-controlnet"
    if not (target / "config.json").is_file():
        unet = UNet2DConditionModel.from_pretrained(ensure_tiny_model(models_dir) / "unet")
        torch.manual_seed(0)
        controlnet = ControlNetModel.from_unet(
            unet, conditioning_embedding_out_channels=(4, 8, 8, 16)
        )
        # from_unet zeroes the output convolutions (training starts from "no effect"): random
        # ones make the control image change the result, as trained weights do.
        zeroed = [
            *controlnet.controlnet_down_blocks,
            controlnet.controlnet_mid_block,
            controlnet.controlnet_cond_embedding.conv_out,
        ]
        for block in zeroed:
            torch.nn.init.normal_(block.weight, std=0.5)
        controlnet.save_pretrained(target)
    return target


def tiny_depth_model(models_dir: Path) -> Path:
    """A DPT depth-estimation model of a few thousand weights and its processor, saved once."""
    target = models_dir / "tiny-dpt"
    if not (target / "config.json").is_file():
        torch.manual_seed(0)
        config = DPTConfig(
            hidden_size=32,
            num_hidden_layers=4,
            num_attention_heads=4,
            intermediate_size=37,
            image_size=64,
            patch_size=16,
            backbone_out_indices=[0, 1, 2, 3],
            neck_hidden_sizes=[8, 16, 32, 32],
            fusion_hidden_size=16,
            reassemble_factors=[4, 2, 1, 0.5],
        )
        DPTForDepthEstimation(config).save_pretrained(target)
        processor = DPTImageProcessor(size={"height": 64, "width": 64}, keep_aspect_ratio=False)
        processor.save_pretrained(target)
    return target


def structure_env(models_dir: Path, control: str = "canny") -> dict[str, str]:
    """Settings overrides that give the tiny preset the tiny ControlNet (and depth model)."""
    prefix = "IMAGINE_MODELS__TINY__STRUCTURE__"
    env = {f"{prefix}CONTROLNET": str(tiny_controlnet(models_dir)), f"{prefix}CONTROL": control}
    if control == "depth":
        env[f"{prefix}DEPTH_MODEL"] = str(tiny_depth_model(models_dir))
    return env
