"""The clock: an in-process APScheduler that ticks due pulls and, given posters, digests.

Each process keeps its own in-memory job store; the database decides who posts (see
:mod:`bot.storage.claims`), so any number of clock processes can run side by side. Without
Slack credentials the clock still pulls: a CLI-only install keeps its history current.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import UTC

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager, sessionmaker

from bot.app.digests import DigestPoster, DigestRunner
from bot.core.clock import Clock
from bot.storage.models import Metric
from metrics.jobs import PullJob
from metrics.kinds import unpulled_kinds
from metrics.pulling import Puller
from metrics.scheduler import add_pull_job

log = logging.getLogger(__name__)

TICK_SECONDS = 30


def worker_id() -> str:
    """A name for this process that is unique across machines and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def tick_digests(runner: DigestRunner, clock: Clock) -> None:
    """One clock tick; errors are logged, never raised into the scheduler."""
    try:
        result = runner.tick(clock())
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
                       Metric.source_kind.not_in(unpulled_kinds()))
                .options(contains_eager(Metric.initiative)))]
        if jobs:
            puller.pull(jobs, trigger="digest")

    return refresh


def build_scheduler(sessions: sessionmaker[Session],
                    posters: Callable[[str], DigestPoster] | None, puller: Puller,
                    clock: Clock) -> BackgroundScheduler:
    """Due pulls every minute and, when there are ``posters``, digests every 30 s (the
    first tick at once)."""
    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    if posters is not None:
        runner = DigestRunner(sessions, posters, worker=worker_id(), refresh=refresher(puller))
        scheduler.add_job(tick_digests, "interval", args=[runner, clock], seconds=TICK_SECONDS,
                          id="digests", next_run_time=clock())
    add_pull_job(scheduler, puller)
    return scheduler


def run_until_stopped(scheduler: BackgroundScheduler) -> None:
    """Run ``scheduler`` until SIGTERM or SIGINT, then let the jobs in progress finish."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    scheduler.start()
    log.info("clock started: pulls when due%s",
             f", digests every {TICK_SECONDS} s" if scheduler.get_job("digests") else
             " (no Slack credentials: no digests)")
    stop.wait()
    log.info("clock stopping")
    scheduler.shutdown(wait=True)
