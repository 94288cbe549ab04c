"""Moments typed on the command line."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.clock import system_clock
from bot.core.errors import UsageError


def parse_now(text: str | None) -> datetime:
    """``--now``: an ISO date-time (UTC when it names no zone), or the wall clock."""
    if not text:
        return system_clock()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--now must be an ISO date-time, got {text!r}.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
