"""Reserve + commit throughput of the job store on one SQLite file, with concurrent writers.

Each writer is a process (as several bot or CLI processes would be) that runs whole job
book-keeping cycles as fast as it can: submit (caps, quota estimate and reservation, job row),
start, and finish with a charge (release the hold, charge the measured cost, record images).
That is three write transactions per job, each holding SQLite's write lock from its first
statement. The table gives jobs per second for all writers together and the latency of one
cycle; "x 1 writer" compares throughput with one writer in the same run.

    python benchmarks/quota_throughput.py [--writers 1 2 4 8] [--jobs 200] [--threads]
                                          [--smoke] [--out PATH]

``--threads`` makes the writers threads of one process, as the bot's own database threads are.

Prints a Markdown table and writes JSON to benchmarks/results/quota_throughput.json (or
``--out``). ``--smoke`` is a few jobs with one and two writers, for CI; its timings mean
nothing and go to quota_throughput.smoke.json.
"""

from __future__ import annotations

import argparse
import multiprocessing
import queue
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import _common

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.support (and spawned writers inherit it)
NAME = "quota_throughput"
MEMBERS_PER_WRITER = 10
COLUMNS = ("writers", "jobs", "seconds", "jobs/s", "p50 ms", "p99 ms", "max ms", "x 1 writer")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    writers: list[int] = [1, 2] if args.smoke else args.writers
    jobs: int = 5 if args.smoke else args.jobs
    rows = []
    with tempfile.TemporaryDirectory(prefix="quota-bench-") as scratch:
        for count in writers:
            path = Path(scratch) / f"writers-{count}.db"
            rows.append(measure(path, count, jobs, threads=args.threads))
    single = next((row for row in rows if row["writers"] == 1), None)
    for row in rows:
        row["x 1 writer"] = row["jobs/s"] / single["jobs/s"] if single else None
    mode = "threads" if args.threads else "processes"
    parameters = {"writers": writers, "jobs_per_writer": jobs, "mode": mode}
    _common.report(NAME, args, COLUMNS, rows, parameters=parameters)
    return 0


def _parser() -> argparse.ArgumentParser:
    parse = _common.parser(NAME, __doc__ or "")
    parse.add_argument(
        "--writers", type=int, nargs="+", default=[1, 2, 4, 8], help="writer process counts"
    )
    parse.add_argument("--jobs", type=int, default=200, help="jobs per writer")
    parse.add_argument("--threads", action="store_true", help="writers are threads of one process")
    return parse


def measure(path: Path, writers: int, jobs: int, *, threads: bool) -> dict[str, Any]:
    """Run ``writers`` processes (or threads) of ``jobs`` cycles each on a fresh database."""
    from imagine_bot.engine.jobs.storage import Database, upgrade

    database = Database(f"sqlite:///{path}")
    upgrade(database)
    database.dispose()
    run = _in_threads if threads else _in_processes
    outcomes = run(path, writers, jobs)
    started = min(outcome["started"] for outcome in outcomes)
    ended = max(outcome["ended"] for outcome in outcomes)
    latencies = sorted(value for outcome in outcomes for value in outcome["latencies"])
    total = len(latencies)
    return {
        "writers": writers,
        "jobs": total,
        "seconds": ended - started,
        "jobs/s": total / (ended - started),
        "p50 ms": 1000 * statistics.median(latencies),
        "p99 ms": 1000 * percentile(latencies, 0.99),
        "max ms": 1000 * latencies[-1],
    }


def _in_processes(path: Path, writers: int, jobs: int) -> list[dict[str, Any]]:
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(writers + 1)
    results: Any = context.Queue()
    processes = [
        context.Process(target=writer, args=(path, index, jobs, ready, results))
        for index in range(writers)
    ]
    for process in processes:
        process.start()
    ready.wait()  # every writer has imported everything and opened the database
    outcomes = [results.get() for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode:
            raise SystemExit(f"a writer failed with exit code {process.exitcode}")
    return outcomes


def _in_threads(path: Path, writers: int, jobs: int) -> list[dict[str, Any]]:
    """Writers sharing one store, as the bot's database threads share the service's."""
    ready = threading.Barrier(writers + 1)
    results: queue.Queue[dict[str, Any]] = queue.Queue()
    store = open_store(path)
    workers = [
        threading.Thread(target=writer, args=(path, index, jobs, ready, results, store))
        for index in range(writers)
    ]
    for worker in workers:
        worker.start()
    ready.wait()
    for worker in workers:
        worker.join()
    return [results.get() for _ in workers]


def open_store(path: Path) -> Any:
    from imagine_bot.config import load_settings
    from imagine_bot.engine.images.store import ImageStore
    from imagine_bot.engine.jobs.storage import Database
    from imagine_bot.engine.jobs.store import JobStore

    settings = load_settings(
        env={
            "IMAGINE_QUOTA__TIERS__EVERYONE__BUDGET": "1e9",
            "IMAGINE_QUOTA__DEFAULT_ESTIMATE": "10",
        }
    )
    return JobStore(settings, Database(f"sqlite:///{path}"), ImageStore(path.parent / "images"))


def writer(path: Path, index: int, jobs: int, ready: Any, results: Any, store: Any = None) -> None:
    from imagine_bot.engine.images.store import StoredImage
    from imagine_bot.engine.jobs.records import Requester
    from imagine_bot.engine.spec import GenerationSpec, PromptPart
    from tests.support.jobkit import start_job

    store = store or open_store(path)
    image = StoredImage("0" * 64, path.parent / "0.png", 1, 1, 1)
    latencies = []
    ready.wait()
    started = time.monotonic()
    for number in range(jobs):
        member = Requester(index * MEMBERS_PER_WRITER + number % MEMBERS_PER_WRITER + 1)
        seed = index * jobs + number
        spec = GenerationSpec(
            prompt=f"bench {seed}",
            parts=(PromptPart(text=f"bench {seed}"),),
            negative_prompt="",
            model="tiny",
            width=512,
            height=512,
            steps=20 + number % 3,
            guidance=5.0,
            scheduler="euler_a",
            seeds=(seed, seed + 1, seed + 2, seed + 3),
            lane="fast",
        )
        began = time.monotonic()
        (job,), _ = store.submit(member, [spec])
        start_job(store, job.id)
        store.finish_success(job.id, 3.0 + number % 7 / 10, [image] * 4, image)
        latencies.append(time.monotonic() - began)
    results.put({"started": started, "ended": time.monotonic(), "latencies": latencies})


def percentile(ordered: list[float], fraction: float) -> float:
    """The nearest-rank percentile of sorted values."""
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


if __name__ == "__main__":
    sys.exit(main())
