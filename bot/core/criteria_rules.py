"""What makes a metric's success criteria hold together, whatever transport set them.

A criterion that contradicts itself would be reported wrongly for its whole life: a
metric that improves downward with a target above its baseline would be "achieved" while
it got worse. These rules read the metric as it would be after a change (its stored
fields with the new ones laid over) and return the first problem, in words that say how to
fix it; the application refuses the change with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from bot.core.kinds import Direction


def _number(value: float) -> str:
    return f"{value:g}"


SHARE_UNITS = frozenset({"%", "percent", "pct", "ratio", "share"})


def total_of(unit: str, config: Mapping[str, Any]) -> str:
    """How a metric's total relates to its segments: as its source declares, else their
    sum, but never for a share, whose total is taken as given (``none``)."""
    declared = config.get("total")
    if isinstance(declared, str) and declared:
        return declared.lower()
    return "none" if unit.strip().lower() in SHARE_UNITS else "sum"


def summed_share_problem(metric: Mapping[str, Any]) -> str | None:
    """A share per segment (unit %) whose total would be the segments' sum, or None."""
    config = metric.get("source_config") or {}
    segmented = any(config.get(name) for name in ("by", "segment_column", "segments"))
    unit = str(metric.get("unit") or "").strip().lower()
    declared = config.get("total")
    if not segmented or unit not in SHARE_UNITS or (
            isinstance(declared, str) and declared.lower() != "sum"):
        return None
    return ("its unit is a share, so its total is never the sum of its segments: say "
            "total=weighted (with the counts that weigh each segment), total=mean, or "
            "total=none when the source returns the total itself.")


def criteria_problem(metric: Mapping[str, Any]) -> str | None:
    """The first contradiction among ``direction``, ``baseline_value``, ``target_value``,
    ``baseline_at``, ``target_date``, ``noise`` and how a share's total is made (absent
    fields are unset), or None."""
    share = summed_share_problem(metric)
    if share:
        return share
    noise = metric.get("noise")
    if noise is not None and noise < 0:
        return (f"noise must be 0 or more (got {_number(noise)}): it is how large a change "
                "must be to count as a move.")
    baseline, target = metric.get("baseline_value"), metric.get("target_value")
    direction = Direction(metric.get("direction") or Direction.UP)
    if baseline is not None and target is not None:
        if target == baseline:
            return (f"target and baseline are both {_number(target)}: there is nothing to "
                    "move. Set a target above the baseline (direction=up) or below it "
                    "(direction=down); a limit to stay within is a guard rail (guard_rail: "
                    "in a criteria file).")
        improves_upward = target > baseline
        if improves_upward != (direction is Direction.UP):
            side, way = ("above", "up") if improves_upward else ("below", "down")
            return (f"the target {_number(target)} is {side} the baseline "
                    f"{_number(baseline)}, but direction={direction.value}: reaching the "
                    f"target would be reported as a regression. Use direction={way}, or "
                    "check the two values.")
    baseline_at, target_date = metric.get("baseline_at"), metric.get("target_date")
    if baseline_at is not None and target_date is not None:
        baseline_day = baseline_at.date() if isinstance(baseline_at, datetime) else baseline_at
        if isinstance(baseline_day, date) and target_date < baseline_day:
            return (f"the target date {target_date.isoformat()} is before the baseline date "
                    f"{baseline_day.isoformat()}: the target is reached after the baseline "
                    "is measured.")
    return None
