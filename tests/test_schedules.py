"""Time-travel tests of digest timing: no sleeping, occurrences computed for any instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.schedules import ScheduleRule, next_occurrence, occurrences

BERLIN = ZoneInfo("Europe/Berlin")


def sprint_rule(**overrides) -> ScheduleRule:
    values = {"kind": "sprint", "timezone": "Europe/Berlin", "local_time": time(9, 0),
              "retro_weekday": 3, "lead": timedelta(hours=24), "sprint_days": 14,
              "sprint_anchor": date(2026, 3, 2)}
    return ScheduleRule(**(values | overrides))


def test_a_sprint_digest_posts_the_lead_time_before_the_last_retro_weekday():
    found = occurrences(sprint_rule(), datetime(2026, 3, 1, tzinfo=UTC),
                        datetime(2026, 3, 16, tzinfo=UTC))
    (only,) = found
    # Sprint Mar 2-15; last Thursday is Mar 12; 24 h before its 09:00 is Wed Mar 11 09:00.
    assert only.fire_at.astimezone(BERLIN) == datetime(2026, 3, 11, 9, tzinfo=BERLIN)
    assert only.period_key == "sprint:2026-03-02"


def test_a_0900_berlin_digest_posts_at_0900_local_on_both_sides_of_the_spring_change():
    rule = sprint_rule(sprint_days=7, sprint_anchor=date(2026, 3, 16), lead=timedelta(0))
    fires = occurrences(rule, datetime(2026, 3, 16, tzinfo=UTC), datetime(2026, 4, 6, tzinfo=UTC))
    local = [f.fire_at.astimezone(BERLIN) for f in fires]
    assert [(t.date(), t.hour, t.minute) for t in local] == [
        (date(2026, 3, 19), 9, 0), (date(2026, 3, 26), 9, 0), (date(2026, 4, 2), 9, 0)]
    # In UTC the hour moves: 08:00 before the change (CET), 07:00 after (CEST).
    assert [f.fire_at.hour for f in fires] == [8, 8, 7]


def test_a_0900_berlin_digest_posts_at_0900_local_across_the_autumn_change():
    rule = sprint_rule(sprint_days=7, sprint_anchor=date(2026, 10, 19), retro_weekday=0,
                       lead=timedelta(hours=72))
    fires = occurrences(rule, datetime(2026, 10, 19, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC))
    assert all(f.fire_at.astimezone(BERLIN).time() == time(9, 0) for f in fires)
    assert [f.fire_at.hour for f in fires] == [7, 8, 8]


def test_a_lead_time_crossing_the_change_is_kept_on_the_wall_clock():
    # Retro Monday 2026-03-30 09:00 CEST, 48 h lead -> Saturday 09:00 CET, not 10:00.
    rule = sprint_rule(sprint_days=7, sprint_anchor=date(2026, 3, 30), retro_weekday=0,
                       lead=timedelta(hours=48))
    fire = next_occurrence(rule, datetime(2026, 3, 27, tzinfo=UTC))
    assert fire.fire_at.astimezone(BERLIN) == datetime(2026, 3, 28, 9, tzinfo=BERLIN)


def test_a_quarterly_digest_posts_days_before_the_fiscal_quarter_ends():
    rule = ScheduleRule(kind="quarter", timezone="America/New_York", local_time=time(10, 0),
                        days_before=5, fiscal_year_start_month=2)
    fires = occurrences(rule, datetime(2026, 11, 1, tzinfo=UTC), datetime(2027, 6, 1, tzinfo=UTC))
    ny = ZoneInfo("America/New_York")
    assert [f.fire_at.astimezone(ny) for f in fires] == [
        datetime(2027, 1, 27, 10, tzinfo=ny), datetime(2027, 4, 26, 10, tzinfo=ny)]
    assert [f.period_key for f in fires] == ["quarter:2026-11-01", "quarter:2027-02-01"]


def test_period_keys_come_from_the_period_so_a_double_fire_has_one_key():
    rule = sprint_rule()
    start = datetime(2026, 3, 11, 7, 59, tzinfo=UTC)
    first = occurrences(rule, start, start + timedelta(minutes=2))
    again = occurrences(rule, start, start + timedelta(minutes=2))
    assert first == again and len(first) == 1


def test_the_period_instant_lies_inside_the_sprint_being_reviewed():
    fire = next_occurrence(sprint_rule(), datetime(2026, 3, 1, tzinfo=UTC))
    assert fire.period_at.astimezone(BERLIN).date() == date(2026, 3, 12)
