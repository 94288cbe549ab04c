"""PNG charts of a review, drawn with matplotlib's object API (no pyplot, no global state).

Layout is fixed in inches and ``width_px`` only sets the resolution, so text keeps the same
share of the image at any size. Fonts are chosen to stay legible when Slack shows the image
as a ~360 px wide thumbnail.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

from bot.core.periods import Period, day_text, days_text
from bot.core.points import Point
from bot.core.review import (
    InitiativeReview,
    MetricReview,
    Movement,
    Status,
    format_number,
)
from bot.render.common import (
    STATUS_COLOR,
    shorten,
    with_unit,
)
from bot.render.figures import (
    FIGURE_WIDTH_IN,
    FONT_PT,
    INK,
    LINE_WIDTH_PT,
    MAX_PANELS,
    MOVEMENT_COLOR,
    MUTED,
    PANEL_TITLE_PT,
    PERIOD_SHADE,
    SERIES,
    TITLE_PT,
    message_panel,
    new_figure,
    png_bytes,
    style_axes,
)
from bot.render.segment_charts import segment_figure


def initiative_chart(initiative: InitiativeReview, *, width_px: int = 1200) -> bytes:
    """Small multiples: one panel per metric, history with the review period shaded."""
    return png_bytes(initiative_figure(initiative, width_px=width_px))


def segment_chart(metric: MetricReview, period: Period, *, width_px: int = 1200) -> bytes | None:
    """Before vs after per segment as grouped bars; None when the metric has no segments."""
    figure = segment_figure(metric, period, width_px=width_px)
    return None if figure is None else png_bytes(figure)


def initiative_figure(initiative: InitiativeReview, *, width_px: int = 1200) -> Figure:
    """The figure behind :func:`initiative_chart`, for callers that inspect it."""
    metrics = initiative.metrics
    omitted = 0
    if len(metrics) > MAX_PANELS:
        omitted = len(metrics) - MAX_PANELS + 1
        metrics = metrics[: MAX_PANELS - 1]
    panels = len(metrics) + (1 if omitted else 0)
    columns = 2 if panels > 1 else 1
    rows = max(math.ceil(panels / columns), 1)
    # A fixed grid in inches (cheaper than constrained layout, which costs a second draw):
    # each panel reserves room above for its two-line title and status, below for dates.
    name_width, max_ticks = (46, 5) if columns == 1 else (20, 3)
    titles = [_title_lines(metric.definition.name, name_width) for metric in metrics]
    plot_height = 2.3 if columns == 1 else 1.9
    above = 0.45 + 0.23 * max((len(lines) for lines in titles), default=1)
    below, left, right, gap, header = 0.4, 0.9, 0.35, 1.0, 0.5
    height = header + rows * (above + plot_height + below)
    figure = new_figure(width_px, height, layout=None)
    plot_width = (FIGURE_WIDTH_IN - left - right - (columns - 1) * gap) / columns
    grid = figure.add_gridspec(
        rows,
        columns,
        left=left / FIGURE_WIDTH_IN,
        right=1 - right / FIGURE_WIDTH_IN,
        top=1 - (header + above) / height,
        bottom=below / height,
        wspace=gap / plot_width,
        hspace=(above + below) / plot_height,
    )
    figure.suptitle(
        f"{shorten(initiative.name, 60)}\n{initiative.period.dates_text()}",
        fontsize=TITLE_PT,
        color=INK,
        y=1 - 0.1 / height,
        va="top",
    )
    # Only the panels needed: each Axes costs ~20 ms to create.
    axes = [figure.add_subplot(grid[index // columns, index % columns]) for index in range(panels)]
    zone = ZoneInfo(initiative.period.timezone)
    for ax, metric, lines in zip(axes, metrics, titles, strict=False):
        _metric_panel(ax, metric, initiative.period, zone, lines, name_width + 3, max_ticks)
        _shipped(ax, [(d.name, d.shipped_at) for d in initiative.deliverables
                      if d.shipped_at and metric.definition.key in d.moves])
    if omitted:
        message_panel(axes[-1], f"+{omitted} more", "metrics not charted: see the review")
    if not metrics:
        message_panel(figure.add_subplot(grid[0, 0]), "no data", "no metrics defined yet")
    return figure


def _title_lines(name: str, width: int) -> list[str]:
    """The name in at most two lines of ``width`` characters."""
    lines = textwrap.wrap(" ".join(name.split()), width) or ["(unnamed)"]
    if len(lines) > 2:
        lines = [lines[0], shorten(" ".join(lines[1:]), width)]
    return lines


def _status_line(metric: MetricReview, width: int) -> str:
    """``on track · 21 → 14 min``; short of room, the unit goes first (the y axis shows it)."""
    status = metric.status.value
    before, after = metric.change.before, metric.change.after
    if after is None:
        return status
    start = format_number(before.value) if before else "–"
    with_units = f"{status} · {start} → {with_unit(after.value, metric.definition.unit)}"
    if len(with_units) <= width:
        return with_units
    return shorten(f"{status} · {start} → {format_number(after.value)}", width)


def _metric_panel(
    ax: Axes,
    metric: MetricReview,
    period: Period,
    zone: ZoneInfo,
    lines: list[str],
    status_width: int,
    max_ticks: int,
) -> None:
    definition = metric.definition
    color = STATUS_COLOR[metric.status]
    status = _status_line(metric, status_width)
    ax.set_title(  # an explicit y skips matplotlib's costly automatic title placement
        "\n".join(lines),
        loc="left",
        y=1.0,
        fontsize=PANEL_TITLE_PT,
        fontweight="bold",
        color=INK,
        pad=FONT_PT * 1.9,
    )
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: format_number(value)))
    ax.text(
        0,
        1.02,
        status,
        transform=ax.transAxes,
        fontsize=FONT_PT,
        color=color,
        fontweight="bold",
        va="bottom",
        ha="left",
    )
    # Sources can report NaN (Prometheus does); such points cannot be drawn.
    points = [p for p in metric.history if math.isfinite(p.value)] or [
        p for p in (metric.change.before, metric.change.after) if p and math.isfinite(p.value)
    ]
    if not points:
        message_panel(ax, "no data", metric.status_reason)
        return
    xs = mdates.date2num([p.at for p in points])
    ys = [p.value for p in points]
    ax.axvspan(
        mdates.date2num(period.start),
        mdates.date2num(period.end),
        color=PERIOD_SHADE,
        zorder=0,
        lw=0,
    )
    ax.plot(
        xs, ys, color=SERIES, lw=LINE_WIDTH_PT, zorder=3, marker="o" if len(points) == 1 else None
    )
    _reference_lines(ax, metric, color)
    _mark(ax, metric.change.before, MUTED, 9.5)
    _mark(ax, metric.change.after, color, 11)
    _step(ax, metric)
    _limits(ax, metric, points, period)
    _date_axis(ax, period.start, zone, max_ticks)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=3))
    ax.set_ylabel(shorten(definition.unit, 20) or "value")
    style_axes(ax)
    ax.grid(axis="y", color="#eaeef2", lw=1)


def _date_axis(ax: Axes, anchor: datetime, zone: ZoneInfo, max_ticks: int) -> None:
    """A few ticks stepped from ``anchor`` (the period start), compactly labelled."""
    low, high = ax.get_xlim()
    days = high - low
    if days > 60:
        months = next((m for m in (1, 2, 3, 6) if days / 30.4 / m <= max_ticks), 12)
        ax.xaxis.set_major_locator(mdates.MonthLocator(interval=months, tz=zone))
        fmt = "%b" if days <= 300 else "%b %Y"
    else:
        hours = [h for h in (1, 3, 6, 12, 24, 48, 72, 168, 336) if days * 24 / h <= max_ticks]
        step = timedelta(hours=hours[0] if hours else 672)
        origin = mdates.date2num(anchor)
        width = step.total_seconds() / 86400
        first, last = math.ceil((low - origin) / width), math.floor((high - origin) / width)
        ax.xaxis.set_major_locator(
            FixedLocator([origin + k * width for k in range(first, last + 1)])
        )
        fmt = "%H:%M" if step < timedelta(days=1) else "%b %-d"
    ax.xaxis.set_major_formatter(mdates.DateFormatter(fmt, tz=zone))


def _reference_lines(ax: Axes, metric: MetricReview, color: str) -> None:
    definition = metric.definition
    baseline, target = definition.baseline, definition.target
    lines = [(baseline, "baseline", MUTED, (0, (5, 3))), (target, "target", color, ":")]
    for value, name, line_color, style in lines:
        if value is None:
            continue
        other = target if name == "baseline" else baseline
        above = other is None or value >= other
        ax.axhline(value, color=line_color, lw=2.0, ls=style, zorder=2)
        label = f"{name} {with_unit(value, definition.unit)}"
        if len(label) > 16:  # the y axis names the unit; keep the panel uncluttered
            label = f"{name} {format_number(value)}"
        if name == "target":
            _forecast_note(ax, metric, value, above, line_color)
        ax.text(
            0.99,
            value,
            label,
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="bottom" if above else "top",
            fontsize=FONT_PT,
            color=line_color,
            zorder=4,
            bbox={"facecolor": "white", "alpha": 0.75, "lw": 0, "pad": 1},
        )


FORECAST_STATUSES = (Status.ON_TRACK, Status.AT_RISK, Status.OFF_TRACK)


def _forecast_note(ax: Axes, metric: MetricReview, target: float, above: bool,
                   color: str) -> None:
    """When the recent pace reaches the target, beside the target line, inside the plot
    (the target's own label sits on the line's other side)."""
    ahead = metric.forecast
    if ahead is None or metric.status not in FORECAST_STATUSES:
        return
    if ahead.in_sight and ahead.earliest is not None and ahead.latest is not None:
        when = f"reached {days_text(ahead.earliest, ahead.latest)}"
    else:
        when = "not in sight at this pace"
    ax.text(0.99, target, when, transform=ax.get_yaxis_transform(), ha="right",
            va="top" if above else "bottom", fontsize=FONT_PT, color=color, zorder=4,
            bbox={"facecolor": "white", "alpha": 0.75, "lw": 0, "pad": 1})


def _mark(ax: Axes, point: Point | None, color: str, size: float) -> None:
    if point is not None:  # a one-point line: far cheaper to draw than a scatter collection
        ax.plot(
            [mdates.date2num(point.at)],
            [point.value],
            marker="o",
            ms=size,
            color=color,
            mec="white",
            mew=1.5,
            zorder=5,
            clip_on=False,  # the latest point sits on the right edge: show all of it
        )


def _step(ax: Axes, metric: MetricReview) -> None:
    """A dashed line where the series shifted level, labelled with its day."""
    step = metric.change.assessment.step if metric.change.assessment else None
    if step is None:
        return
    x = mdates.date2num(datetime.combine(step.day, time(0), UTC))
    ax.axvline(x, color=MUTED, lw=1.5, ls=(0, (4, 3)), zorder=2)
    _line_label(ax, x, f"step {day_text(step.day)}", MUTED, left=True)


def _shipped(ax: Axes, marks: Sequence[tuple[str, datetime]]) -> None:
    """A solid line, labelled with its name, where a deliverable that moves this metric
    shipped (inside the panel's dates)."""
    low, high = ax.get_xlim()
    for name, at in marks:
        x = mdates.date2num(at)
        if not low <= x <= high:
            continue
        ax.axvline(x, color=MOVEMENT_COLOR[Movement.IMPROVED], lw=1.2, zorder=2, alpha=0.8)
        _line_label(ax, x, f"shipped: {shorten(name, 28)}", INK, left=False)


def _line_label(ax: Axes, x: float, text: str, color: str, *, left: bool) -> None:
    """``text`` along a vertical line at ``x``, on its left or right, mid-height: a step's
    label on the left, a ship's on the right, so the two never cover each other."""
    ax.annotate(text, (x, 0.5), xycoords=("data", "axes fraction"),
                xytext=(-3 if left else 3, 0), textcoords="offset points", rotation=90,
                fontsize=FONT_PT, color=color, ha="right" if left else "left",
                va="center", zorder=6,
                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none",
                      "alpha": 0.8})


def _limits(ax: Axes, metric: MetricReview, points: Sequence[Point], period: Period) -> None:
    definition = metric.definition
    values = [p.value for p in points]
    values += [v for v in (definition.baseline, definition.target) if v is not None]
    low, high = min(values), max(values)
    pad = (high - low) * 0.12 or max(abs(high) * 0.1, 1.0)
    ax.set_ylim(low - pad, high + pad)
    times: list[datetime] = [points[0].at, points[-1].at, period.start, period.end]
    ax.set_xlim(mdates.date2num(min(times)), mdates.date2num(max(times)))


