"""Boundary points of many series in one statement (bot.storage.samples.boundaries): the
latest point at the period start and at its end, and the first ever — the same, as UTC
times, on SQLite and on PostgreSQL (its binary cursor reads naive UTC times)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from bot.app.context import Actor
from bot.app.metric_changes import define_metric
from bot.app.services import define_initiative
from bot.core.points import Point, Reading
from bot.storage.db import session_factory, transaction
from bot.storage.samples import Boundaries, boundaries, store_readings

NOW = datetime(2031, 3, 20, 12, tzinfo=UTC)
START = datetime(2031, 3, 10, tzinfo=UTC)


def two_metrics(engine: Engine) -> tuple[int, int]:
    actor = Actor("T1", "U1")
    with transaction(session_factory(engine)) as session:
        define_initiative(session, actor, "fleet", {"name": "Fleet",
                                                    "sprint_anchor": date(2031, 3, 10)}, now=NOW)
        ids = []
        for key in ("deploy", "uptime"):
            metric, _ = define_metric(session, actor, "fleet", key, {
                "name": key, "baseline_value": 40.0, "target_value": 12.0,
                "direction": "down", "target_date": date(2031, 6, 30)}, now=NOW)
            ids.append(metric.id)
        return ids[0], ids[1]


def test_each_series_gets_its_latest_points_at_both_ends_and_its_first(engine: Engine
                                                                       ) -> None:
    deploy, uptime = two_metrics(engine)
    hours = [START - timedelta(hours=30) + timedelta(hours=h) for h in range(0, 60, 6)]
    with transaction(session_factory(engine)) as session:
        store_readings(session, deploy, [Reading(at, float(n)) for n, at in enumerate(hours)]
                       + [Reading(hours[-1], 7.5, "region=eu")], origin="manual",
                       recorded_by="U1")
        store_readings(session, uptime, [Reading(START + timedelta(hours=5), 99.0)],
                       origin="manual", recorded_by="U1")
    end = START + timedelta(hours=20)
    with session_factory(engine)() as session:
        found = boundaries(session, [deploy, uptime], START, end)
    assert found[deploy][""] == Boundaries(Point(START, 5.0),
                                           Point(START + timedelta(hours=18), 8.0),
                                           Point(hours[0], 0.0))
    assert found[deploy]["region=eu"] == Boundaries(None, None, Point(hours[-1], 7.5))
    # No point at the start: the opening value is the first one inside the period.
    later = found[uptime][""]
    assert later.before is None
    assert later.opening(end) == Point(START + timedelta(hours=5), 99.0)
    assert all(point.at.tzinfo is UTC for series in found.values()
               for points in series.values()
               for point in (points.before, points.after, points.earliest) if point)
