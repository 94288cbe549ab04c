"""Pulling metric values from their sources: concurrently, bounded, retried, recorded.

A :class:`Puller` reads many metrics at once on a bounded thread pool. Each source call is
limited by its own timeout (``timeout`` in its config), transient errors are retried with
exponential backoff and jitter, permanent ones (bad query, 404, refused credentials) are
not, and a hard per-metric deadline bounds even a source that ignores its timeout. One
hanging or failing source therefore costs one worker for a bounded time and nothing else.

Results are written by the calling thread, in batches, while the workers keep reading:
samples through the idempotent :func:`store_readings` (origin ``pull``), and one
:class:`PullAttempt` row per metric and pull, ok or with the (secret-free) error.

Threads rather than asyncio: sources are plain synchronous classes (SQLAlchemy engines,
``httpx.Client``, plugins), and ``bench/pull.py`` shows the pool within the latency bound.
"""

from __future__ import annotations

import logging
import queue
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.clock import Clock
from bot.core.errors import SourceError
from bot.core.kinds import Origin
from bot.core.points import Reading
from bot.storage.db import transaction
from bot.storage.models import Metric, PullAttempt
from bot.storage.samples import store_readings, store_series
from metrics.attempts import safe_error
from metrics.jobs import DEFAULT_EVERY, PullJob, due_jobs
from metrics.kinds import get_source
from metrics.registry import HistorySource
from metrics.resources import Resources
from metrics.secrets import Redactor

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class PullPolicy:
    """How pulls run. ``retries`` are extra tries after a transient error; ``deadline``
    bounds one metric's pull, retries included, in seconds."""

    concurrency: int = 16
    retries: int = 2
    backoff: float = 0.5
    deadline: float = 90.0
    batch_size: int = 200


@dataclass(frozen=True)
class PullOutcome:
    job: PullJob
    started_at: datetime
    duration_ms: int
    readings: tuple[Reading, ...] = ()
    error: str = ""
    permanent: bool = False
    tries: int = 1
    stored: int = 0

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class PullReport:
    outcomes: list[PullOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[PullOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def stored(self) -> int:
        return sum(o.stored for o in self.outcomes)

    def text(self) -> str:
        if not self.outcomes:
            return "Nothing to pull: no metric here has a pulled source (manual and push " \
                   "metrics take values as they come)."
        ok = len(self.outcomes) - len(self.failed)
        lines = [f"Pulled {ok} of {len(self.outcomes)} metric(s); {self.stored} new value(s)."]
        for outcome in self.failed:
            kind = "permanent, fix the source" if outcome.permanent else "will retry"
            lines.append(f"• {outcome.job.name}: {outcome.error} ({kind})")
        return "\n".join(lines)


class Puller:
    """Pulls metrics on a bounded pool; construct once per process and reuse."""

    def __init__(self, sessions: sessionmaker[Session], resources: Resources,
                 policy: PullPolicy | None = None, *,
                 clock: Clock,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.sessions = sessions
        self.resources = resources
        self.policy = policy or PullPolicy()
        self.clock = clock
        self.sleep = sleep

    # ------------------------------------------------------------------ reading one metric

    def attempt(self, job: PullJob, at: datetime) -> PullOutcome:
        """Read one metric, retrying transient errors; never raises."""
        started = self.clock()
        began = time.monotonic()
        redactor = Redactor()
        tries = 0
        while True:
            tries += 1
            try:
                source = get_source(job.kind, job.config, self.resources,
                                    workspace=job.workspace, redactor=redactor,
                                    metric=job.name)
                readings = tuple(source.read(at))
                return PullOutcome(job, started, _ms(began), readings, tries=tries)
            except SourceError as exc:
                error, permanent = safe_error(exc.message, redactor), exc.permanent
            except Exception as exc:
                # A bug in a source (or a plugin): recorded like an outage, logged without
                # the traceback's locals, which may hold resolved secrets.
                error, permanent = f"unexpected {type(exc).__name__} in the source", False
                log.warning("pull of %s failed: %s", job.name, redactor(repr(exc)[:300]))
            remaining = self.policy.deadline - (time.monotonic() - began)
            delay = self.policy.backoff * 2 ** (tries - 1) * (1 + random.random() / 2)
            if permanent or tries > self.policy.retries or delay >= remaining:
                return PullOutcome(job, started, _ms(began), error=error[:MAX_ERROR_LENGTH],
                                   permanent=permanent, tries=tries)
            self.sleep(delay)

    # ------------------------------------------------------------------ many metrics

    def pull(self, jobs: Sequence[PullJob], *, at: datetime | None = None,
             trigger: str = "now") -> PullReport:
        """Pull ``jobs`` concurrently as of ``at`` (default: now) and record every attempt."""
        at = (at or self.clock()).replace(microsecond=0)
        report = PullReport()
        results: queue.SimpleQueue[tuple[int, PullOutcome]] = queue.SimpleQueue()
        running: dict[int, float] = {}  # job index -> when a worker took it up

        def run(index: int, job: PullJob) -> None:
            running[index] = time.monotonic()
            results.put((index, self.attempt(job, at)))

        executor = ThreadPoolExecutor(max_workers=self.policy.concurrency,
                                      thread_name_prefix="pull")
        try:
            for index, job in enumerate(jobs):
                executor.submit(run, index, job)
            remaining, finished = set(range(len(jobs))), []
            flushed = time.monotonic()
            while remaining:
                try:
                    index, outcome = results.get(timeout=0.25)
                except queue.Empty:
                    index, outcome = -1, None
                if outcome is not None and index in remaining:
                    remaining.discard(index)
                    running.pop(index, None)
                    finished.append(outcome)
                for late in self._overdue(running):
                    remaining.discard(late)
                    began = running.pop(late)
                    finished.append(PullOutcome(
                        jobs[late], self.clock(), _ms(began),
                        error=f"the source did not finish within {self.policy.deadline:g} s",
                        permanent=False))
                # Write while the workers keep reading: a batch at a time, at least twice
                # a second, so a long pull shows progress and a crash loses little.
                if len(finished) >= self.policy.batch_size or (
                        finished and time.monotonic() - flushed >= 0.5):
                    report.outcomes += self._write(finished, trigger)
                    finished, flushed = [], time.monotonic()
            report.outcomes += self._write(finished, trigger)
        finally:
            # A thread stuck past its deadline is abandoned, never waited for.
            executor.shutdown(wait=False, cancel_futures=True)
        return report

    def _overdue(self, running: dict[int, float]) -> list[int]:
        limit = time.monotonic() - self.policy.deadline - 1
        return [index for index, began in list(running.items()) if began < limit]

    def _write(self, outcomes: list[PullOutcome], trigger: str) -> list[PullOutcome]:
        """Store a batch's samples and attempts in one transaction, a few statements in all
        (one per metric would hold the GIL long enough to slow every worker down)."""
        if not outcomes:
            return []
        with transaction(self.sessions) as session:
            existing = set(session.scalars(select(Metric.id).where(
                Metric.id.in_([o.job.metric_id for o in outcomes]))))
            # A metric deleted while it was being pulled keeps nothing.
            kept = [o for o in outcomes if o.job.metric_id in existing]
            stored = store_series(session, [(o.job.metric_id, o.readings) for o in kept],
                                origin=Origin.PULL.value, recorded_by=trigger)
            written = [replace(o, stored=stored.get(o.job.metric_id, 0)) for o in kept]
            if written:
                session.execute(insert(PullAttempt), [
                    {"metric_id": o.job.metric_id, "started_at": o.started_at,
                     "duration_ms": o.duration_ms, "ok": o.ok, "error": o.error,
                     "permanent": o.permanent, "samples_stored": o.stored, "tries": o.tries,
                     "trigger": trigger}
                    for o in written])
        return written

    # ------------------------------------------------------------------ schedule and backfill

    def pull_due(self, now: datetime | None = None) -> PullReport:
        """Pull every metric whose interval slot has no attempt yet (or only a transient
        failure more than five minutes old), each as of its slot's start."""
        now = now or self.clock()
        with transaction(self.sessions) as session:
            due = due_jobs(session, now)
        report = PullReport()
        by_slot: dict[datetime, list[PullJob]] = {}
        for job, slot in due:
            by_slot.setdefault(slot, []).append(job)
        for slot, jobs in sorted(by_slot.items()):
            report.outcomes += self.pull(jobs, at=slot, trigger="schedule").outcomes
        return report

    def backfill(self, job: PullJob, since: datetime, until: datetime | None = None, *,
                 step: timedelta = DEFAULT_EVERY, chunk: timedelta = timedelta(days=7),
                 progress: Callable[[int, int, int], None] | None = None) -> PullOutcome:
        """Read a metric's history from ``since`` in chunks, storing each as it arrives.

        ``progress(done_chunks, total_chunks, stored)`` is called after each chunk.
        """
        until = until or self.clock()
        started, began = self.clock(), time.monotonic()
        redactor = Redactor()
        chunks = _chunks(since, until, chunk)
        stored = 0
        error, permanent = "", False
        try:
            source = get_source(job.kind, job.config, self.resources,
                                workspace=job.workspace, redactor=redactor, metric=job.name)
            if not isinstance(source, HistorySource):
                raise SourceError(f"The {job.kind} source keeps no history to backfill; "
                                  "prometheus (and csv with a time_column) do.",
                                  permanent=True)
            if progress:
                progress(0, len(chunks), 0)
            for index, (start, end) in enumerate(chunks, start=1):
                readings = source.history(start, end, step)
                if readings:
                    with transaction(self.sessions) as session:
                        stored += store_readings(session, job.metric_id, readings,
                                                 origin=Origin.BACKFILL.value,
                                                 recorded_by="backfill")
                if progress:
                    progress(index, len(chunks), stored)
        except SourceError as exc:
            error = safe_error(exc.message, redactor)[:MAX_ERROR_LENGTH]
            permanent = exc.permanent
        except Exception as exc:
            # As in attempt(): a source's bug is recorded, never raised with its secrets.
            error = f"unexpected {type(exc).__name__} in the source"
            log.warning("backfill of %s failed: %s", job.name, redactor(repr(exc)[:300]))
        outcome = PullOutcome(job, started, _ms(began), error=error, permanent=permanent,
                              stored=stored)
        with transaction(self.sessions) as session:
            session.add(PullAttempt(
                metric_id=job.metric_id, started_at=started, duration_ms=outcome.duration_ms,
                ok=outcome.ok, error=error, permanent=permanent, samples_stored=stored,
                tries=1, trigger="backfill"))
        return outcome

    def value_at(self, job: PullJob, at: datetime) -> float:
        """The metric's total as of a past moment (for a baseline "as of" a date)."""
        outcome = self.attempt(job, at)
        if not outcome.ok:
            raise SourceError(outcome.error, permanent=outcome.permanent)
        totals = [r.value for r in outcome.readings if r.segment == ""]
        if not totals:
            raise SourceError(f"{job.name} had no value at {at:%Y-%m-%d %H:%M} UTC.")
        return totals[0]


def _ms(began: float) -> int:
    return int((time.monotonic() - began) * 1000)


def _chunks(since: datetime, until: datetime, size: timedelta
            ) -> list[tuple[datetime, datetime]]:
    """Consecutive windows sharing their boundary moments: a point on a boundary is read
    twice and stored once, and no point between windows is skipped."""
    chunks = []
    start = since
    while start < until:
        end = min(start + size, until)
        chunks.append((start, end))
        start = end
    return chunks


