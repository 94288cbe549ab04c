"""The embedded mode's workers: threads in this process running the queue's tasks.

Each queue gets threads of its own, so a queue of reviews never holds up a quick answer.
A thread claims a task, runs its function, and removes it, or schedules the next try
(:class:`bot.tasks.spec.Retry`). Periodic tasks are deferred once per period. Stopping
finishes the tasks that are running and takes no new one; what is left waits in the file.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta

from bot.core.settings import DEFAULT_WORKER_THREADS
from bot.tasks.local import LEASE, Claimed, LocalQueue
from bot.tasks.spec import Queue, Registry, error_text

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 1.0  # tasks deferred by another process, or due later, are seen this soon
DEFAULT_THREADS: Mapping[Queue, int] = DEFAULT_WORKER_THREADS  # OUTCOME_WORKER_THREADS


class LocalWorker:
    """Runs ``registry``'s tasks from ``queue`` on threads of this process."""

    def __init__(self, queue: LocalQueue, registry: Registry, *, name: str,
                 threads: Mapping[Queue, int] = DEFAULT_THREADS, lease: timedelta = LEASE,
                 poll: float = IDLE_POLL_SECONDS, before: Callable[[], None] = lambda: None
                 ) -> None:
        self.queue, self.registry, self.name = queue, registry, name
        self.threads, self.lease, self.poll = dict(threads), lease, poll
        self._before = before  # e.g. wait until the acks in progress are sent
        self._stopping = threading.Event()
        self._running: dict[int, Claimed] = {}
        self._running_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._last_slot: dict[str, int] = {}

    def start(self) -> None:
        for queue, count in self.threads.items():
            for index in range(count):
                self._spawn(self._work, f"outcome-{queue}-{index}", str(queue))
        self._spawn(self._keep_leases, "outcome-leases")
        if any(True for _ in self.registry.periodic):
            self._spawn(self._tick, "outcome-periodic")

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout: float | None = None) -> None:
        """Take no new task; wait (up to ``timeout`` seconds) for the running ones."""
        self._stopping.set()
        self.queue.wake_all()
        for thread in self._threads:
            thread.join(timeout)

    def idle(self) -> bool:
        """True when this worker runs nothing right now."""
        with self._running_lock:
            return not self._running

    # ------------------------------------------------------------------ the threads

    def _work(self, queue: str) -> None:
        signal = self.queue.signal(queue)
        while not self._stopping.is_set():
            seen = signal.version
            try:
                claimed = self.queue.claim(queue, self.name, self.lease)
            except Exception:  # the database is away: try again in a moment
                log.exception("could not claim a task from the %s queue", queue)
                self._stopping.wait(self.poll)
                continue
            if claimed is None:
                if not self._stopping.is_set():
                    signal.wait(seen, self.poll)
                continue
            try:
                self._run(claimed)
            except Exception:  # recording the outcome failed: its lease will run out
                log.exception("could not record how task %d ended", claimed.id)
                self._stopping.wait(self.poll)

    def _run(self, claimed: Claimed) -> None:
        with self._running_lock:
            self._running[claimed.id] = claimed
        try:
            self._call(claimed)
        finally:
            with self._running_lock:
                self._running.pop(claimed.id, None)

    def _call(self, claimed: Claimed) -> None:
        try:
            spec = self.registry.get(claimed.task)
        except LookupError as exc:
            self.queue.failed(claimed, self.name, str(exc), None)
            return
        try:
            self._before()
            spec.function(**claimed.args)
        except Exception as exc:
            wait = spec.retry.wait_after(claimed.attempts)
            log.exception("task %s (%d) failed on try %d%s", claimed.task, claimed.id,
                          claimed.attempts, "" if wait else "; no try left")
            self.queue.failed(claimed, self.name, error_text(exc), wait)
        else:
            self.queue.succeeded(claimed, self.name)

    def _keep_leases(self) -> None:
        interval = self.lease.total_seconds() / 3
        while not self._stopping.wait(interval):
            with self._running_lock:
                ids = list(self._running)
            try:
                self.queue.renew(ids, self.name, self.lease)
            except Exception:
                log.exception("could not renew the leases of running tasks")

    def _tick(self) -> None:
        while not self._stopping.is_set():
            now = self.queue.clock()
            for period in self.registry.periodic:
                slot = period.slot(now)
                if self._last_slot.get(period.task) == slot:
                    continue
                spec = self.registry.get(period.task)
                try:
                    self.queue.defer(period.task, {}, queue=spec.queue,
                                     queueing_lock=f"periodic:{period.task}")
                except Exception:
                    log.exception("could not defer the periodic task %s", period.task)
                    continue
                self._last_slot[period.task] = slot
            self._stopping.wait(self.poll)
