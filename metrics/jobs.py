"""What to pull: the metrics with a pulled source, and which of them are due when.

Every metric has its own interval (``every`` in its source config, hourly by default);
scheduled pulls observe at the start of each interval's slot, so two processes pulling the
same slot store the same (idempotent) samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from bot.core.kinds import InitiativeStatus
from bot.core.values import parse_duration
from bot.storage.models import Initiative, Metric
from metrics.attempts import latest_attempts
from metrics.kinds import unpulled_kinds

DEFAULT_EVERY = timedelta(hours=1)
MIN_EVERY = timedelta(minutes=1)
TRANSIENT_RETRY_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class PullJob:
    """One metric to pull, detached from the session."""

    metric_id: int
    name: str  # <initiative>.<metric>, for messages
    kind: str
    config: dict[str, Any]
    workspace: str  # the initiative's: only connections serving it may be used

    @classmethod
    def of(cls, metric: Metric) -> PullJob:
        return cls(metric.id, f"{metric.initiative.key}.{metric.key}", metric.source_kind,
                   dict(metric.source_config or {}), metric.initiative.workspace)


def pull_every(config: dict[str, Any]) -> timedelta:
    """A metric's pull interval: ``every`` in its source config (e.g. "15m"), else hourly."""
    raw = config.get("every")
    if raw in (None, ""):
        return DEFAULT_EVERY
    try:
        every = parse_duration(str(raw))
    except ValueError:
        return DEFAULT_EVERY
    return max(every, MIN_EVERY)


def slot_start(now: datetime, every: timedelta) -> datetime:
    """The start of the interval ``now`` falls in: scheduled pulls observe at slot times, so
    two processes pulling the same slot store the same (idempotent) samples."""
    seconds = int(every.total_seconds())
    stamp = int(now.timestamp())
    return datetime.fromtimestamp(stamp - stamp % seconds, UTC)


def pulled_metrics(session: Session, workspace: str | None = None, *,
                   initiative: str | None = None, metric: str | None = None,
                   ids: list[int] | None = None) -> list[Metric]:
    """Metrics with a pulled source, in active initiatives, optionally narrowed."""
    query = (select(Metric).join(Metric.initiative)
             .options(contains_eager(Metric.initiative))  # PullJob.of reads it
             .where(Metric.source_kind.not_in(unpulled_kinds()),
                    Initiative.status != InitiativeStatus.ARCHIVED.value)
             .order_by(Initiative.key, Metric.key))
    if workspace is not None:
        query = query.where(Initiative.workspace == workspace)
    if initiative is not None:
        query = query.where(Initiative.key == initiative)
    if metric is not None:
        query = query.where(Metric.key == metric)
    if ids is not None:
        query = query.where(Metric.id.in_(ids))
    return list(session.scalars(query))


def due_jobs(session: Session, now: datetime, ids: list[int] | None = None
             ) -> list[tuple[PullJob, datetime]]:
    """(job, slot) for every pulled metric (of ``ids``, if given) that is due at ``now``."""
    metrics = pulled_metrics(session, ids=ids)
    attempts = latest_attempts(session, [m.id for m in metrics])
    due = []
    for metric in metrics:
        slot = slot_start(now, pull_every(metric.source_config or {}))
        last = attempts.get(metric.id)
        if last is not None and last.trigger != "backfill" and last.started_at >= slot:
            retry = (not last.ok and not last.permanent
                     and now - last.started_at >= TRANSIENT_RETRY_AFTER)
            if not retry:
                continue
        due.append((PullJob.of(metric), slot))
    return due
