"""Values observed over time: what sources read and what reviews are computed from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MAX_SEGMENT_LENGTH = 128


@dataclass(frozen=True)
class Reading:
    """A value observed at a time, for the total (segment '') or one segment."""

    observed_at: datetime
    value: float
    segment: str = ""


@dataclass(frozen=True)
class Point:
    """One point of a series: a value at a time."""

    at: datetime
    value: float
