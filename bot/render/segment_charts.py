"""The segment chart: before vs after per segment as grouped bars, the total on top."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from bot.core.periods import Period
from bot.core.review import Change, MetricReview, Movement, SegmentReview
from bot.render.common import before_after, drivers_text, percent, shorten
from bot.render.figures import (
    BEFORE_BAR,
    FONT_PT,
    INK,
    MAX_SEGMENT_ROWS,
    MOVEMENT_COLOR,
    MUTED,
    TITLE_PT,
    new_figure,
    style_axes,
)


def _share_of(metric: MetricReview, segment: str) -> float | None:
    assert metric.drivers is not None
    return next((c.share for c in metric.drivers.contributions if c.segment == segment), None)


def segment_figure(metric: MetricReview, period: Period, *, width_px: int = 1200) -> Figure | None:
    """The figure behind :func:`segment_chart`: the total on top, then each segment."""
    if not metric.segments:
        return None
    definition = metric.definition
    shown = _chosen_segments(metric.segments)
    rows: list[tuple[str, Change, bool]] = [("Total", metric.change, False)]
    rows += [(shorten(s.segment, 24), s.change, s.regressed_while_total_improved) for s in shown]
    # When the total moved, each segment's share of the move ("driven by") beside it.
    shares = ([None] + [_share_of(metric, s.segment) for s in shown]
              if drivers_text(metric) else [None] * len(rows))
    figure = new_figure(width_px, 1.9 + 0.62 * len(rows))
    figure.suptitle(
        f"{shorten(definition.name, 50)} by segment\n{period.dates_text()}",
        fontsize=TITLE_PT,
        color=INK,
    )
    ax = figure.subplots()
    height = 0.38
    for index, ((_, change, _), share) in enumerate(zip(rows, shares, strict=True)):
        if change.before is not None:
            ax.barh(index - height / 2, change.before.value, height, color=BEFORE_BAR)
        if change.after is not None:
            ax.barh(
                index + height / 2,
                change.after.value,
                height,
                color=MOVEMENT_COLOR[change.movement],
            )
        label = before_after(change, definition.unit) + (
            f"\n{percent(share)} of the move" if share is not None else "")
        ax.annotate(
            label,
            (1.0, index),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 0),
            textcoords="offset points",
            ha="right",
            va="center",
            fontsize=FONT_PT,
            color=INK,
        )
    values = [p.value for _, c, _ in rows for p in (c.before, c.after) if p is not None]
    low, high = min([0.0, *values]), max([0.0, *values])
    # Leave the right third for the before → after labels.
    ax.set_xlim(low - 0.02 * (high - low or 1), high + 0.7 * (high - low or 1))
    ax.set_yticks(range(len(rows)), [name for name, _, _ in rows])
    ax.set_xlabel(shorten(definition.unit, 24) or "value")
    style_axes(ax)
    for tick, (_, _, hidden) in zip(ax.get_yticklabels(), rows, strict=True):
        if hidden:
            tick.set_color(MOVEMENT_COLOR[Movement.REGRESSED])
            tick.set_fontweight("bold")
    ax.get_yticklabels()[0].set_fontweight("bold")
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MaxNLocator(nbins=3))
    ax.set_xticks([tick for tick in ax.get_xticks() if low <= tick <= high])
    movements = {change.movement for _, change, _ in rows}
    legend = [Patch(color=BEFORE_BAR, label="before")] + [
        Patch(color=MOVEMENT_COLOR[movement], label=label)
        for movement, label in (
            (Movement.IMPROVED, "improved"),
            (Movement.REGRESSED, "regressed"),
            (Movement.FLAT, "flat"),
        )
        if movement in movements
    ]
    ax.legend(
        handles=legend,
        ncols=len(legend),
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        frameon=False,
        fontsize=FONT_PT,
        handlelength=1.2,
    )
    notes = []
    if metric.hidden_regressions:
        notes.append("bold red: regressed while the total improved")
    if len(shown) < len(metric.segments):
        notes.append(f"{len(metric.segments) - len(shown)} more segments not shown")
    if notes:
        ax.set_title("; ".join(notes), loc="left", fontsize=FONT_PT, color=MUTED, pad=28)
    return figure


def _chosen_segments(segments: Sequence[SegmentReview]) -> list[SegmentReview]:
    """At most MAX_SEGMENT_ROWS, regressions first, shown in their original order."""
    ranked = sorted(
        range(len(segments)),
        key=lambda i: (segments[i].change.movement is not Movement.REGRESSED, i),
    )
    keep = sorted(ranked[:MAX_SEGMENT_ROWS])
    return [segments[i] for i in keep]
