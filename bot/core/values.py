"""Parsers for the values people type, shared by the grammar, settings, criteria files and modals.

Each parser takes the text and returns the value, or raises :class:`ValueError` whose message
says what was wrong and what a good value looks like. Callers add where the value came from
(an option name, an environment variable, a line of a file).
"""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DURATION = re.compile(r"^(\d{1,5})\s*(m|min|h|d|w)$")
_DURATION_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
MAX_SPRINT_DAYS = 91

# Words that start a review period ("review this sprint"): a key spelled like one would make
# commands ambiguous, and "all"/"help" are words of the commands themselves.
RESERVED_KEYS = frozenset(
    {"this", "last", "since", "between", "from", "past", "current", "previous", "all", "help"}
)


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


def parse_sprint_days(text: str) -> int:
    """A sprint length in whole days, 1 to 91: ``14``, ``14d`` or ``2w``."""
    stripped = text.strip()
    try:
        length = parse_duration(f"{stripped}d" if stripped.isdigit() else stripped)
    except ValueError:
        length = timedelta(0)
    if length % timedelta(days=1) or not 1 <= length.days <= MAX_SPRINT_DAYS:
        raise ValueError(f"must be a duration of whole days between 1d and "
                         f"{MAX_SPRINT_DAYS}d, e.g. 14d or 2w (got {text!r})")
    return length.days


def parse_key(text: str) -> str:
    """An initiative or metric key as it is stored: ``checkout``, ``deploy-time``.

    Lowercase letters, digits, ``-`` and ``_``, up to 64, starting with a letter or digit;
    not a period word such as ``this``. Nothing is folded: callers that read typed commands
    lowercase first, a criteria file must spell the key as stored.
    """
    if not _KEY.fullmatch(text) or text in RESERVED_KEYS:
        raise ValueError("use lowercase letters, digits, '-' or '_' (up to 64, starting with a "
                         "letter or digit), and not a period word like 'this' or 'last'")
    return text


def parse_number(text: str) -> float:
    """A finite number: ``12``, ``-3.5``, ``1e3``; ``_`` may group digits (``1_000``).

    A comma is refused: ``2,5`` is two and a half in much of Europe and ``1,000`` a
    thousand in English, so either reading would store a wrong value for someone."""
    cleaned = text.replace("_", "").strip()
    if "," in cleaned:
        raise ValueError(f"must be written with a dot for decimals and no thousands "
                         f"separator, e.g. 2.5 or 1000 (got {text!r}: a comma reads "
                         "differently by country)")
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"must be a number, e.g. 42 (got {text!r})") from None
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number (got {text!r})")
    return value


def parse_date(text: str) -> date:
    """A calendar date written the ISO way, ``2026-12-31`` (``2026-1-5`` is read too)."""
    match = _ISO_DATE.fullmatch(text.strip())
    try:
        if match:
            return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        pass  # e.g. 2026-02-30: the same message as any other text that is not a date
    raise ValueError(f"must be a date like 2026-12-31 (got {text!r})")
