"""The clock: an in-process APScheduler that ticks the digest runner (and other jobs).

Each process keeps its own in-memory job store; the database decides who posts (see
:mod:`bot.claims`), so any number of clock processes can run side by side.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager, sessionmaker

from bot.digests import DigestPoster, DigestRunner
from bot.models import Metric
from metrics.pulling import NOT_PULLED, Puller, PullJob
from metrics.scheduler import add_pull_job

log = logging.getLogger(__name__)

TICK_SECONDS = 30


def worker_id() -> str:
    """A name for this process that is unique across machines and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def tick_digests(runner: DigestRunner) -> None:
    """One clock tick; errors are logged, never raised into the scheduler."""
    try:
        result = runner.tick(datetime.now(UTC))
    except Exception:
        log.exception("digest tick failed")
        return
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
                       Metric.source_kind.not_in(NOT_PULLED))
                .options(contains_eager(Metric.initiative)))]
        if jobs:
            puller.pull(jobs, trigger="digest")

    return refresh


def build_scheduler(sessions: sessionmaker[Session], posters: Callable[[str], DigestPoster],
                    puller: Puller) -> BackgroundScheduler:
    """Digests ticked every 30 s (first tick now) and due pulls every minute."""
    runner = DigestRunner(sessions, posters, worker=worker_id(), refresh=refresher(puller))
    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    scheduler.add_job(tick_digests, "interval", args=[runner], seconds=TICK_SECONDS,
                      id="digests", next_run_time=datetime.now(UTC))
    add_pull_job(scheduler, puller)
    return scheduler
