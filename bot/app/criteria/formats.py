"""How values are written in a criteria file: durations, instants and digest timings."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from bot.core.schedules import WEEKDAYS

# A digest as the file sees it: its timing, "off", or None when it does not exist.
DigestState = dict[str, Any] | str | None


def format_duration(seconds: int) -> str:
    """7d, 36h, 90m: the form `stale_after` and `lead` are written in."""
    if seconds % 86400 == 0 and seconds >= 2 * 86400:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


def instant_text(moment: datetime | None) -> str | None:
    """A moment in UTC; midnight is written as the bare date."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    if moment.time() == time(0):
        return moment.date().isoformat()
    return moment.isoformat()


def utc_text(moment: datetime) -> str:
    """A moment as a UTC instant, 2026-11-20T14:30:00Z: never a bare date, which a
    deliverable's ``shipped`` reads in the initiative's time zone."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def digest_text(kind: str, state: DigestState) -> str | None:
    """``thu@15:00`` for a sprint digest, ``3d@09:00`` for a quarterly one, or ``off``."""
    if state is None or isinstance(state, str):
        return state
    if kind == "sprint":
        return f"{WEEKDAYS[state['retro_weekday']]}@{state['local_time']}"
    return f"{state['days_before']}d@{state['local_time']}"
