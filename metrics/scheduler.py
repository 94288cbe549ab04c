"""Scheduled pulls: one APScheduler job per process that pulls whatever is due.

Every metric has its own interval (``every`` in its source config, hourly by default);
rather than one job per metric, which each process would have to keep in step with edits
made elsewhere, a single tick asks the database what is due (:func:`metrics.pulling.due_jobs`).
Job stores stay in memory, one per process (see RUNTIME_NOTES); two processes ticking at
once pull the same slot time, and samples are idempotent per (metric, segment, time).
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.base import BaseScheduler

from metrics.pulling import Puller

log = logging.getLogger(__name__)

TICK_SECONDS = 60


def pull_tick(puller: Puller) -> None:
    """One tick; errors are logged, never raised into the scheduler."""
    try:
        report = puller.pull_due()
    except Exception:
        log.exception("pull tick failed")
        return
    if report.outcomes:
        log.info("pulled %d metric(s), %d new value(s), %d failed", len(report.outcomes),
                 report.stored, len(report.failed))
    for outcome in report.failed:
        log.warning("pull of %s failed (%s): %s", outcome.job.name,
                    "permanent" if outcome.permanent else "transient", outcome.error)


def add_pull_job(scheduler: BaseScheduler, puller: Puller,
                 seconds: int = TICK_SECONDS) -> None:
    """Tick ``puller`` every ``seconds``; a tick still running is not started twice, and
    ticks missed while the process was down collapse into one."""
    scheduler.add_job(pull_tick, "interval", args=[puller], seconds=seconds, id="pulls",
                      coalesce=True, max_instances=1, misfire_grace_time=seconds * 5,
                      replace_existing=True)
