"""Storing and reading metric samples. Writes are idempotent per (metric, segment, time)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ARRAY, Integer, any_, bindparam, literal_column, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from bot.core.clock import system_clock
from bot.core.points import Point, Reading
from bot.storage.db import binary_rows, dialect_insert
from bot.storage.models import MetricSegment, Sample, UTCDateTime

BATCH_ROWS = 2000


def store_readings(session: Session, metric_id: int, readings: Iterable[Reading], *,
                   origin: str, recorded_by: str) -> int:
    """Insert one metric's readings, skipping any (metric, segment, time) already stored.

    Returns how many rows were new.
    """
    return store_series(session, [(metric_id, readings)], origin=origin,
                        recorded_by=recorded_by).get(metric_id, 0)


def store_series(session: Session, batches: Iterable[tuple[int, Iterable[Reading]]], *,
                 origin: str, recorded_by: str) -> dict[int, int]:
    """Insert readings of many metrics at once, skipping any (metric, segment, time) already
    stored; returns the number of new rows per metric id (metrics with none are absent)."""
    insert = dialect_insert(session)
    recorded_at = system_clock()  # bookkeeping: when the rows were written, never domain time
    rows = [{"metric_id": metric_id, "segment": r.segment, "observed_at": r.observed_at,
             "value": float(r.value), "origin": origin, "recorded_by": recorded_by,
             "recorded_at": recorded_at}
            for metric_id, readings in batches for r in readings]
    if not rows:
        return {}
    series = sorted({(row["metric_id"], row["segment"]) for row in rows})
    session.execute(
        insert(MetricSegment)
        .values([{"metric_id": m, "segment": segment} for m, segment in series])
        .on_conflict_do_nothing(index_elements=["metric_id", "segment"]))
    table = Sample.__table__
    statement = (insert(table)
                 .on_conflict_do_nothing(index_elements=["metric_id", "segment", "observed_at"])
                 .returning(table.c.metric_id))
    stored: dict[int, int] = {}
    for offset in range(0, len(rows), BATCH_ROWS):
        # One compiled statement run over the batch; RETURNING counts only the new rows
        # on every driver (psycopg reports rowcount -1 for ON CONFLICT DO NOTHING).
        result = session.connection().execute(statement, rows[offset:offset + BATCH_ROWS])
        for (metric_id,) in result.all():
            stored[metric_id] = stored.get(metric_id, 0) + 1
    return stored


@dataclass(frozen=True)
class Boundaries:
    """The points of one series that a review needs."""

    before: Point | None  # latest at or before the period start
    after: Point | None  # latest at or before the period end
    earliest: Point | None  # the first point ever

    def opening(self, end: datetime) -> Point | None:
        """The value at the period start: ``before``, or else the first one in the period.

        Without a point at or before the start, the earliest point is after it.
        """
        if self.before is not None:
            return self.before
        if self.earliest is not None and self.earliest.at <= end:
            return self.earliest
        return None


MAX_IDS_PER_QUERY = 900  # below SQLite's oldest bound-parameter limit (999)


def ids_in(column: Any, dialect: str) -> Any:
    """``column`` among the bound ``ids``: one array parameter on PostgreSQL (a statement
    the same whatever their number, sent as one value), an expanding IN elsewhere."""
    if dialect == "postgresql":
        return column == any_(bindparam("ids", type_=ARRAY(Integer)))
    return column.in_(bindparam("ids", expanding=True))


def id_chunks(ids: Sequence[int], dialect: str) -> list[list[int]]:
    """``ids`` in as few statements as the database's parameter limit allows."""
    if dialect == "postgresql":
        return [list(ids)]
    return [list(ids[start:start + MAX_IDS_PER_QUERY])
            for start in range(0, len(ids), MAX_IDS_PER_QUERY)]


def _probe(condition: Callable[[type[Sample]], list[Any]], ascending: bool) -> Any:
    """The id of the first sample of the outer series (by time) meeting ``condition``."""
    inner = aliased(Sample)
    order = inner.observed_at.asc() if ascending else inner.observed_at.desc()
    return (
        select(inner.id)
        .where(inner.metric_id == MetricSegment.metric_id,
               inner.segment == MetricSegment.segment, *condition(inner))
        .order_by(order)
        .limit(1)
        .scalar_subquery()
    )


def _latest(condition: Callable[[type[Sample]], list[Any]], ascending: bool) -> Any:
    """The time and value of the first sample of the outer series (by time) meeting
    ``condition``: one index probe, read in place (PostgreSQL's LATERAL)."""
    inner = aliased(Sample)
    order = inner.observed_at.asc() if ascending else inner.observed_at.desc()
    return (
        select(inner.observed_at, inner.value)
        .where(inner.metric_id == MetricSegment.metric_id,
               inner.segment == MetricSegment.segment, *condition(inner))
        .order_by(order)
        .limit(literal_column("1"))
        .lateral()
    )


_START, _END = bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime())


def _sqlite_boundaries() -> Any:
    before, after, earliest = (aliased(Sample) for _ in range(3))
    return (
        select(MetricSegment.metric_id, MetricSegment.segment,
               before.observed_at, before.value, after.observed_at, after.value,
               earliest.observed_at, earliest.value)
        .select_from(MetricSegment)
        .outerjoin(before, before.id == _probe(lambda s: [s.observed_at <= _START], False))
        .outerjoin(after, after.id == _probe(lambda s: [s.observed_at <= _END], False))
        .outerjoin(earliest, earliest.id == _probe(lambda s: [], True))
        .where(ids_in(MetricSegment.metric_id, "sqlite"))
    )


def _postgresql_boundaries() -> str:
    before, after, earliest = (_latest(lambda s: [s.observed_at <= _START], False),
                               _latest(lambda s: [s.observed_at <= _END], False),
                               _latest(lambda s: [], True))
    statement = (
        select(MetricSegment.metric_id, MetricSegment.segment,
               before.c.observed_at, before.c.value, after.c.observed_at, after.c.value,
               earliest.c.observed_at, earliest.c.value)
        .select_from(MetricSegment)
        .outerjoin(before, true()).outerjoin(after, true()).outerjoin(earliest, true())
        .where(ids_in(MetricSegment.metric_id, "postgresql"))
    )
    return str(statement.compile(dialect=postgresql.dialect()))


_SQLITE = _sqlite_boundaries()
_POSTGRESQL = _postgresql_boundaries()


def _boundary_rows(session: Session, dialect: str, ids: list[int], start: datetime,
                   end: datetime) -> list[Any]:
    """Rows of (metric id, segment, then time and value of the before, after and earliest
    points); on PostgreSQL through the binary cursor, its times naive UTC."""
    if dialect != "postgresql":
        return list(session.execute(_SQLITE, {"start": start, "end": end, "ids": ids}))
    utc = UTCDateTime()
    return binary_rows(session, _POSTGRESQL, {"start": utc.process_bind_param(start, None),
                                              "end": utc.process_bind_param(end, None),
                                              "ids": ids})


def boundaries(session: Session, metric_ids: Sequence[int], start: datetime,
               end: datetime) -> dict[int, dict[str, Boundaries]]:
    """Boundary points of every series of ``metric_ids``, by metric and segment.

    One statement: each lookup is an index probe on (metric_id, segment, observed_at), so
    the cost grows with the number of series, not the number of samples.
    """
    found: dict[int, dict[str, Boundaries]] = {}
    dialect = session.get_bind().dialect.name
    for chunk in id_chunks(metric_ids, dialect):
        for row in _boundary_rows(session, dialect, chunk, start, end):
            points = [Point(row[i].replace(tzinfo=UTC), row[i + 1])
                      if row[i] is not None else None for i in (2, 4, 6)]
            found.setdefault(row[0], {})[row[1]] = Boundaries(*points)
    return found


def series(
    session: Session, metric_id: int, segment: str, start: datetime, end: datetime
) -> list[Point]:
    """All points of one segment in [start, end], oldest first."""
    rows = session.execute(
        select(Sample.observed_at, Sample.value)
        .where(
            Sample.metric_id == metric_id,
            Sample.segment == segment,
            Sample.observed_at >= start,
            Sample.observed_at <= end,
        )
        .order_by(Sample.observed_at.asc())
    ).all()
    return [Point(at, value) for at, value in rows]


def recent_samples(session: Session, metric_id: int, limit: int = 20) -> Sequence[Sample]:
    return session.scalars(
        select(Sample)
        .where(Sample.metric_id == metric_id)
        .order_by(Sample.observed_at.desc(), Sample.segment)
        .limit(limit)
    ).all()
