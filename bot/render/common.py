"""Presentation helpers shared by every renderer: values with units, changes, dates."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.deliverables import UNMEASURED_NOTE
from bot.core.periods import day_text
from bot.core.review import (
    Change,
    InitiativeReview,
    MetricDefinition,
    MetricReview,
    Movement,
    Status,
    format_number,
)

NO_VALUE = "–"

STATUS_EMOJI = {  # Slack emoji codes
    Status.ACHIEVED: ":white_check_mark:",
    Status.ON_TRACK: ":large_green_circle:",
    Status.AT_RISK: ":large_yellow_circle:",
    Status.OFF_TRACK: ":red_circle:",
    Status.NO_DATA: ":grey_question:",
    Status.STALE: ":hourglass:",
    Status.NO_TARGET: ":white_circle:",
}
STATUS_SYMBOL = {  # the same, as Unicode, for Markdown and HTML
    Status.ACHIEVED: "✅",
    Status.ON_TRACK: "🟢",
    Status.AT_RISK: "🟡",
    Status.OFF_TRACK: "🔴",
    Status.NO_DATA: "❔",
    Status.STALE: "⌛",
    Status.NO_TARGET: "⚪",
}
STATUS_COLOR = {
    Status.ACHIEVED: "#1a7f37",
    Status.ON_TRACK: "#2da44e",
    Status.AT_RISK: "#bf8700",
    Status.OFF_TRACK: "#cf222e",
    Status.NO_DATA: "#6e7781",
    Status.STALE: "#8250df",
    Status.NO_TARGET: "#57606a",
}
STATUS_ORDER = tuple(Status)

# Units read better attached to the number ("38%", "4.2/5") than spaced ("13 min").
_ATTACHED_UNIT_PREFIXES = ("%", "/", "°", "‰")


def shorten(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters, ending in an ellipsis when cut."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    return line[: max(limit - 1, 0)].rstrip() + "…"


def with_unit(value: float | None, unit: str) -> str:
    if value is None:
        return NO_VALUE
    number = format_number(value)
    if not unit:
        return number
    if unit.startswith(_ATTACHED_UNIT_PREFIXES):
        return f"{number}{unit}"
    return f"{number} {unit}"


def signed(value: float, unit: str) -> str:
    text = with_unit(value, unit)
    return text if value < 0 else f"+{text}"


def percent(fraction: float | None, *, sign: bool = False) -> str:
    """``0.684`` → ``68%``; small shares keep a decimal so they do not read as zero."""
    if fraction is None:
        return NO_VALUE
    share = fraction * 100
    digits = 1 if 0 < abs(share) < 10 else 0
    text = f"{share:+.{digits}f}%" if sign else f"{share:.{digits}f}%"
    return text


def before_after(change: Change, unit: str) -> str:
    """``40 min → 13 min``, with a dash for a missing side."""
    before = change.before.value if change.before else None
    after = change.after.value if change.after else None
    return f"{with_unit(before, unit)} → {with_unit(after, unit)}"


def change_text(change: Change, unit: str) -> str:
    """``-27 min (-68%)``; a change of a percentage is in points: ``+14 pp (+27%)``."""
    delta = change.delta
    if delta is None:
        return NO_VALUE
    relative = change.relative
    text = signed(delta, "pp" if unit == "%" else unit)
    return f"{text} ({percent(relative, sign=True)})" if relative is not None else text


def progress_bar(progress: float | None, cells: int = 10) -> str:
    if progress is None:
        return ""
    filled = round(min(max(progress, 0.0), 1.0) * cells)
    return "▰" * filled + "▱" * (cells - filled)


def target_text(definition: MetricDefinition) -> str:
    """``target 12 min by 2026-06-01`` (or what is missing)."""
    if definition.target is None:
        return "no target agreed"
    text = f"target {with_unit(definition.target, definition.unit)}"
    if definition.target_date is not None:
        text += f" by {definition.target_date:%Y-%m-%d}"
    return text


def local_time(moment: datetime | None, timezone: str) -> str:
    """``Nov 29 10:00 CET`` in ``timezone``; a dash for no time."""
    if moment is None:
        return NO_VALUE
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%b} {local.day} {local:%H:%M %Z}"


def status_counts(metrics: list[MetricReview]) -> list[tuple[Status, int]]:
    counts = {status: 0 for status in STATUS_ORDER}
    for metric in metrics:
        counts[metric.status] += 1
    return [(status, count) for status, count in counts.items() if count]


def step_text(change: Change, unit: str) -> str | None:
    """'stepped down from 31 to 24 min on Nov 18', when the series shifted level inside or
    just before the period."""
    step = change.assessment.step if change.assessment else None
    if step is None:
        return None
    way = "up" if step.after > step.before else "down"
    return (f"stepped {way} from {format_number(step.before)} to "
            f"{with_unit(step.after, unit)} on {day_text(step.day)}")


DRIVERS_LISTED = 3
MIX_NEGLIGIBLE = 0.05  # a mix effect under this share of the move is not worth a number


def drivers_text(metric: MetricReview) -> str | None:
    """'driven by region=eu (-10 min, 83%), region=us (-2 min, 17%); rates -0.3 pp, mix
    -0.9 pp', when the total moved and its segments explain the move."""
    drivers = metric.drivers
    moved = metric.change.movement in (Movement.IMPROVED, Movement.REGRESSED)
    if drivers is None or not moved or not drivers.explained:
        return None
    unit = "pp" if metric.definition.unit == "%" else metric.definition.unit
    shown = drivers.contributions[:DRIVERS_LISTED]
    parts = [f"{c.segment} ({signed(c.effect, unit)}, {percent(c.share)})" for c in shown]
    more = len(drivers.contributions) - len(shown)
    text = "driven by " + ", ".join(parts) + (f" and {more} more" if more else "")
    if drivers.relation == "weighted" and drivers.rate is not None and drivers.mix is not None:
        if abs(drivers.mix) < MIX_NEGLIGIBLE * abs(drivers.explained):
            return text + "; all from the segments' own rates (their mix held)"
        text += f"; rates {signed(drivers.rate, unit)}, mix {signed(drivers.mix, unit)}"
        if abs(drivers.mix) > abs(drivers.rate):
            text += " (the shift between segments moved it more than their rates)"
    return text


def shipped_lines(initiative: InitiativeReview) -> list[str]:
    """"'Automatic rollback' shipped Nov 12 — since then: Deployment time 31 → 24 min
    (improved, beyond normal variation)", one per deliverable shipped in the period."""
    lines = []
    for shipped in initiative.shipped:
        assert shipped.shipped_on is not None
        head = f"'{shipped.name}' shipped {day_text(shipped.shipped_on)}"
        since = [f"{m.definition.name} {before_after(m.change, m.definition.unit)} "
                 f"({m.change.verdict})" for m in shipped.since]
        lines.append(f"{head} — since then: {'; '.join(since)}" if since
                     else f"{head} — it moves nothing measured")
    return lines


def unmeasured_lines(initiative: InitiativeReview) -> list[str]:
    """One line per deliverable that moves nothing measured."""
    return [f"'{d.name}' {d.unmeasured}: {UNMEASURED_NOTE}" for d in initiative.deliverables
            if d.unmeasured]


def segment_notes(metric: MetricReview) -> list[str]:
    """Plain-text notes on segments: hidden regressions first, then the rest."""
    unit = metric.definition.unit
    notes = [
        f"{s.segment} regressed while the total improved ({before_after(s.change, unit)})"
        for s in metric.hidden_regressions
    ]
    notes += [
        f"{s.segment} {s.change.verdict} ({before_after(s.change, unit)})"
        for s in metric.segments
        if not s.regressed_while_total_improved
    ]
    return notes


def all_metrics(initiatives: tuple[InitiativeReview, ...]) -> list[MetricReview]:
    return [metric for initiative in initiatives for metric in initiative.metrics]


def initiative_chart_name(initiative: InitiativeReview) -> str:
    """The file name renderers expect for an initiative's chart."""
    return f"{initiative.key}.png"


def segment_chart_name(initiative: InitiativeReview, metric: MetricReview) -> str:
    return f"{initiative.key}-{metric.definition.key}-segments.png"
