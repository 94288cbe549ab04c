"""What a SQL source's result means: one number, or rows of (segment, value[, weight])."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.core.errors import SourceError
from bot.core.points import Reading
from metrics.common import segment_name, segmented, to_number

MAX_ROWS = 1000
SHAPE = "one number, rows of (segment, value), or of (segment, value, weight)"


def number(value: Any, what: str) -> float:
    """``to_number`` with a message that never shows the value read."""
    try:
        return to_number(value, what)
    except SourceError:
        raise SourceError(f"{what} is not a finite number (it is a {type(value).__name__}); "
                          "return a numeric column, e.g. cast(... as numeric).",
                          permanent=True) from None


def rows_readings(at: datetime, columns: list[str], rows: Sequence[Any], by: str | None,
                  total: str) -> list[Reading]:
    """The readings of a result: a row whose segment is NULL or '' is the total; a third
    column weighs the segments of a ``weighted`` total."""
    if len(columns) not in (1, 2, 3):
        raise SourceError(f"The query returns {len(columns)} columns; return {SHAPE}.",
                          permanent=True)
    if len(rows) > MAX_ROWS:
        raise SourceError(f"The query returns more than {MAX_ROWS} rows.", permanent=True)
    if not rows:
        raise SourceError("The query returned no rows.", permanent=False)
    if len(columns) == 1:
        return [_single(rows, at)]
    if (len(columns) == 3) != (total == "weighted"):
        raise SourceError("A third column weighs the segments: it goes with total=weighted, "
                          "and total=weighted needs it.", permanent=True)
    label = by or columns[0]
    segments: dict[str, float] = {}
    weights: dict[str, float] = {}
    given = None
    for row, (name, raw, *weight) in enumerate(rows, start=1):
        if raw is None:
            continue
        value = number(raw, f"The value in row {row}")
        if name in (None, ""):
            given = value
            continue
        segments[segment := segment_name(label, name)] = value
        if weight and weight[0] is not None:
            weights[segment] = number(weight[0], f"The weight in row {row}")
    return segmented(at, segments, given, total, weights)


def _single(rows: Sequence[Any], at: datetime) -> Reading:
    if len(rows) > 1:
        raise SourceError(f"The query returns {len(rows)} rows of one column; return {SHAPE}.",
                          permanent=True)
    if rows[0][0] is None:
        raise SourceError("The query returned NULL.", permanent=False)
    return Reading(at, number(rows[0][0], "The query's value"))
