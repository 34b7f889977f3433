"""Prompts longer than CLIP's 77-token window are encoded in full (compel), not cut."""

from __future__ import annotations

from typing import Any

import torch

from imagine_bot.engine.control import JobControl
from imagine_bot.engine.spec import GenerationSpec
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner
from tests.engine.conftest import UNetSpy

WINDOW = 77
# The tiny tokenizer has one token per character: this is about 150 tokens.
LONG = (
    "an old stone lighthouse on a cliff at dusk with waves crashing below and gulls overhead "
    "painted in thick oils under a violet sky full of stars and drifting clouds at the end of time"
)


def token_counts(runner: JobRunner, spec: GenerationSpec) -> list[int]:
    """The length of every token sequence the text encoder read during ``spec``'s job."""
    counts: list[int] = []

    def attach() -> Any:
        encoder = runner.models.pipeline("tiny").text_encoder

        def record(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            ids = args[0] if args else kwargs["input_ids"]
            counts.extend([ids.shape[-1]] * ids.shape[0])

        return encoder.register_forward_pre_hook(record, with_kwargs=True)

    handle = runner.call(attach).result()
    try:
        runner.submit(spec, JobControl()).result()
    finally:
        handle.remove()
    return counts


async def test_a_150_token_prompt_reaches_the_text_encoder_in_full(
    planner: JobPlanner, runner: JobRunner, unet_spy: UNetSpy
) -> None:
    tokenizer = runner.call(lambda: runner.models.pipeline("tiny").tokenizer).result()
    first, second = LONG + " and a red boat", LONG + " and a blue whale"
    assert len(tokenizer(first).input_ids) > 150
    (spec,) = await planner.plan(f"{first} --seed 3 --no fog")
    counts = token_counts(runner, spec)
    assert sum(counts) > 2 * WINDOW and max(counts) == WINDOW  # chunk after chunk

    conditioning = unet_spy.calls[0].encoder_hidden_states
    assert conditioning.shape[1] == 3 * WINDOW  # 150+ tokens: three windows, none dropped
    # both halves of guidance line up: the short negative prompt is padded to the same length
    assert conditioning.shape[0] == 8

    unet_spy.calls.clear()
    (other,) = await planner.plan(f"{second} --seed 3 --no fog")
    runner.submit(other, JobControl()).result()
    tail = unet_spy.conditional(0)[:, 2 * WINDOW :]
    # the words past token 150 change the conditioning: they were read, not cut
    assert not torch.allclose(tail, conditioning[-4:, 2 * WINDOW :])


async def test_chaos_on_a_long_prompt_keeps_every_chunks_start_token(
    planner: JobPlanner, runner: JobRunner, unet_spy: UNetSpy
) -> None:
    (calm,) = await planner.plan(f"{LONG} --seed 3")
    runner.submit(calm, JobControl()).result()
    clean = unet_spy.conditional(0)
    unet_spy.calls.clear()
    (wild,) = await planner.plan(f"{LONG} --seed 3 --chaos 100")
    runner.submit(wild, JobControl()).result()
    noisy = unet_spy.conditional(0)
    assert noisy.shape == clean.shape and clean.shape[1] == 2 * WINDOW
    for start in (0, WINDOW):
        assert torch.equal(noisy[:, start], clean[:, start])
    assert (noisy - clean).abs().mean() > 0.1 * clean.abs().mean()
