"""The scheduled work, as periodic tasks: due pulls and due digests.

Every minute one worker (whichever defers the period's row first: procrastinate keeps one
per period, the embedded queue one per process) runs ``pulls.due``, which defers one
``pulls.metric`` task per metric that is due; that task holds the metric's lock and pulls
only if the metric is still due when it runs, so however many workers there are and however
late a task runs, each metric's slot is read from its source once. ``digests.tick`` finds
the digests due and posts each exactly once (the claims of :mod:`bot.storage.claims`).
Without Slack credentials there are no digests: a CLI-only install keeps its history current.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager, sessionmaker

from bot.app.digests import DigestPoster, DigestRunner
from bot.core.clock import Clock
from bot.storage.db import transaction
from bot.storage.models import Metric
from bot.tasks.spec import Periodic, Queue, Registry, Retry, TaskQueue, TaskSpec
from metrics.jobs import PullJob, due_jobs
from metrics.kinds import unpulled_kinds
from metrics.pulling import Puller

log = logging.getLogger(__name__)

MINUTE = timedelta(minutes=1)
PULLS_DUE, PULL_METRIC, DIGESTS_TICK = "pulls.due", "pulls.metric", "digests.tick"


def worker_id() -> str:
    """A name for this process that is unique across machines and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def metric_lock(metric_id: int) -> str:
    return f"metric:{metric_id}"


def defer_due_pulls(queue: TaskQueue, puller: Puller) -> int:
    """Defer a ``pulls.metric`` task for every metric due now (one waiting per metric);
    how many were deferred."""
    with transaction(puller.sessions) as session:
        due = due_jobs(session, puller.clock())
    deferred = 0
    for job, _slot in due:
        lock = metric_lock(job.metric_id)
        if queue.defer(PULL_METRIC, {"metric_id": job.metric_id}, queue=Queue.PULLS,
                       lock=lock, queueing_lock=lock) is not None:
            deferred += 1
    if deferred:
        log.info("%d metric(s) due: deferred their pulls", deferred)
    return deferred


def pull_metric(puller: Puller, metric_id: int) -> None:
    """Pull one metric, if it is still due (its lock is held: nobody else pulls it now)."""
    with transaction(puller.sessions) as session:
        due = due_jobs(session, puller.clock(), ids=[metric_id])
    if not due:
        return  # pulled since it was deferred, removed, or archived
    job, slot = due[0]
    for outcome in puller.pull([job], at=slot, trigger="schedule").failed:
        log.warning("pull of %s failed (%s): %s", outcome.job.name,
                    "permanent" if outcome.permanent else "transient", outcome.error)


def tick_digests(runner: DigestRunner, clock: Clock) -> None:
    """Post the digests due now; a failed one is retried by a later tick."""
    result = runner.tick(clock())
    for key in result.posted:
        log.info("posted %s", key)
    for key in result.failed:
        log.warning("digest %s failed; it will be retried", key)


def refresher(puller: Puller) -> Callable[[list[int]], None]:
    """Pull the metrics of the given initiatives now (just before their digest)."""

    def refresh(initiative_ids: list[int]) -> None:
        with puller.sessions() as session:
            jobs = [PullJob.of(metric) for metric in session.scalars(
                select(Metric).join(Metric.initiative)
                .where(Metric.initiative_id.in_(initiative_ids),
                       Metric.source_kind.not_in(unpulled_kinds()))
                .options(contains_eager(Metric.initiative)))]
        if jobs:
            puller.pull(jobs, trigger="digest")

    return refresh


def _discard(_result: object) -> None:
    """A task's function returns nothing; what it did is logged."""


def add_scheduled_tasks(registry: Registry, queue: TaskQueue, puller: Puller,
                        posters: Callable[[str], DigestPoster] | None,
                        sessions: sessionmaker[Session]) -> None:
    """Register the pulls (always) and, given ``posters``, the digests, each every minute."""
    # Ticks are not retried: the next minute's tick is the retry.
    registry.add(TaskSpec(PULLS_DUE, lambda: _discard(defer_due_pulls(queue, puller)),
                          Queue.SCHEDULE, Retry(attempts=1)))
    registry.add(TaskSpec(PULL_METRIC, lambda metric_id: pull_metric(puller, metric_id),
                          Queue.PULLS, Retry(attempts=1)))
    registry.every(Periodic(PULLS_DUE, MINUTE))
    if posters is None:
        return
    runner = DigestRunner(sessions, posters, worker=worker_id(), refresh=refresher(puller))
    registry.add(TaskSpec(DIGESTS_TICK, lambda: tick_digests(runner, puller.clock),
                          Queue.SCHEDULE, Retry(attempts=1)))
    registry.every(Periodic(DIGESTS_TICK, MINUTE))
