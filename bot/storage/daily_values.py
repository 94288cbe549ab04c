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
from itertools import pairwise
from typing import Any

from sqlalchemy import bindparam, func, select, type_coerce
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from bot.core.variation import DailySeries
from bot.storage.models import SampleDay
from bot.storage.samples import MAX_IDS_PER_QUERY

EPOCH = date(1970, 1, 1).toordinal()  # sample_days counts days from here
_DAYS = SampleDay.__table__.c


def _statement(dialect: str) -> Any:
    mean = _DAYS.total / _DAYS.samples
    if dialect == "postgresql":
        days: Any = func.array_agg(aggregate_order_by(_DAYS.epoch_day, _DAYS.epoch_day))
        means: Any = func.array_agg(aggregate_order_by(mean, _DAYS.epoch_day))
    else:  # group_concat follows the primary key's order, which the scan reads in
        days, means = func.group_concat(_DAYS.epoch_day), func.group_concat(mean)
    # The driver's lists and strings as they come: no per-element result processing.
    return (select(_DAYS.metric_id, _DAYS.segment, type_coerce(days, NullType()),
                   type_coerce(means, NullType()))
            .where(_DAYS.metric_id.in_(bindparam("ids", expanding=True)),
                   _DAYS.epoch_day >= bindparam("first"),
                   _DAYS.epoch_day <= bindparam("last"))
            .group_by(_DAYS.metric_id, _DAYS.segment))


def daily_values(session: Session, metric_ids: Sequence[int], first: int, last: int
                 ) -> dict[int, dict[str, DailySeries]]:
    """Every series of ``metric_ids`` as daily values from day ``first`` to ``last``
    (ordinals of UTC days, inclusive), oldest first, by metric and segment."""
    statement = _statement(session.get_bind().dialect.name)
    found: dict[int, dict[str, DailySeries]] = {}
    ids = list(metric_ids)
    for start in range(0, len(ids), MAX_IDS_PER_QUERY):
        rows = session.connection().execute(statement, {
            "ids": ids[start:start + MAX_IDS_PER_QUERY], "first": first - EPOCH,
            "last": last - EPOCH}).all()
        for metric_id, segment, days, means in rows:
            if isinstance(days, str):  # SQLite's group_concat
                days, means = days.split(","), list(map(float, means.split(",")))
            numbers = [int(day) + EPOCH for day in days]
            values = [float(mean) for mean in means]
            if any(b < a for a, b in pairwise(numbers)):  # should the order not hold
                ordered = sorted(zip(numbers, values, strict=True))
                numbers, values = [d for d, _ in ordered], [v for _, v in ordered]
            found.setdefault(metric_id, {})[segment] = DailySeries(numbers, values)
    return found
