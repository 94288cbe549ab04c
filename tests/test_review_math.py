from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.periods import Period
from bot.core.points import Point
from bot.core.review import (
    MetricDefinition,
    Movement,
    Status,
    assess_status,
    classify_movement,
    evaluate_metric,
    format_number,
    progress_fraction,
)

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
PERIOD = Period(
    datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC), "this sprint", "UTC"
)
DEPLOY = MetricDefinition(
    "deploy",
    "Deployment time",
    unit="min",
    direction="down",
    baseline=40,
    baseline_at=datetime(2026, 9, 1, tzinfo=UTC),
    target=12,
    target_date=date(2027, 1, 31),
    noise=1.0,
)


def at(days_ago: float, value: float) -> Point:
    return Point(NOW - timedelta(days=days_ago), value)


def test_a_lower_is_better_metric_that_fell_improved():
    assert classify_movement(at(10, 30), at(1, 25), DEPLOY) is Movement.IMPROVED
    assert classify_movement(at(10, 25), at(1, 30), DEPLOY) is Movement.REGRESSED


def test_a_change_within_the_noise_threshold_is_flat():
    assert classify_movement(at(10, 30), at(1, 29.5), DEPLOY) is Movement.FLAT
    assert classify_movement(at(10, 30), at(1, 28.9), DEPLOY) is Movement.IMPROVED


def test_movement_is_unknown_without_both_points():
    assert classify_movement(None, at(1, 3), DEPLOY) is Movement.UNKNOWN


def test_progress_is_the_share_of_the_baseline_to_target_gap():
    assert progress_fraction(26, 40, 12) == pytest.approx(0.5)
    assert progress_fraction(50, 40, 12) == pytest.approx(-10 / 28)
    assert progress_fraction(5, 5, 5) is None


def test_no_samples_means_no_data():
    status, reason, *_ = assess_status(DEPLOY, None, Point(DEPLOY.baseline_at, 40), NOW)
    assert status is Status.NO_DATA
    assert "no samples" in reason


def test_an_old_latest_value_is_stale_with_its_age():
    status, reason, *_ = assess_status(DEPLOY, at(9, 20), Point(DEPLOY.baseline_at, 40), NOW)
    assert status is Status.STALE
    assert "9 days old" in reason


def test_reaching_the_target_is_achieved():
    status, _, progress, _ = assess_status(DEPLOY, at(1, 11), Point(DEPLOY.baseline_at, 40), NOW)
    assert status is Status.ACHIEVED
    assert progress == pytest.approx(29 / 28)


def test_linear_projection_decides_on_track_at_risk_and_off_track():
    baseline = Point(datetime(2026, 9, 1, tzinfo=UTC), 40)
    # 89 days since baseline; 63 days to the end of the target date.
    fast = assess_status(DEPLOY, Point(NOW, 20), baseline, NOW)
    assert fast[0] is Status.ON_TRACK
    middling = assess_status(DEPLOY, Point(NOW, 25), baseline, NOW)
    # pace -15/89 per day -> ~ 14.4 at the target date: 91% of the gap
    assert middling[0] is Status.AT_RISK
    slow = assess_status(DEPLOY, Point(NOW, 36), baseline, NOW)
    assert slow[0] is Status.OFF_TRACK
    assert "of the gap" in slow[1]


def test_a_passed_target_date_without_reaching_it_is_off_track():
    late = datetime(2027, 2, 2, tzinfo=UTC)
    status, reason, *_ = assess_status(DEPLOY, Point(late, 20), Point(DEPLOY.baseline_at, 40), late)
    assert status is Status.OFF_TRACK
    assert "passed" in reason


def test_evaluate_reports_before_after_change_and_relative_change():
    review = evaluate_metric(
        DEPLOY,
        period=PERIOD,
        now=NOW,
        before={"": at(14, 30)},
        after={"": at(0.5, 24)},
        first_sample=Point(DEPLOY.baseline_at, 40),
    )
    assert review.change.delta == pytest.approx(-6)
    assert review.change.relative == pytest.approx(-0.2)
    assert review.change.movement is Movement.IMPROVED
    assert review.score == pytest.approx(6 / 28)
    assert review.progress == pytest.approx(16 / 28)


def test_a_segment_that_regressed_while_the_total_improved_is_flagged():
    devices = MetricDefinition(
        "on-latest",
        "Devices on latest",
        unit="%",
        direction="up",
        baseline=38,
        target=90,
        target_date=date(2027, 3, 1),
    )
    review = evaluate_metric(
        devices,
        period=PERIOD,
        now=NOW,
        before={"": at(14, 60), "region=EU": at(14, 65), "region=APAC": at(14, 50)},
        after={"": at(1, 66), "region=EU": at(1, 74), "region=APAC": at(1, 44)},
        first_sample=at(90, 38),
    )
    assert review.change.movement is Movement.IMPROVED
    flagged = {s.segment for s in review.hidden_regressions}
    assert flagged == {"region=APAC"}
    eu = next(s for s in review.segments if s.segment == "region=EU")
    assert eu.change.movement is Movement.IMPROVED and not eu.regressed_while_total_improved


def test_an_empty_period_has_no_data_and_no_movement():
    review = evaluate_metric(
        DEPLOY, period=PERIOD, now=NOW, before={"": None}, after={"": None}, first_sample=None
    )
    assert review.status is Status.NO_DATA
    assert review.change.movement is Movement.UNKNOWN
    assert review.score is None


def test_a_past_period_is_judged_at_its_end_not_now():
    past = Period(
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2026, 10, 15, tzinfo=UTC),
        "early October",
        "UTC",
    )
    last = Point(datetime(2026, 10, 14, tzinfo=UTC), 30)
    review = evaluate_metric(
        DEPLOY,
        period=past,
        now=NOW,
        before={"": Point(datetime(2026, 9, 30, tzinfo=UTC), 33)},
        after={"": last},
        first_sample=Point(DEPLOY.baseline_at, 40),
    )
    assert review.status is not Status.STALE


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12, "12"),
        (12.5, "12.5"),
        (0.4213, "0.42"),
        (1234, "1,234"),
        (2_500_000, "2.5M"),
        (None, "–"),
    ],
)
def test_numbers_are_formatted_compactly(value, text):
    assert format_number(value) == text
