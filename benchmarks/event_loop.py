"""Event loop: how late the asyncio loop wakes up while the engine is saturated.

A probe coroutine sleeps ``--interval`` over and over and records how late each wake-up is.
First with the engine idle (the baseline), then while ``--jobs`` grids are planned on the loop
(parse, transform, validate) and queued on the GPU worker, with every step's progress sent
back to the loop through ``call_soon_threadsafe`` as the bot does. Target: worst lag <= 50 ms.

The other half of the event-loop benchmark, the time from a slash interaction arriving to its
defer being sent, needs the Discord surface and is measured there.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import _common

TARGET_MS = 50.0
PROMPT = "a lighthouse at dusk, oil painting"


async def probe(interval: float, stop: asyncio.Event, lags: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(interval)
        lags.append(time.perf_counter() - started - interval)


async def measure(args: Any) -> None:
    from imagine_bot.engine.control import JobControl

    settings, planner, runner = _common.planner_and_runner(args)
    loop = asyncio.get_running_loop()
    jobs = 2 if args.smoke else args.jobs
    idle_seconds = 0.5 if args.smoke else 2.0
    progress: list[int] = []

    def report(done: int, total: int) -> None:
        loop.call_soon_threadsafe(progress.append, done)

    try:
        await asyncio.wrap_future(runner.call(runner.models.warm_up, settings.default_model))

        idle: list[float] = []
        stop = asyncio.Event()
        task = asyncio.create_task(probe(args.interval, stop, idle))
        await asyncio.sleep(idle_seconds)
        stop.set()
        await task

        busy: list[float] = []
        stop = asyncio.Event()
        task = asyncio.create_task(probe(args.interval, stop, busy))
        started = time.perf_counter()
        futures = []
        for number in range(jobs):
            (spec,) = await planner.plan(f"{PROMPT} --seed {number}")
            control = JobControl(report)
            futures.append(asyncio.wrap_future(runner.submit(spec, control)))
        await asyncio.gather(*futures)
        busy_seconds = time.perf_counter() - started
        stop.set()
        await task
    finally:
        runner.close()

    rows = [_lag_row("idle engine", idle), _lag_row(f"{jobs} jobs queued", busy)]
    _common.report(
        "event_loop",
        args,
        ["engine", "wake-ups", "p50 lag ms", "p99 lag ms", "worst lag ms"],
        rows,
        parameters={
            "jobs": jobs,
            "interval_ms": 1000 * args.interval,
            "model": settings.default_model,
            "size": f"{spec.width}x{spec.height}",
            "steps": spec.steps,
        },
        summary={
            "worst lag while saturated ms": rows[1]["worst lag ms"],
            "target": f"<= {TARGET_MS} ms",
            "jobs took s": busy_seconds,
            "progress events delivered": len(progress),
        },
    )


def _lag_row(label: str, lags: list[float]) -> dict[str, Any]:
    ordered = sorted(1000 * lag for lag in lags)
    return {
        "engine": label,
        "wake-ups": len(ordered),
        "p50 lag ms": _common.median(ordered),
        "p99 lag ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "worst lag ms": ordered[-1],
    }


def add_interval_argument(parse: argparse.ArgumentParser) -> None:
    """The probe's ``--interval``."""
    parse.add_argument(
        "--interval", type=float, default=0.005, help="probe sleep, seconds (default 0.005)"
    )


def main() -> None:
    parse = _common.parser("event_loop", __doc__.splitlines()[0])
    parse.add_argument("--jobs", type=int, default=6, help="grids queued at once (default 6)")
    add_interval_argument(parse)
    asyncio.run(measure(parse.parse_args()))


if __name__ == "__main__":
    main()
