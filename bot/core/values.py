"""Parsers for the values people type, shared by the grammar, settings, criteria files and modals.

Each parser takes the text and returns the value, or raises :class:`ValueError` whose message
says what was wrong and what a good value looks like. Callers add where the value came from
(an option name, an environment variable, a line of a file).
"""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DURATION = re.compile(r"^(\d{1,5})\s*(m|min|h|d|w)$")
_DURATION_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_timezone(text: str) -> str:
    """An IANA time zone name such as ``Europe/Berlin``, checked against the time zone data.

    Names of areas (``Europe``) are folders in the time zone data, not zones; depending on
    where the data lives (the system's files or the ``tzdata`` package) looking one up raises
    ``ZoneInfoNotFoundError``, ``IsADirectoryError`` or ``PermissionError``: all are refused.
    """
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"{text!r} is not an IANA time zone; use e.g. Europe/Berlin"
                         ) from None
    return text


def parse_duration(text: str) -> timedelta:
    """A positive duration such as ``30m``, ``36h``, ``14d`` or ``2w``."""
    match = _DURATION.match(text.strip().lower())
    if not match or int(match[1]) == 0:
        raise ValueError(f"must be a duration like 30m, 36h, 14d or 2w (got {text!r})")
    return timedelta(seconds=int(match[1]) * _DURATION_SECONDS[match[2]])
