"""Build review models from the database: the one place reviews read samples."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.app.deliverables import deliverables_of
from bot.app.services import list_initiatives
from bot.core.criteria_rules import total_of
from bot.core.deliverables import Deliverable, DeliverableReview, review_deliverables
from bot.core.periods import Cadence, Period, PeriodSpec, resolve
from bot.core.points import Point
from bot.core.review import (
    DayWindows,
    InitiativeReview,
    MetricDefinition,
    MetricReview,
    Review,
    Status,
    evaluate_metric,
)
from bot.core.variation import HISTORY_DAYS, DailySeries, windows
from bot.storage.daily_values import daily_values
from bot.storage.models import Initiative, Metric
from bot.storage.samples import Boundaries, boundaries, series
from metrics.attempts import failure_reason, latest_attempts

MAX_CHART_POINTS = 600


def cadence_of(initiative: Initiative) -> Cadence:
    return Cadence(
        sprint_days=initiative.sprint_days,
        sprint_anchor=initiative.sprint_anchor,
        timezone=initiative.timezone,
        fiscal_year_start_month=initiative.fiscal_year_start_month,
    )


def definition_of(metric: Metric) -> MetricDefinition:
    return MetricDefinition(
        key=metric.key,
        name=metric.name,
        unit=metric.unit,
        direction=metric.direction,
        question=metric.question,
        baseline=metric.baseline_value,
        baseline_at=metric.baseline_at,
        target=metric.target_value,
        target_date=metric.target_date,
        noise=metric.noise,
        stale_after=timedelta(seconds=metric.stale_after_seconds),
        total=total_of(metric.unit, metric.source_config or {}),
    )


@dataclass(frozen=True)
class PeriodData:
    """What a review reads for many metrics over one period: their boundary points, their
    daily values, and the day windows the values are judged over."""

    points: dict[int, dict[str, Boundaries]]
    daily: dict[int, dict[str, DailySeries]]
    windows: DayWindows


def _local_days(period: Period, now: datetime) -> tuple[date, date]:
    """The period's first and last local dates, up to ``now``."""
    zone = ZoneInfo(period.timezone)
    first = period.start.astimezone(zone).date()
    end = period.clipped_end(now) - timedelta(microseconds=1)
    return first, max(first, end.astimezone(zone).date())


def period_data(session: Session, metric_ids: list[int], period: Period, now: datetime
                ) -> PeriodData:
    """Read :class:`PeriodData` for ``metric_ids``: two statements, whatever their number."""
    end = period.clipped_end(now)
    # Days are the period's local dates, read as UTC days (how sample_days counts them):
    # in Europe they share 22-23 of their hours, on the US west coast 16.
    first, last = _local_days(period, now)
    daily = daily_values(session, metric_ids, first.toordinal() - HISTORY_DAYS,
                         last.toordinal())
    return PeriodData(boundaries(session, metric_ids, period.start, end), daily,
                      windows(first, last))


def _thin(points: list[Point], limit: int = MAX_CHART_POINTS) -> list[Point]:
    """Keep at most ``limit`` points, evenly spaced, always keeping the last one."""
    if len(points) <= limit:
        return points
    step = len(points) / limit
    kept = [points[int(i * step)] for i in range(limit - 1)]
    return [*kept, points[-1]]


def review_metric(session: Session, metric: Metric, period: Period, now: datetime,
                  *, with_history: bool = True, data: PeriodData | None = None
                  ) -> MetricReview:
    """Before → after, status and movement of one metric over ``period``.

    ``data`` is what was already read for many metrics at once.
    """
    end = period.clipped_end(now)
    if data is None:
        data = period_data(session, [metric.id], period, now)
    series_points = data.points.get(metric.id, {})
    before = {seg: b.opening(end) for seg, b in series_points.items()}
    after = {seg: b.after for seg, b in series_points.items()}
    total = series_points.get("")
    history = None
    if with_history:
        lookback = max(period.end - period.start, timedelta(days=14))
        history = {"": _thin(series(session, metric.id, "", period.start - lookback, end))}
    return evaluate_metric(
        definition_of(metric),
        period=period,
        now=now,
        before=before or {"": None},
        after=after or {"": None},
        first_sample=total.earliest if total else None,
        history=history,
        daily=data.daily.get(metric.id, {}),
        windows=data.windows,
    )


def _with_pull_failures(session: Session, rows: list[Metric],
                        reviews: tuple[MetricReview, ...]) -> tuple[MetricReview, ...]:
    """A metric without fresh data says why when its last pull failed."""
    missing = [row.id for row, review in zip(rows, reviews, strict=True)
               if review.status in (Status.NO_DATA, Status.STALE)]
    if not missing:
        return reviews
    attempts = latest_attempts(session, missing)
    return tuple(
        replace(review, status_reason=f"{review.status_reason}; {reason}")
        if (reason := failure_reason(attempts.get(row.id))) else review
        for row, review in zip(rows, reviews, strict=True)
    )


def review_initiative(session: Session, initiative: Initiative, period: Period,
                      now: datetime, *, with_history: bool = True,
                      data: PeriodData | None = None,
                      deliverables: list[Deliverable] | None = None) -> InitiativeReview:
    """Review one initiative over ``period``; ``data`` and ``deliverables`` may hold what
    it reads."""
    if data is None:
        data = period_data(session, [m.id for m in initiative.metrics], period, now)
    if deliverables is None:
        deliverables = deliverables_of(session, [initiative.id])[initiative.id]
    metrics = tuple(
        review_metric(session, metric, period, now, with_history=with_history, data=data)
        for metric in initiative.metrics
    )
    metrics = _with_pull_failures(session, initiative.metrics, metrics)
    return InitiativeReview(
        key=initiative.key,
        name=initiative.name,
        why=initiative.why,
        status=initiative.status,
        channel=initiative.channel,
        period=period,
        metrics=metrics,
        deliverables=_deliverables(initiative, deliverables, metrics, data, period, now),
    )


def _deliverables(initiative: Initiative, deliverables: list[Deliverable],
                  metrics: tuple[MetricReview, ...], data: PeriodData, period: Period,
                  now: datetime) -> tuple[DeliverableReview, ...]:
    """The initiative's deliverables, and what moved after those shipped in the period."""
    if not deliverables:
        return ()
    keys = {m.id: m.key for m in initiative.metrics}
    daily = {keys[metric_id]: series.get("", DailySeries())
             for metric_id, series in data.daily.items() if metric_id in keys}
    with_data = [m.definition.key for m in metrics if m.status is not Status.NO_DATA]
    return review_deliverables(
        deliverables, {m.definition.key: m.definition for m in metrics}, daily,
        _local_days(period, now), data.windows[1], period.timezone, with_data)


def _data_by_period(session: Session, initiatives: list[Initiative], periods: list[Period],
                    now: datetime) -> dict[tuple[datetime, datetime, str], PeriodData]:
    """What every metric's review reads, in one read per distinct period (initiatives that
    share a cadence and time zone share it)."""
    metric_ids: dict[tuple[datetime, datetime, str], list[int]] = {}
    chosen: dict[tuple[datetime, datetime, str], Period] = {}
    for initiative, period in zip(initiatives, periods, strict=True):
        key = (period.start, period.clipped_end(now), period.timezone)
        metric_ids.setdefault(key, []).extend(m.id for m in initiative.metrics)
        chosen[key] = period
    return {key: period_data(session, ids, chosen[key], now)
            for key, ids in metric_ids.items()}


def build_review(session: Session, workspace: str, spec: PeriodSpec, now: datetime, *,
                 initiatives: list[Initiative] | None = None,
                 with_history: bool = True, period_at: datetime | None = None) -> Review:
    """Review every active initiative (or the given ones) over the period ``spec``."""
    chosen = initiatives if initiatives is not None else list_initiatives(session, workspace)
    periods = [resolve(spec, cadence_of(initiative), period_at or now) for initiative in chosen]
    data = _data_by_period(session, chosen, periods, now)
    deliverables = deliverables_of(session, [initiative.id for initiative in chosen])
    reviews = tuple(
        review_initiative(session, initiative, period, now, with_history=with_history,
                          data=data[(period.start, period.clipped_end(now), period.timezone)],
                          deliverables=deliverables[initiative.id])
        for initiative, period in zip(chosen, periods, strict=True)
    )
    label = reviews[0].period.label if len(reviews) == 1 else spec.describe()
    title = (f"Outcome review: {reviews[0].name}" if len(reviews) == 1
             else "Outcome review")
    return Review(title=title, period_label=label, generated_at=now, initiatives=reviews)
