"""The scheduled work, as periodic tasks: due pulls and due digests.

Every minute one worker (whichever defers the period's row first: procrastinate keeps one
per period, the embedded queue one per process) runs ``pulls.due``, which defers one
``pulls.metric`` task per metric that is due; that task holds the metric's lock and pulls
only if the metric is still due when it runs, so however many workers there are and however
late a task runs, each metric's slot is read from its source once. ``digests.tick`` defers a
``digests.post`` task per digest due and not under way, each workspace's first before any
workspace's second (fairness: a thousand digests of one workspace do not hold up another's
one). ``digests.post`` posts one message of its digest and defers the rest for when the
channel's pace allows, so no thread sleeps; the claims of :mod:`bot.storage.claims` keep
each digest posted exactly once. Every hour ``tasks.prune`` removes the tasks that failed
for good more than a month ago (finished ones leave the queue as they finish). Without
Slack credentials there are no digests: a CLI-only install keeps its history current.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager, sessionmaker

from bot.app.digests import DigestPoster, DigestRunner, DueDigest, TickResult
from bot.core.clock import Clock
from bot.storage.db import transaction
from bot.storage.models import Metric
from bot.tasks.spec import (
    FAILED_KEPT_FOR,
    Deferral,
    Periodic,
    Queue,
    Registry,
    Retry,
    TaskQueue,
    TaskSpec,
)
from metrics.jobs import PullJob, due_jobs
from metrics.kinds import unpulled_kinds
from metrics.pulling import Puller

log = logging.getLogger(__name__)

MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
PULLS_DUE, PULL_METRIC = "pulls.due", "pulls.metric"
DIGESTS_TICK, DIGEST_POST = "digests.tick", "digests.post"
TASKS_PRUNE = "tasks.prune"
PACE = timedelta(seconds=1.1)  # Slack takes about one message a second per channel


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
    deferred = queue.defer_many(PULL_METRIC, [
        Deferral({"metric_id": job.metric_id}, lock=metric_lock(job.metric_id),
                 queueing_lock=metric_lock(job.metric_id)) for job, _slot in due],
        queue=Queue.PULLS)
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


def _post_args(due: DueDigest) -> dict[str, Any]:
    return {"schedule_id": due.schedule_id, "workspace": due.workspace,
            "fire_at": due.fire_at.isoformat(), "period_key": due.period_key,
            "rank": due.rank}


def tick_digests(runner: DigestRunner, queue: TaskQueue, clock: Clock) -> None:
    """Defer a ``digests.post`` for each digest due and not under way (one waiting per
    digest), ranked within its workspace; nudge the owners of unagreed drafts."""
    now = clock()
    due = runner.due(now, TickResult([], [], [], []), waiting_only=True)
    queue.defer_many(DIGEST_POST, [Deferral(_post_args(one), queueing_lock=one.run_key,
                                            priority=-one.rank) for one in due],
                     queue=Queue.DIGESTS)
    if due:
        log.info("%d digest(s) due: deferred", len(due))
    runner.nudge_unagreed(now)


def post_digest(runner: DigestRunner, queue: TaskQueue, clock: Clock, **args: Any) -> None:
    """Post the next message of one digest; defer the rest for when its channel's pace
    allows (a failed post is retried by a later tick, from its claim)."""
    due = DueDigest(int(args["schedule_id"]), str(args["workspace"]),
                    datetime.fromisoformat(args["fire_at"]), str(args["period_key"]),
                    int(args.get("rank", 0)))
    result = TickResult([], [], [], [])
    then = runner.post(due, clock(), result, pace=PACE)
    for key in result.posted:
        log.info("posted %s", key)
    if then is not None:
        queue.defer(DIGEST_POST, _post_args(due), queue=Queue.DIGESTS,
                    queueing_lock=due.run_key, priority=-due.rank, at=then)


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


def prune_tasks(queue: TaskQueue, clock: Clock) -> int:
    """Remove the tasks that failed for good more than :data:`FAILED_KEPT_FOR` ago (an
    admin had that long to retry them); how many."""
    pruned = queue.prune(clock() - FAILED_KEPT_FOR)
    if pruned:
        log.info("removed %d task(s) that failed more than %d days ago", pruned,
                 FAILED_KEPT_FOR.days)
    return pruned


def _discard(_result: object) -> None:
    """A task's function returns nothing; what it did is logged."""


def add_scheduled_tasks(registry: Registry, queue: TaskQueue, puller: Puller,
                        posters: Callable[[str], DigestPoster] | None,
                        sessions: sessionmaker[Session]) -> None:
    """Register the pulls (always) and, given ``posters``, the digests, each every minute;
    and, every hour, the pruning of old failed tasks."""
    # Ticks are not retried: the next period's tick is the retry.
    registry.add(TaskSpec(PULLS_DUE, lambda: _discard(defer_due_pulls(queue, puller)),
                          Queue.SCHEDULE, Retry(attempts=1)))
    registry.add(TaskSpec(PULL_METRIC, lambda metric_id: pull_metric(puller, metric_id),
                          Queue.PULLS, Retry(attempts=1)))
    registry.every(Periodic(PULLS_DUE, MINUTE))
    registry.add(TaskSpec(TASKS_PRUNE, lambda: _discard(prune_tasks(queue, puller.clock)),
                          Queue.SCHEDULE, Retry(attempts=1)))
    registry.every(Periodic(TASKS_PRUNE, HOUR))
    if posters is None:
        return
    runner = DigestRunner(sessions, posters, worker=worker_id(), refresh=refresher(puller))
    registry.add(TaskSpec(DIGESTS_TICK, lambda: tick_digests(runner, queue, puller.clock),
                          Queue.SCHEDULE, Retry(attempts=1)))
    registry.add(TaskSpec(DIGEST_POST,
                          lambda **args: post_digest(runner, queue, puller.clock, **args),
                          Queue.DIGESTS, Retry(attempts=1)))
    registry.every(Periodic(DIGESTS_TICK, MINUTE))
