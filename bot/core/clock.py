"""Time as a dependency: code below the composition root is handed a clock, never reads one.

A :data:`Clock` returns the current time, timezone-aware in UTC. Processes get
:func:`system_clock` from :mod:`bot.wiring`; tests pass a fixed time (``lambda: NOW``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The wall clock, in UTC: the one place the code reads it."""
    return datetime.now(UTC)
