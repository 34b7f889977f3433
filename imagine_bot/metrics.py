"""The bot's Prometheus metrics, in a registry of its own (not prometheus-client's global one),
so two apps in one process (tests, a restarted client) never share or collide on series.

Events of the job service feed the counters and histograms as they happen; the job and worker
gauges are read fresh at every scrape (``refresh``), from the database and the workers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from imagine_bot.engine.health import WorkerHealth
from imagine_bot.engine.jobs.records import FailedEvent, JobEvent, StartedEvent, SucceededEvent
from imagine_bot.engine.spec import JobState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
JOB_BUCKETS = (0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800)
WAIT_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 900, 1800, 3600)
DEFER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 5)
"""Discord's limit is 3 s."""


class BotMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.jobs = Gauge(
            "imagine_jobs",
            "Jobs in the database by state and lane",
            ["state", "lane"],
            registry=registry,
        )
        self.queue_length = Gauge(
            "imagine_queue_length", "Jobs waiting for a GPU worker", registry=registry
        )
        self.queue_wait = Histogram(
            "imagine_queue_wait_seconds",
            "Time from submission to start",
            ["lane"],
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self.gpu_seconds = Counter(
            "imagine_gpu_seconds",
            "GPU time of succeeded jobs, measured on the worker",
            ["model"],
            registry=registry,
        )
        self.job_duration = Histogram(
            "imagine_job_duration_seconds",
            "Time from start to success",
            ["model", "action"],
            buckets=JOB_BUCKETS,
            registry=registry,
        )
        self.failures = Counter(
            "imagine_job_failures", "Failed jobs by cause", ["cause"], registry=registry
        )
        self.defer_latency = Histogram(
            "imagine_interaction_defer_seconds",
            "Time from a Discord interaction's creation to the bot's first answer",
            buckets=DEFER_BUCKETS,
            registry=registry,
        )
        self.workers = Gauge("imagine_workers", "GPU workers", registry=registry)
        self.workers_ready = Gauge(
            "imagine_workers_ready",
            "GPU workers alive with the default model loaded",
            registry=registry,
        )
        self.discord_connected = Gauge(
            "imagine_discord_connected",
            "1 while the bot is connected to Discord's gateway, else 0",
            registry=registry,
        )

    def on_event(self, event: JobEvent) -> None:
        """The job service's listener."""
        job = event.job
        if isinstance(event, StartedEvent) and job.started_at is not None:
            self.queue_wait.labels(job.lane).observe(_seconds(job.created_at, job.started_at))
        elif isinstance(event, SucceededEvent):
            self.gpu_seconds.labels(job.spec.model).inc(job.gpu_seconds or 0.0)
            if job.started_at is not None and job.finished_at is not None:
                self.job_duration.labels(job.spec.model, job.action).observe(
                    _seconds(job.started_at, job.finished_at)
                )
        elif isinstance(event, FailedEvent):
            self.failures.labels(event.cause).inc()

    def deferred(self, created_at: datetime, answered_at: datetime) -> None:
        self.defer_latency.observe(_seconds(created_at, answered_at))

    def refresh(
        self, counts: Mapping[tuple[str, str], int], workers: Iterable[WorkerHealth]
    ) -> None:
        """Set the gauges from the database's job counts and the workers' health."""
        self.jobs.clear()
        for (state, lane), count in counts.items():
            self.jobs.labels(state, lane).set(count)
        queued = sum(count for (state, _), count in counts.items() if state == JobState.QUEUED)
        self.queue_length.set(queued)
        workers = list(workers)
        self.workers.set(len(workers))
        self.workers_ready.set(sum(worker.problem is None for worker in workers))

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())
