"""Reviews read from the database: initiatives with different cadences and time zones
reviewed together give exactly what each gives reviewed alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot.app.context import Actor
from bot.app.metric_changes import define_metric
from bot.app.review_builder import build_review
from bot.app.services import define_initiative, get_initiative
from bot.core.periods import THIS_SPRINT
from bot.core.points import Reading
from bot.core.review import Movement
from bot.core.variation import Verdict
from bot.storage.db import session_factory, transaction
from bot.storage.samples import store_readings

ACTOR = Actor("T1", "eve")
NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
CADENCES = {
    # key: (time zone, sprint anchor, sprint days, value slope per hour)
    "berlin": ("Europe/Berlin", date(2026, 11, 16), 14, 0.5),
    "newyork": ("America/New_York", date(2026, 11, 23), 7, -0.25),
    "tokyo": ("Asia/Tokyo", date(2026, 11, 16), 14, 1.0),
}


def _seed(engine: Engine) -> None:
    start = NOW - timedelta(days=30)
    with transaction(session_factory(engine)) as session:
        for key, (zone, anchor, days, slope) in CADENCES.items():
            define_initiative(session, ACTOR, key, {
                "name": key.title(), "timezone": zone, "sprint_anchor": anchor,
                "sprint_days": days}, now=NOW)
            for n in range(3):
                metric, _ = define_metric(session, ACTOR, key, f"m{n}", {
                    "name": f"M{n}", "baseline_value": 100.0, "target_value": 500.0}, now=NOW)
                store_readings(session, metric.id, [
                    Reading(start + timedelta(hours=h), 100 + n + slope * h)
                    for h in range(30 * 24 + 1)], origin="backfill", recorded_by="test")


def test_initiatives_with_different_periods_reviewed_together_match_each_alone(
        engine: Engine) -> None:
    _seed(engine)
    sessions = session_factory(engine)

    with sessions() as session:
        together = build_review(session, "T1", THIS_SPRINT, NOW)
        alone = {key: build_review(session, "T1", THIS_SPRINT, NOW,
                                   initiatives=[get_initiative(session, "T1", key)])
                 for key in CADENCES}

    assert [i.key for i in together.initiatives] == sorted(CADENCES)
    assert len({i.period.start for i in together.initiatives}) == 3  # three distinct periods
    for initiative in together.initiatives:
        assert initiative == alone[initiative.key].initiatives[0]
        zone, anchor, _, slope = CADENCES[initiative.key]
        # Each current sprint began at its anchor, at midnight in its own time zone.
        assert initiative.period.start == datetime.combine(anchor, time(), ZoneInfo(zone))
        first = initiative.period.local_dates()[0]
        span = min(7, ((NOW.date() - first).days + 1) // 2)  # a week, or half a short one
        for n, metric in enumerate(initiative.metrics):
            change, found = metric.change, metric.change.assessment
            assert change.before is not None and change.after is not None
            assert change.before.at == initiative.period.start and change.after.at == NOW
            # Hourly samples on a line: a full day's mean is the line at 11:30 UTC, and
            # a window's median is its middle day's mean.
            assert found is not None and found.before is not None and found.after is not None
            assert (found.before.first, found.before.last) == (first - timedelta(days=span),
                                                               first - timedelta(days=1))
            assert found.after.last == NOW.date() and found.after.days == span
            for level, window_first in ((change.before.value, found.before.first),
                                        (change.after.value, found.after.first)):
                middle = window_first + timedelta(days=span // 2)
                noon = datetime.combine(middle, time(11, 30), UTC)
                hours = (noon - (NOW - timedelta(days=30))) / timedelta(hours=1)
                assert level == 100 + n + slope * hours
            assert found.verdict is Verdict.MOVED and change.movement is (
                Movement.IMPROVED if slope > 0 else Movement.REGRESSED)
