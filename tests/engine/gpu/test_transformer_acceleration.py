"""Transformers on the GPU path: regional compilation wraps each repeated block (checked
without compiling: that takes minutes on a CPU), and ``dtype = "fp8"`` says plainly why it
cannot run where it cannot."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
import torch

from imagine_bot.config import load_settings
from imagine_bot.config.engine import EngineSettings
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.gpu.acceleration import DeviceTraits, compile_blocks, plan_acceleration
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.gpu.tiny import build_builtin

H100 = DeviceTraits(torch.device("cuda"), 80 * 2**30, bf16=True, capability=(9, 0))
A100 = DeviceTraits(torch.device("cuda"), 80 * 2**30, bf16=True, capability=(8, 0))


def compiled(function: Any) -> bool:
    """Whether ``function`` is ``torch.compile``'s wrapper (compiled lazily, on first call)."""
    return hasattr(function, "_torchdynamo_orig_callable")


def test_compile_wraps_every_repeated_block_of_a_loaded_transformer(
    test_env: dict[str, str],
) -> None:
    env = {**test_env, "IMAGINE_ENGINE__COMPILE": "true", "IMAGINE_ENGINE__WARM_UP": "false"}
    registry = ModelRegistry(load_settings(env=env))
    registry.claim_thread()
    transformer = registry.pipeline("tiny-flux").transformer
    blocks = [*transformer.transformer_blocks, *transformer.single_transformer_blocks]
    assert blocks and all(compiled(block.forward) for block in blocks)
    # Only the blocks: the embedders, the output layers and the module call stay eager.
    assert not compiled(transformer.forward) and transformer._compiled_call_impl is None
    assert all(block._compiled_call_impl is None for block in blocks)


def test_compile_blocks_covers_each_familys_block_classes() -> None:
    transformer = build_builtin("builtin:tiny-zimage").transformer
    assert compile_blocks(transformer, "default") == len(transformer.layers) + sum(
        len(refiner) for refiner in (transformer.noise_refiner, transformer.context_refiner)
    )


def test_a_model_without_repeated_blocks_is_a_clear_error() -> None:
    with pytest.raises(UserError, match=r"engine\.compile = false"):
        compile_blocks(torch.nn.Sequential(torch.nn.Linear(2, 2)), "default")


def test_fp8_needs_a_float8_gpu() -> None:
    fp8 = EngineSettings(dtype="fp8")
    if importlib.util.find_spec("torchao") is not None:
        plan = plan_acceleration(fp8, H100)
        assert (plan.fp8, plan.dtype) == (True, torch.bfloat16)
    for device in (DeviceTraits(torch.device("cpu")), A100):
        with pytest.raises(UserError, match=r"compute capability 8\.9 or later|needs torchao"):
            plan_acceleration(fp8, device)


def test_fp8_without_torchao_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torchao" else real(name)
    )
    with pytest.raises(UserError, match=r"needs torchao.*imagine-bot\[fp8\]"):
        plan_acceleration(EngineSettings(dtype="fp8"), H100)
