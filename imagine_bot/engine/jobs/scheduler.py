"""Which waiting job runs next: lanes by priority, round-robin between members inside a lane.

``turbo`` before ``fast`` before ``relax``: a relax job starts only when no turbo or fast job
waits. Inside a lane the member served least recently goes first (members never served go in
the order they queued), and each member's own jobs run in the order they were queued. So one
member's 40 permutations take turns with everyone else's jobs instead of blocking them.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from imagine_bot.engine.spec import Lane


@dataclass(frozen=True)
class QueueEntry:
    job_id: str
    owner_id: int
    lane: str
    seq: int
    """Submission order."""


class FairScheduler:
    """Round-robin state (who was served when), kept in memory: after a restart members take
    turns from scratch, in the order of their oldest waiting job."""

    def __init__(self, max_running_per_user: int) -> None:
        self.max_running_per_user = max_running_per_user
        self._turn = 0
        self._last_served: dict[int, int] = {}
        self._lock = threading.Lock()  # served() runs on a database thread, order() anywhere

    def order(self, waiting: Iterable[QueueEntry]) -> list[QueueEntry]:
        """The order the waiting jobs will start in if nothing else is queued meanwhile."""
        by_lane: dict[str, dict[int, deque[QueueEntry]]] = defaultdict(lambda: defaultdict(deque))
        for entry in sorted(waiting, key=lambda entry: entry.seq):
            by_lane[entry.lane][entry.owner_id].append(entry)
        unknown = sorted(set(by_lane) - set(Lane))
        with self._lock:
            last_served = dict(self._last_served)
            turn = itertools.count(self._turn + 1)
        ordered: list[QueueEntry] = []
        for lane in (*Lane, *unknown):
            queues = by_lane.get(lane, {})
            heap = [
                (last_served.get(owner, -1), jobs[0].seq, owner) for owner, jobs in queues.items()
            ]
            heapq.heapify(heap)
            while heap:
                _, _, owner = heapq.heappop(heap)
                jobs = queues[owner]
                ordered.append(jobs.popleft())
                last_served[owner] = next(turn)
                if jobs:
                    heapq.heappush(heap, (last_served[owner], jobs[0].seq, owner))
        return ordered

    def choose(
        self, waiting: Iterable[QueueEntry], running: Mapping[int, int]
    ) -> QueueEntry | None:
        """The job to start now, skipping members who already run their maximum."""
        allowed = [
            entry for entry in waiting if running.get(entry.owner_id, 0) < self.max_running_per_user
        ]
        ordered = self.order(allowed)
        return ordered[0] if ordered else None

    def served(self, owner_id: int) -> None:
        """Record that one of ``owner_id``'s jobs just started."""
        with self._lock:
            self._turn += 1
            self._last_served[owner_id] = self._turn
