"""Each series' daily values over a range of days, read from ``sample_days`` (kept by a
trigger on every sample inserted): the mean of each UTC day's samples, what
:mod:`bot.core.variation` judges.

The database returns one row per series, its days and means aggregated (arrays on
PostgreSQL, text joined by commas on SQLite): a review of 1,000 series over six weeks then
builds 1,000 rows instead of 42,000, which is most of what reading them costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import bindparam, func, literal_column, select, type_coerce
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from bot.core.variation import DailySeries
from bot.storage.db import binary_rows
from bot.storage.models import SampleDay
from bot.storage.samples import id_chunks, ids_in

EPOCH = date(1970, 1, 1).toordinal()  # sample_days counts days from here
_DAYS = SampleDay.__table__.c


def _statement(dialect: str) -> Any:
    # Both aggregates follow the primary key's order, which the scan reads in (an ORDER
    # BY inside array_agg would sort each group again); the order is checked below.
    mean = _DAYS.total.op("/")(_DAYS.samples)  # a float (SQLAlchemy's / casts to NUMERIC)
    ordinal = _DAYS.epoch_day + literal_column(str(EPOCH))  # as date.toordinal() counts
    if dialect == "postgresql":
        days: Any = func.array_agg(ordinal)
        means: Any = func.array_agg(mean)
    else:
        days, means = func.group_concat(ordinal), func.group_concat(mean)
    # The driver's lists and strings as they come: no per-element result processing.
    return (select(_DAYS.metric_id, _DAYS.segment, type_coerce(days, NullType()),
                   type_coerce(means, NullType()))
            .where(ids_in(_DAYS.metric_id, dialect),
                   _DAYS.epoch_day >= bindparam("first"),
                   _DAYS.epoch_day <= bindparam("last"))
            .group_by(_DAYS.metric_id, _DAYS.segment))


_SQLITE = _statement("sqlite")
_POSTGRESQL = str(_statement("postgresql").compile(dialect=postgresql.dialect()))


def _rows(session: Session, dialect: str, params: dict[str, Any]) -> list[Any]:
    if dialect == "postgresql":
        return binary_rows(session, _POSTGRESQL, params)
    return list(session.connection().execute(_SQLITE, params).all())


def daily_values(session: Session, metric_ids: Sequence[int], first: int, last: int
                 ) -> dict[int, dict[str, DailySeries]]:
    """Every series of ``metric_ids`` as daily values from day ``first`` to ``last``
    (ordinals of UTC days, inclusive), oldest first, by metric and segment."""
    dialect = session.get_bind().dialect.name
    found: dict[int, dict[str, DailySeries]] = {}
    for chunk in id_chunks(metric_ids, dialect):
        rows = _rows(session, dialect, {"ids": chunk, "first": first - EPOCH,
                                        "last": last - EPOCH})
        for metric_id, segment, days, means in rows:
            if isinstance(days, str):  # SQLite's group_concat
                numbers = list(map(int, days.split(",")))
                values = list(map(float, means.split(",")))
            else:  # PostgreSQL's arrays: ints and floats already
                numbers, values = days, means
            if sorted(numbers) != numbers:  # should the order not hold
                ordered = sorted(zip(numbers, values, strict=True))
                numbers, values = [d for d, _ in ordered], [v for _, v in ordered]
            found.setdefault(metric_id, {})[segment] = DailySeries(numbers, values)
    return found
