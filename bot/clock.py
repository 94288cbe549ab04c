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

from bot.digests import DigestRunner

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


def build_scheduler(runner: DigestRunner, *,
                    extra_jobs: tuple[tuple[Callable[[], None], int], ...] = ()
                    ) -> BackgroundScheduler:
    """A scheduler that ticks ``runner`` now and every 30 s, plus ``(job, seconds)`` pairs."""
    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    scheduler.add_job(tick_digests, "interval", args=[runner], seconds=TICK_SECONDS,
                      id="digests", next_run_time=datetime.now(UTC))
    for job, seconds in extra_jobs:
        scheduler.add_job(job, "interval", seconds=seconds, id=getattr(job, "__name__", None))
    return scheduler
