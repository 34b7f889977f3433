"""Defer latency: INTERACTION_CREATE written to the bot's socket -> its callback request arrives.

The bot runs as ``imagine-bot run`` in its own process against the fake Discord of
``tests/support/discord_server.py`` (real REST and gateway sockets, zlib-stream), so the figure
includes everything on the bot's side: inflating and parsing the gateway frame, discord.py's
dispatch, the command tree, our handler up to ``defer()``, and the HTTP request. It does not
include the internet. Discord gives a bot 3 seconds; the target is far below that even while
grids generate, which is when a blocked event loop would show.

Each /imagine starts a real job on the tiny model, so later interactions land while earlier
grids generate. Phases: ``cold`` sends one every ``--interval`` seconds until the first grid
arrives (the first job loads the model on the worker thread: a fresh data folder builds the
tiny model, Python-heavy work that competes with the event loop for the GIL); ``paced`` sends
``--count`` more, one every ``--interval`` seconds, each after the previous answer; ``burst``
dispatches ``--burst`` at once; then ``--clicks`` U1 presses (component interactions) on the
first grid. p50 / p99 / max per phase, in milliseconds.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import _common

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.discord_server import FakeDiscord, SentInteraction  # noqa: E402

SCRIPT = Path(sys.executable).parent / "imagine-bot"
DEADLINE = 3.0
"""Discord forgets an interaction not answered within 3 seconds."""
START_SECONDS = 300.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[rank]


def row(phase: str, sent: list[SentInteraction]) -> dict[str, Any]:
    latencies = [1000 * s.latency for s in sent if s.latency is not None]
    refused = sum(1 for s in sent if s.refused_callbacks)
    return {
        "phase": phase,
        "interactions": len(sent),
        "answered": len(latencies),
        "late (refused)": refused,
        "p50 ms": percentile(latencies, 0.5) if latencies else None,
        "p99 ms": percentile(latencies, 0.99) if latencies else None,
        "max ms": max(latencies) if latencies else None,
        "mean ms": statistics.fmean(latencies) if latencies else None,
        "samples ms": [round(value, 2) for value in latencies],
    }


def main() -> None:
    parse = _common.parser("defer_latency", __doc__.splitlines()[0] if __doc__ else "")
    parse.add_argument("--count", type=int, default=30, help="paced /imagine interactions")
    parse.add_argument("--interval", type=float, default=0.5, help="seconds between them")
    parse.add_argument("--burst", type=int, default=10, help="interactions dispatched at once")
    parse.add_argument("--clicks", type=int, default=10, help="U1 presses on the first grid")
    args = parse.parse_args()
    if args.smoke:
        args.count, args.interval, args.burst, args.clicks = 3, 0.2, 3, 2

    with tempfile.TemporaryDirectory(prefix="defer-latency-") as scratch:
        env = dict(os.environ)
        if args.smoke:
            env.update(_common.SMOKE_TINY_ENV)
        env["IMAGINE_PATHS__DATA_DIR"] = str(Path(scratch) / "data")
        with FakeDiscord(interaction_deadline=DEADLINE) as fake:
            env.update(fake.env())
            log_path = Path(scratch) / "bot.log"
            with log_path.open("wb") as log:
                bot = subprocess.Popen(
                    [str(SCRIPT), "run"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                try:
                    rows, latencies = run_phases(fake, bot, log_path, args)
                finally:
                    if bot.poll() is None:
                        os.killpg(bot.pid, signal.SIGINT)
                        try:
                            bot.wait(timeout=20)
                        except subprocess.TimeoutExpired:
                            os.killpg(bot.pid, signal.SIGKILL)
                            bot.wait(timeout=20)

    _common.report(
        "defer_latency",
        args,
        ["phase", "interactions", "answered", "late (refused)", "p50 ms", "p99 ms", "max ms"],
        rows,
        parameters={
            "count": args.count,
            "interval": args.interval,
            "burst": args.burst,
            "clicks": args.clicks,
            "deadline_s": DEADLINE,
            "transport": "zlib-stream over a loopback websocket; REST over loopback HTTP",
        },
        summary={
            "p50 ms (all)": percentile(latencies, 0.5),
            "p99 ms (all)": percentile(latencies, 0.99),
            "late (refused)": sum(r["late (refused)"] for r in rows),
        },
        notes=[
            "Latency: INTERACTION_CREATE frame written by the fake Discord -> the bot's "
            "callback request reaching the fake's handler, both on the fake's perf_counter.",
        ],
    )


def run_phases(
    fake: FakeDiscord, bot: subprocess.Popen[bytes], log_path: Path, args: Any
) -> tuple[list[dict[str, Any]], list[float]]:
    def alive() -> None:
        if bot.poll() is not None:
            tail = log_path.read_text(errors="replace")[-4000:]
            raise SystemExit(f"imagine-bot exited with {bot.returncode}:\n{tail}")

    def answered(sent: list[SentInteraction]) -> bool:
        alive()
        return all(s.callback is not None or s.refused_callbacks for s in sent)

    def ready() -> bool:
        alive()
        return any(s.ready and s.connected for s in fake.sessions.values())

    def u1_button(message: dict[str, Any]) -> dict[str, Any] | None:
        return next((b for b in fake.buttons(message) if b.get("label") == "U1"), None)

    def first_grid() -> dict[str, Any] | None:
        for message in fake.channel_messages():
            if message["attachments"] and u1_button(message) is not None:
                return message
        return None

    fake.wait_until(ready, timeout=START_SECONDS, what="the bot to connect")
    rows: list[dict[str, Any]] = []

    # Cold: from the first /imagine until its grid arrives, one more every interval. The first
    # job loads (or, in a fresh data folder, builds) the model on the worker thread.
    cold: list[SentInteraction] = []
    deadline = time.monotonic() + 600
    while first_grid() is None and len(cold) < 100:
        if time.monotonic() > deadline:
            raise SystemExit("no grid within 600 s")
        sent = fake.send_command("imagine", {"prompt": f"a cold lighthouse {len(cold)}"})
        cold.append(sent)
        fake.wait_until(partial(answered, [sent]), timeout=60, what="an answer")
        time.sleep(args.interval)
    rows.append(row("cold (until the first grid)", cold))

    paced: list[SentInteraction] = []
    for number in range(args.count):
        sent = fake.send_command("imagine", {"prompt": f"a lighthouse number {number}"})
        paced.append(sent)
        fake.wait_until(partial(answered, [sent]), timeout=60, what="an answer")
        time.sleep(args.interval)
    rows.append(row(f"paced, every {args.interval:g} s", paced))

    burst = [
        fake.send_command("imagine", {"prompt": f"a burst fox {n}"}) for n in range(args.burst)
    ]
    fake.wait_until(lambda: answered(burst), timeout=120, what="the burst's answers")
    rows.append(row(f"burst of {args.burst}", burst))

    grid = first_grid()
    button = None if grid is None else u1_button(grid)
    assert grid is not None and button is not None
    u1 = button["custom_id"]
    clicks: list[SentInteraction] = []
    for _ in range(args.clicks):
        sent = fake.press_button(grid["id"], u1)
        clicks.append(sent)
        fake.wait_until(partial(answered, [sent]), timeout=60, what="a click's answer")
        time.sleep(args.interval)
    rows.append(row("U1 clicks", clicks))

    every = [1000 * s.latency for s in cold + paced + burst + clicks if s.latency is not None]
    return rows, every


if __name__ == "__main__":
    main()
