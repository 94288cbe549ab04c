"""Boundaries of the review arithmetic, each pinned so that a changed comparison fails a test.

Written against surviving mutants of ``bot/core/review.py``: every value sits exactly on a
boundary (or one step past it) and is exactly representable in binary floating point.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.periods import Period
from bot.core.points import Point
from bot.core.review import (
    Change,
    InitiativeReview,
    MetricDefinition,
    Movement,
    Review,
    Status,
    assess_status,
    classify_movement,
    evaluate_metric,
    format_number,
    meets_target,
    movement_score,
    one_line_summary,
    project,
)

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
PERIOD = Period(
    datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC), "this sprint", "UTC"
)
DOWN = MetricDefinition(
    "deploy", "Deployment time", unit="min", direction="down", baseline=40,
    baseline_at=datetime(2026, 9, 1, tzinfo=UTC), target=12, target_date=date(2027, 1, 31),
    noise=1.0,
)
UP = MetricDefinition(
    "latest", "Devices on latest", unit="%", direction="up", baseline=40,
    baseline_at=datetime(2026, 9, 1, tzinfo=UTC), target=80, target_date=date(2027, 1, 31),
    noise=1.0,
)


def at(days_ago: float, value: float) -> Point:
    return Point(NOW - timedelta(days=days_ago), value)


def definition(**changes: object) -> MetricDefinition:
    values = {**DOWN.__dict__, **changes}
    return MetricDefinition(**values)  # type: ignore[arg-type]


# ------------------------------------------------------------------------- movement


def test_a_change_equal_to_the_noise_threshold_is_not_movement():
    # The rule is `abs(change) <= noise` is flat: a change of exactly the noise is noise.
    assert classify_movement(at(10, 30), at(1, 29), DOWN) is Movement.FLAT
    assert classify_movement(at(10, 30), at(1, 31), DOWN) is Movement.FLAT
    assert classify_movement(at(10, 30), at(1, 29), UP) is Movement.FLAT


def test_a_change_just_past_the_noise_threshold_is_movement_in_the_metrics_direction():
    assert classify_movement(at(10, 30), at(1, 28.75), DOWN) is Movement.IMPROVED
    assert classify_movement(at(10, 30), at(1, 31.25), DOWN) is Movement.REGRESSED
    assert classify_movement(at(10, 30), at(1, 31.25), UP) is Movement.IMPROVED
    assert classify_movement(at(10, 30), at(1, 28.75), UP) is Movement.REGRESSED


def test_without_a_noise_threshold_any_change_is_movement_and_no_change_is_flat():
    exact = definition(noise=0.0)
    assert classify_movement(at(10, 30), at(1, 31), exact) is Movement.REGRESSED
    assert classify_movement(at(10, 30), at(1, 29), exact) is Movement.IMPROVED
    assert classify_movement(at(10, 30), at(1, 30), exact) is Movement.FLAT


def test_movement_is_unknown_when_the_after_point_is_missing():
    assert classify_movement(at(10, 30), None, DOWN) is Movement.UNKNOWN
    assert classify_movement(None, None, DOWN) is Movement.UNKNOWN


# ------------------------------------------------------------------------- target


def test_a_lower_is_better_metric_exactly_at_target_is_achieved():
    assert meets_target(12, DOWN)
    assert not meets_target(12.25, DOWN)
    status, reason, progress, projected = assess_status(DOWN, at(1, 12), at(90, 40), NOW)
    assert (status, reason, progress, projected) == (Status.ACHIEVED, "target reached", 1.0,
                                                     None)


def test_a_higher_is_better_metric_exactly_at_target_is_achieved():
    assert meets_target(80, UP)
    assert not meets_target(79.75, UP)
    assert assess_status(UP, at(1, 80), at(90, 40), NOW)[0] is Status.ACHIEVED


def test_direction_down_is_lower_is_better_and_anything_else_is_not():
    assert UP.higher_is_better
    assert not DOWN.higher_is_better


# ------------------------------------------------------------------------- status


def test_a_value_exactly_as_old_as_the_stale_limit_is_still_fresh():
    fresh = Point(NOW - DOWN.stale_after, 20)
    assert assess_status(DOWN, fresh, at(90, 40), NOW)[0] is not Status.STALE
    old = Point(NOW - DOWN.stale_after - timedelta(seconds=1), 20)
    status, reason, progress, projected = assess_status(DOWN, old, at(90, 40), NOW)
    assert (status, progress, projected) == (Status.STALE, None, None)
    assert reason == "last value is 7 days old (stale after 7 days)"


def test_a_stale_reason_gives_hours_below_two_days():
    short = definition(stale_after=timedelta(hours=6))
    old = Point(NOW - timedelta(hours=47), 20)
    assert assess_status(short, old, None, NOW)[1] == (
        "last value is 47 h old (stale after 6 h)"
    )
    older = Point(NOW - timedelta(hours=48), 20)
    assert assess_status(short, older, None, NOW)[1] == (
        "last value is 2 days old (stale after 6 h)"
    )


def test_a_stale_reason_rounds_days_of_24_hours():
    monthly = definition(stale_after=timedelta(days=30))
    old = Point(NOW - timedelta(days=30, hours=1), 20)
    assert assess_status(monthly, old, None, NOW)[1] == (
        "last value is 30 days old (stale after 30 days)")


def test_without_a_baseline_or_any_sample_a_missed_target_has_no_progress():
    review = evaluate_metric(
        definition(baseline=None, baseline_at=None), period=PERIOD, now=NOW,
        before={"": at(14, 30)}, after={"": at(1, 26)}, first_sample=None,
    )
    assert (review.status, review.progress, review.projected) == (Status.AT_RISK, None, None)
    assert review.score == pytest.approx(4 / 30)


def test_no_samples_and_no_target_say_why():
    assert assess_status(DOWN, None, None, NOW) == (
        Status.NO_DATA, "no samples recorded yet", None, None)
    assert assess_status(definition(target=None), at(1, 20), at(90, 40), NOW) == (
        Status.NO_TARGET, "no target agreed yet", None, None)


def test_a_missed_target_without_a_target_date_or_baseline_is_at_risk_with_progress():
    undated = definition(target_date=None)
    assert assess_status(undated, at(1, 26), at(90, 40), NOW) == (
        Status.AT_RISK, "target not reached and no target date to project to", 0.5, None)
    assert assess_status(DOWN, at(1, 26), None, NOW) == (
        Status.AT_RISK, "target not reached and no target date to project to", None, None)


def test_the_target_date_counts_until_the_end_of_that_day():
    due = definition(target_date=date(2026, 11, 28))
    on_the_last_second = datetime(2026, 11, 28, 23, 59, 59, tzinfo=UTC)
    reason = assess_status(due, at(1, 26), at(90, 40), on_the_last_second)[1]
    assert reason == "at this pace closes only 50% of the gap by 2026-11-28"
    at_midnight = datetime(2026, 11, 29, tzinfo=UTC)
    assert assess_status(due, at(1, 26), at(90, 40), at_midnight) == (
        Status.OFF_TRACK, "target date 2026-11-28 passed", 0.5, None)


def test_a_baseline_at_the_same_moment_as_the_latest_value_cannot_be_projected():
    same = at(1, 26)
    assert assess_status(DOWN, same, Point(same.at, 40), NOW) == (
        Status.AT_RISK, "not enough history to project", 0.5, None)


def pace(share_of_gap: float) -> tuple[Point, Point, datetime]:
    """A baseline and latest value whose linear pace closes ``share_of_gap`` of 40 → 12
    by the end of DOWN's target date (2027-01-31): 10 days elapsed, 10 days to go."""
    evaluated = datetime(2027, 1, 22, tzinfo=UTC)
    baseline = Point(evaluated - timedelta(days=10), 40)
    closed_now = share_of_gap / 2
    latest = Point(evaluated, 40 - 28 * closed_now)
    return baseline, latest, evaluated


@pytest.mark.parametrize(
    ("share", "status", "reason"),
    [
        (1.0, Status.ON_TRACK, "at this pace reaches target by 2027-01-31"),
        (0.75, Status.AT_RISK, "at this pace closes 75% of the gap by 2027-01-31"),
        (0.5, Status.OFF_TRACK, "at this pace closes only 50% of the gap by 2027-01-31"),
        (-0.5, Status.OFF_TRACK, "at this pace closes only 0% of the gap by 2027-01-31"),
    ],
)
def test_the_projected_share_of_the_gap_decides_on_track_at_risk_or_off_track(
        share, status, reason):
    baseline, latest, evaluated = pace(share)
    found, why, progress, projected = assess_status(DOWN, latest, baseline, evaluated)
    assert (found, why) == (status, reason)
    assert progress == pytest.approx(share / 2)
    assert projected == pytest.approx(40 - 28 * share)


def test_a_projection_runs_to_the_end_of_the_target_date_at_the_pace_since_the_baseline():
    baseline = Point(datetime(2026, 11, 1, tzinfo=UTC), 40)
    latest = Point(datetime(2026, 11, 11, tzinfo=UTC), 30)
    assert project(baseline, latest, date(2026, 11, 20)) == pytest.approx(20)
    assert project(baseline, latest, date(2026, 11, 1)) == 30  # already past: no extrapolation
    assert project(latest, latest, date(2026, 11, 20)) is None


# ------------------------------------------------------------------------- segments


def review_with(total: tuple[float, float], segment: tuple[float, float]):
    return evaluate_metric(
        UP, period=PERIOD, now=NOW,
        before={"": at(14, total[0]), "region=APAC": at(14, segment[0])},
        after={"": at(1, total[1]), "region=APAC": at(1, segment[1])},
        first_sample=at(90, 40),
    )


def test_a_flat_total_with_a_regressed_segment_is_not_regressed_while_the_total_improved():
    review = review_with(total=(60, 60.5), segment=(50, 44))
    assert review.change.movement is Movement.FLAT
    (apac,) = review.segments
    assert apac.change.movement is Movement.REGRESSED
    assert not apac.regressed_while_total_improved
    assert review.hidden_regressions == ()


def test_a_regressed_total_does_not_hide_its_regressed_segment():
    review = review_with(total=(60, 50), segment=(50, 44))
    assert review.change.movement is Movement.REGRESSED
    assert review.hidden_regressions == ()


def test_an_improved_total_hides_only_the_segments_that_regressed():
    review = review_with(total=(60, 66), segment=(50, 44))
    assert [s.segment for s in review.hidden_regressions] == ["region=APAC"]
    flat = review_with(total=(60, 66), segment=(50, 50.5))
    assert flat.hidden_regressions == ()


def test_segments_are_listed_by_name_and_a_segment_seen_on_one_side_only_is_unknown():
    review = evaluate_metric(
        UP, period=PERIOD, now=NOW,
        before={"": at(14, 60), "b": at(14, 1), "a": at(14, 2)},
        after={"": at(1, 66), "a": at(1, 9), "c": at(1, 3)},
        first_sample=at(90, 40),
    )
    assert [s.segment for s in review.segments] == ["a", "b", "c"]
    movements = {s.segment: s.change.movement for s in review.segments}
    assert movements == {"a": Movement.IMPROVED, "b": Movement.UNKNOWN, "c": Movement.UNKNOWN}


# ------------------------------------------------------------------------- evaluate


def test_without_an_agreed_baseline_the_first_sample_is_the_baseline():
    review = evaluate_metric(
        definition(baseline=None, baseline_at=None), period=PERIOD, now=NOW,
        before={"": at(14, 30)}, after={"": at(1, 26)}, first_sample=at(90, 54),
    )
    assert review.progress == pytest.approx((26 - 54) / (12 - 54))
    assert review.score == pytest.approx(4 / 42)


def test_an_agreed_baseline_without_a_date_is_dated_at_the_first_sample_or_period_start():
    undated = definition(baseline_at=None, target_date=date(2026, 12, 31))
    with_sample = evaluate_metric(
        undated, period=PERIOD, now=NOW,
        before={"": at(14, 30)}, after={"": at(1, 26)}, first_sample=at(90, 99),
    )
    without = evaluate_metric(
        undated, period=PERIOD, now=NOW,
        before={"": at(14, 30)}, after={"": at(1, 26)}, first_sample=None,
    )
    assert with_sample.progress == without.progress == pytest.approx(0.5)
    # The pace differs: 14 points in 89 days versus 14 points since the period start.
    assert with_sample.projected == pytest.approx(
        project(Point(at(90, 0).at, 40), at(1, 26), date(2026, 12, 31)))
    assert without.projected == pytest.approx(
        project(Point(PERIOD.start, 40), at(1, 26), date(2026, 12, 31)))


def test_evaluate_keeps_the_history_the_last_sample_time_and_the_segment_history():
    history = {"": [at(3, 31), at(2, 30)], "a": [at(3, 1)]}
    review = evaluate_metric(
        DOWN, period=PERIOD, now=NOW, before={"": at(14, 33)}, after={"": at(2, 30)},
        first_sample=None, history=history,
    )
    assert review.history == (at(3, 31), at(2, 30))
    assert review.segment_history == {"a": (at(3, 1),)}
    assert review.last_sample_at == at(2, 30).at
    empty = evaluate_metric(DOWN, period=PERIOD, now=NOW, before={}, after={},
                            first_sample=None)
    assert empty.last_sample_at is None and empty.history == () and empty.segments == ()


# ------------------------------------------------------------------------- score


def test_the_movement_score_is_the_good_change_over_the_baseline_to_target_gap():
    fell = Change(at(10, 30), at(1, 23), Movement.IMPROVED)
    assert movement_score(fell, DOWN, 40) == pytest.approx(7 / 28)
    assert movement_score(fell, UP, 40) == pytest.approx(-7 / 40)


def test_without_a_gap_the_score_is_the_relative_change_in_the_good_direction():
    fell = Change(at(10, 40), at(1, 30), Movement.IMPROVED)
    assert movement_score(fell, definition(target=None), 40) == pytest.approx(0.25)
    assert movement_score(fell, definition(target=40), 40) == pytest.approx(0.25)
    assert movement_score(fell, UP, None) == pytest.approx(-0.25)
    from_zero = Change(at(10, 0), at(1, 3), Movement.REGRESSED)
    assert movement_score(from_zero, definition(target=None), 40) is None
    assert movement_score(Change(None, at(1, 3), Movement.UNKNOWN), DOWN, 40) is None


def test_the_relative_change_is_against_the_size_of_the_before_value():
    change = Change(at(10, -40), at(1, -30), Movement.IMPROVED)
    assert change.delta == 10
    assert change.relative == pytest.approx(0.25)
    assert Change(at(10, 0), at(1, 1), Movement.IMPROVED).relative is None
    assert Change(at(10, 1), None, Movement.UNKNOWN).delta is None


# ------------------------------------------------------------------------- summaries


def reviewed(name: str, before: float, after: float, **changes: object):
    return evaluate_metric(
        definition(name=name, **changes), period=PERIOD, now=NOW,
        before={"": at(14, before)}, after={"": at(1, after)}, first_sample=at(90, 40),
    )


def test_the_summary_names_the_biggest_mover_and_counts_the_others():
    small = reviewed("Small", 30, 28)
    big = reviewed("Big", 30, 16)
    still = reviewed("Still", 30, 30)
    assert one_line_summary([small, big, still]) == (
        "Big 30 → 16 min (improved); 1 other metric(s) moved")
    assert one_line_summary([big]) == "Big 30 → 16 min (improved)"
    unitless = reviewed("Bugs", 30, 40, unit="")
    assert one_line_summary([unitless]) == "Bugs 30 → 40 (regressed)"


def test_the_summary_says_when_nothing_moved_and_counts_metrics_without_fresh_data():
    assert one_line_summary([]) == "No metrics defined yet."
    assert one_line_summary([reviewed("Still", 30, 30)]) == (
        "Nothing moved beyond normal variation.")
    empty = evaluate_metric(DOWN, period=PERIOD, now=NOW, before={"": None}, after={"": None},
                            first_sample=None)
    assert one_line_summary([empty, reviewed("Still", 30, 30)]) == (
        "Nothing moved; 1 metric(s) without fresh data.")


def test_the_summary_counts_segments_that_regressed_while_the_total_improved():
    hidden = review_with(total=(60, 66), segment=(50, 44))
    assert one_line_summary([hidden]).endswith(
        "(improved); 1 segment(s) regressed while the total improved")


def test_a_review_ranks_movers_by_score_and_counts_statuses():
    small, big, still = reviewed("Small", 30, 28), reviewed("Big", 30, 16), reviewed("S", 30, 30)
    initiative = InitiativeReview("k", "K", "why", "agreed", "c", PERIOD, (small, still, big))
    review = Review("R", "this sprint", NOW, (initiative,))
    assert [m.definition.name for _, m in review.ranked_movers()] == ["Big", "Small"]
    assert (small.status, big.status, still.status) == (
        Status.OFF_TRACK, Status.ON_TRACK, Status.OFF_TRACK)
    assert review.count_by_status() == {Status.OFF_TRACK: 2, Status.ON_TRACK: 1}
    assert initiative.data_time == at(1, 0).at
    assert initiative.what_moved == one_line_summary(initiative.metrics)
    nothing = InitiativeReview("k", "K", "why", "agreed", "c", PERIOD, ())
    assert nothing.data_time is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (999_999.5, "1,000,000"),
        (1_000_000, "1.0M"),
        (-2_500_000, "-2.5M"),
        (10_000.4, "10,000"),
        (9_999.5, "10,000"),
        (1000.0, "1,000"),
        (999.5, "1000"),
        (100.4, "100"),
        (99.94, "99.9"),
        (1.0, "1"),
        (1.25, "1.2"),
        (0.996, "1.00"),
        (-0.5, "-0.50"),
    ],
)
def test_numbers_are_formatted_by_magnitude_at_each_boundary(value, text):
    assert format_number(value) == text
