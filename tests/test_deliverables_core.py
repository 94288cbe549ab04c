"""What a review says of deliverables, as pure arithmetic: days in the initiative's time
zone, the windows around a ship, and why one moves nothing measured."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.core.changes import MetricDefinition
from bot.core.deliverables import Deliverable, review_deliverables, unmeasured_reason
from bot.core.variation import DailySeries, Verdict

FIRST, LAST = date(2026, 11, 16), date(2026, 11, 29)
AFTER = (date(2026, 11, 23).toordinal(), LAST.toordinal())  # the period's last week
DEPLOY = MetricDefinition("deploy", "Deploy time", unit="min", direction="down")


def stepped(ship: date) -> DailySeries:
    """10 every day before the ship day, 15 on it, 20 after; a little noise each day."""
    days = [FIRST - timedelta(days=35) + timedelta(days=n) for n in range(49)]
    wobble = [0.0, 0.2, -0.1, 0.1, -0.2, 0.05, -0.05]
    return DailySeries.of([(day, (10 if day < ship else 15 if day == ship else 20)
                            + wobble[n % 7]) for n, day in enumerate(days)])


def reviewed(ship_at: datetime, series: DailySeries | None = None, *,
             with_data: tuple[str, ...] = ("deploy",), zone: str = "Europe/Berlin"):
    (found,) = review_deliverables(
        [Deliverable("Rollback", ("deploy",), ship_at)], {"deploy": DEPLOY},
        {"deploy": series} if series else {}, (FIRST, LAST), AFTER, zone, with_data)
    return found


def test_the_ship_day_is_the_initiatives_local_day_and_the_first_day_counts() -> None:
    late_evening = datetime(2026, 11, 15, 23, 30, tzinfo=UTC)  # Nov 16, 00:30 in Berlin

    berlin = reviewed(late_evening)
    utc = reviewed(late_evening, zone="UTC")

    assert (berlin.shipped_on, berlin.in_period) == (date(2026, 11, 16), True)
    assert (utc.shipped_on, utc.in_period) == (date(2026, 11, 15), False)
    assert utc.since == ()
    assert reviewed(datetime(2026, 11, 29, 20, tzinfo=UTC)).in_period


def test_since_a_ship_compares_the_week_before_it_with_the_days_after_it() -> None:
    ship = date(2026, 11, 20)

    found = reviewed(datetime(2026, 11, 20, 9, tzinfo=UTC), stepped(ship))

    (moved,) = found.since
    assessment = moved.change.assessment
    assert assessment is not None and assessment.verdict is Verdict.MOVED
    assert assessment.before is not None and assessment.after is not None
    assert (assessment.before.first, assessment.before.last) == (date(2026, 11, 13),
                                                                 date(2026, 11, 19))
    assert (assessment.after.first, assessment.after.last) == (date(2026, 11, 23), LAST)
    assert (round(assessment.before.value), round(assessment.after.value)) == (10, 20)
    assert moved.change.movement.value == "regressed"  # deploy time went up


def test_a_ship_inside_the_last_week_is_judged_from_the_next_day_on() -> None:
    ship = date(2026, 11, 25)

    (moved,) = reviewed(datetime(2026, 11, 25, 9, tzinfo=UTC), stepped(ship)).since

    assessment = moved.change.assessment
    assert assessment is not None and assessment.after is not None
    assert assessment.after.first == date(2026, 11, 26)  # the ship day's 15 left out
    assert round(assessment.after.value) == 20


def test_why_a_deliverable_moves_nothing_measured() -> None:
    keys = ["deploy", "tickets"]

    assert unmeasured_reason(Deliverable("A"), keys) == \
        "names no metric it is meant to move"
    assert unmeasured_reason(Deliverable("A", ("cost", "nps")), keys) == \
        "moves cost, nps, which are not metrics of this initiative"
    assert unmeasured_reason(Deliverable("A", ("deploy",)), keys, ["tickets"]) == \
        "its metrics have no data yet"
    assert unmeasured_reason(Deliverable("A", ("cost", "deploy")), keys, ["deploy"]) is None
    assert reviewed(datetime(2026, 11, 20, tzinfo=UTC), with_data=()).unmeasured == \
        "its metrics have no data yet"
