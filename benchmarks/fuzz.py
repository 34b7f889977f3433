"""Fuzz: hostile prompts through planning, as the bot plans them on its event loop.

Generated prompts (``tests/support/prompts.py``: floods, macros, nested braces, huge weights,
odd dashes, lone surrogates, every flag with wrong values) are planned one after another on the
event loop while a probe coroutine measures how late the loop wakes up. Prints how many were
planned, refused with a ``UserError`` and failed otherwise (goal: 0), the slowest plan (goal:
under 50 ms) and the worst event-loop stall.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import _common
from event_loop import add_interval_argument, probe

# The generator is shared with the hypothesis test; the repository root holds ``tests``.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.prompts import hostile_prompt

GOAL_MS = 50.0


async def measure(args: Any) -> None:
    from imagine_bot.engine.errors import UserError
    from imagine_bot.plugins.manager import build_plugin_manager
    from imagine_bot.plugins.planner import JobPlanner

    settings = _common.settings(args)
    planner = JobPlanner(settings, build_plugin_manager(settings))
    rng = random.Random(args.seed)
    count = 200 if args.smoke else args.prompts
    outcomes = {"planned": 0, "user error": 0, "unexpected": 0}
    slowest = (0.0, "")
    unexpected: list[str] = []
    lags: list[float] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(probe(args.interval, stop, lags))
    for _ in range(count):
        prompt = hostile_prompt(rng)
        started = time.perf_counter()
        try:
            await planner.plan(prompt.text, macros=prompt.macros, preferences=prompt.preferences)
            outcomes["planned"] += 1
        except UserError:
            outcomes["user error"] += 1
        except Exception:
            outcomes["unexpected"] += 1
            unexpected.append(f"{prompt.text[:120]!r}: {traceback.format_exc(limit=2)}")
        took = time.perf_counter() - started
        if took > slowest[0]:
            slowest = (took, prompt.text)
        await asyncio.sleep(0)  # the bot plans one interaction at a time between others
    stop.set()
    await watcher

    rows = [{"outcome": name, "prompts": number} for name, number in outcomes.items()]
    _common.report(
        "fuzz",
        args,
        ["outcome", "prompts"],
        rows,
        parameters={"prompts": count, "seed": args.seed, "interval_ms": 1000 * args.interval},
        summary={
            "slowest plan ms": 1000 * slowest[0],
            "slowest prompt (start)": repr(slowest[1][:60]),
            "slowest prompt length": len(slowest[1]),
            "worst event-loop stall ms": 1000 * max(lags, default=0.0),
            "goal": f"0 unexpected, slowest plan < {GOAL_MS:g} ms",
        },
        notes=unexpected[:5],
    )


def main() -> None:
    parse = _common.parser("fuzz", __doc__.splitlines()[0])
    parse.add_argument("--prompts", type=int, default=20_000, help="prompts (default 20000)")
    parse.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    add_interval_argument(parse)
    asyncio.run(measure(parse.parse_args()))


if __name__ == "__main__":
    main()
