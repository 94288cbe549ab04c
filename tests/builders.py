"""Test constructors for review objects, computed by the real review arithmetic."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.periods import Period, local_midnight
from bot.core.points import Point
from bot.core.review import (
    InitiativeReview,
    MetricDefinition,
    MetricReview,
    Review,
    evaluate_metric,
)

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def sprint(
    start: date = date(2026, 11, 16), days: int = 14, timezone: str = "Europe/Berlin"
) -> Period:
    zone = ZoneInfo(timezone)
    end = start + timedelta(days=days)
    return Period(
        local_midnight(start, zone),
        local_midnight(end, zone),
        f"last sprint ({start:%b %-d} – {end - timedelta(days=1):%b %-d})",
        timezone,
    )


def series(
    start: datetime, end: datetime, first: float, last: float, every: timedelta = timedelta(hours=6)
) -> list[Point]:
    """A straight line from ``first`` to ``last`` with a small deterministic wobble."""
    steps = max(int((end - start) / every), 1)
    wobble = abs(last - first) * 0.03 or 0.1
    return [
        Point(start + i * every, first + (last - first) * i / steps + wobble * math.sin(i))
        for i in range(steps + 1)
    ]


def metric(
    name: str = "Deployment time",
    *,
    key: str | None = None,
    unit: str = "min",
    direction: str = "down",
    baseline: float | None = 40.0,
    target: float | None = 12.0,
    before: float | None = 40.0,
    after: float | None = 13.0,
    segments: dict[str, tuple[float, float]] | None = None,
    period: Period | None = None,
    now: datetime = NOW,
    history_days: int = 14,
    every: timedelta = timedelta(hours=6),
    noise: float = 0.5,
) -> MetricReview:
    """A reviewed metric; ``before=None`` or ``after=None`` gives one without data."""
    period = period or sprint()
    end = period.clipped_end(now)
    definition = MetricDefinition(
        key=key or "-".join(name.lower().split())[:40],
        name=name,
        unit=unit,
        direction=direction,
        baseline=baseline,
        baseline_at=period.start - timedelta(days=60),
        target=target,
        target_date=date(2027, 3, 1) if target is not None else None,
        noise=noise,
    )
    has_data = before is not None and after is not None
    before_at, after_at = period.start, end - timedelta(hours=1)
    befores = {"": Point(before_at, before) if has_data else None}
    afters = {"": Point(after_at, after) if has_data else None}
    for segment, (seg_before, seg_after) in (segments or {}).items():
        befores[segment] = Point(before_at, seg_before)
        afters[segment] = Point(after_at, seg_after)
    history = {}
    if has_data:
        lead = series(
            period.start - timedelta(days=history_days),
            period.start,
            baseline if baseline is not None else before,
            before,
            every,
        )
        history[""] = lead[:-1] + series(before_at, after_at, before, after, every)
    return evaluate_metric(
        definition,
        period=period,
        now=now,
        before=befores,
        after=afters,
        first_sample=history[""][0] if history else None,
        history=history,
    )


def initiative(
    name: str = "Device fleet on the latest firmware",
    metrics: tuple[MetricReview, ...] | list[MetricReview] | None = None,
    *,
    key: str = "fleet-update",
    why: str = "Every site visit costs a technician day.",
    period: Period | None = None,
) -> InitiativeReview:
    period = period or sprint()
    chosen = tuple(metrics) if metrics is not None else (metric(period=period),)
    return InitiativeReview(
        key=key,
        name=name,
        why=why,
        status="agreed",
        channel="reviews",
        period=period,
        metrics=chosen,
    )


def review(*initiatives: InitiativeReview, title: str = "Outcome review") -> Review:
    chosen = initiatives or (initiative(),)
    return Review(
        title=title, period_label=chosen[0].period.label, generated_at=NOW, initiatives=chosen
    )


def fleet_initiative(period: Period | None = None) -> InitiativeReview:
    """Four realistic metrics: improving, segmented with a hidden regression, no data."""
    period = period or sprint()
    return initiative(
        metrics=[
            metric(
                "Devices on the latest firmware",
                key="on-latest",
                unit="%",
                direction="up",
                baseline=38,
                target=90,
                before=52,
                after=66,
                period=period,
                segments={"region=EU": (55, 74), "region=US": (50, 69), "region=APAC": (41, 33)},
            ),
            metric("Deployment time", key="deploy-time", period=period, before=21, after=14),
            metric(
                "Support tickets per week",
                key="tickets",
                unit="tickets/wk",
                baseline=120,
                target=60,
                before=96,
                after=101,
                period=period,
            ),
            metric(
                "Failed updates rolled back automatically",
                key="auto-rollback",
                unit="%",
                direction="up",
                baseline=0,
                target=95,
                before=None,
                after=None,
                period=period,
            ),
        ],
        period=period,
    )
