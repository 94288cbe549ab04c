"""Option values: one parser per kind of ``name=value``, and the option tables of each command.

Each parser takes the raw text and the option's name and returns the value, or raises
:class:`UsageError` whose message names the option. The rules for keys, numbers, dates,
durations, sprint lengths and time zones live in :mod:`bot.core.values`, shared with settings,
criteria files and the Slack modals; these wrappers only add the option's name.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from bot.core import values
from bot.core.errors import SourceError, UsageError
from bot.core.kinds import Direction, SignoffRole
from bot.core.periods import MONTHS
from metrics.kinds import source_kinds
from metrics.member_configs import refuse_member_config

MAX_TEXT = 3000
EXPORT_FORMATS = ("arc42", "csv", "yaml")

_PLAIN_NAME = re.compile(r"^[@#]?([\w.\-]{1,64})$")
_SEGMENT = re.compile(r"[\w.\-]{1,40}=[^=\s][^=]{0,80}")
_RETRO = re.compile(r"^([a-z]{3})[a-z]*@(\d{1,2}):(\d{2})$")
_QUARTERLY = re.compile(r"^(\d{1,2})d@(\d{1,2}):(\d{2})$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

T = TypeVar("T")


def _named(parse: Callable[[str], T], text: str, name: str) -> T:
    """A shared parser's value; its message, which reads after a name, gets the option's."""
    try:
        return parse(text)
    except ValueError as exc:
        raise UsageError(f"{name} {exc}.") from None


def parse_number(text: str, name: str) -> float:
    return _named(values.parse_number, text, name)


def parse_duration(text: str, name: str) -> timedelta:
    """A duration option: the shared parser, with the option's name in the message."""
    return _named(values.parse_duration, text, name)


def parse_day(text: str, name: str) -> date:
    """A calendar date, ``2026-12-31``."""
    return _named(values.parse_date, text, name)


def parse_sprint_days(text: str, name: str) -> int:
    return _named(values.parse_sprint_days, text, name)


def parse_timezone(text: str, name: str) -> str:
    """A time zone option: the shared parser, with the option's name in the hint."""
    try:
        return values.parse_timezone(text)
    except ValueError:
        raise UsageError(f"{text!r} is not an IANA time zone; use e.g. {name}=Europe/Berlin."
                         ) from None


def parse_direction(text: str, name: str) -> str:
    lowered = text.strip().lower()
    if lowered in {"up", "higher", "higher-is-better", "increase", "+"}:
        return Direction.UP.value
    if lowered in {"down", "lower", "lower-is-better", "decrease", "-"}:
        return Direction.DOWN.value
    raise UsageError(f"{name} must be up (higher is better) or down (lower is better), "
                     f"got {text!r}.")


def parse_month(text: str, name: str) -> int:
    lowered = text.strip().lower()
    if lowered in MONTHS:
        return MONTHS[lowered]
    if lowered.isdigit() and 1 <= int(lowered) <= 12:
        return int(lowered)
    raise UsageError(f"{name} must be a month, 1-12 or a name like apr (got {text!r}).")


def parse_user(text: str, name: str) -> str:
    """A user as a plain word, ``@ana`` or ``@U123`` (the Slack edge unwraps mentions)."""
    match = _PLAIN_NAME.match(text)
    if not match:
        raise UsageError(f"{name} must name a user, e.g. {name}=@ana (got {text!r}).")
    return match[1]


def parse_channel(text: str, name: str) -> str:
    """A channel as a plain word, ``#team-reviews`` or ``#C123``."""
    match = _PLAIN_NAME.match(text)
    if not match:
        raise UsageError(f"{name} must name a channel, e.g. {name}=#team-reviews "
                         f"(got {text!r}).")
    return match[1]


def parse_text(text: str, name: str) -> str:
    if len(text) > MAX_TEXT:
        raise UsageError(f"{name} is {len(text)} characters; the limit is {MAX_TEXT}.")
    return text.strip()


def parse_short_text(text: str, name: str) -> str:
    if not text.strip():
        raise UsageError(f"{name} must not be empty.")
    if len(text) > 200:
        raise UsageError(f"{name} is {len(text)} characters; the limit is 200.")
    return text.strip()


def parse_unit(text: str, name: str) -> str:
    if len(text) > 32:
        raise UsageError(f"{name} is at most 32 characters (got {len(text)}).")
    return text.strip()


def parse_instant(text: str, name: str) -> datetime | date:
    """A date or a local date-time; the initiative's zone is applied later."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{name} must be a date or date-time like 2026-11-20 or "
                         f"2026-11-20T14:30 (got {text!r}).") from None
    if len(text) <= 10:
        return parsed.date()
    return parsed


def parse_source(text: str, name: str) -> str:
    """A source kind from :mod:`metrics.kinds`: a built-in or a plugin's."""
    lowered = text.strip().lower()
    kinds = source_kinds()
    if lowered not in kinds:
        close = difflib.get_close_matches(lowered, kinds, n=1)
        hint = f"Did you mean {close[0]}? " if close else ""
        raise UsageError(f"{name} must be a source kind (got {text!r}). {hint}"
                         f"Kinds: {', '.join(kinds)}.")
    return lowered


def parse_source_config(text: str, name: str) -> dict[str, Any]:
    """A JSON object naming a connection an operator registered; URLs, headers,
    credentials and ``${NAME}`` references belong to the connection, never here."""
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{name} must be a JSON object in single quotes, e.g. "
                         f"{name}='{{\"connection\": \"prom\", \"query\": "
                         f"\"sum(up)\"}}' ({exc.msg} at character {exc.pos}).") from None
    if not isinstance(config, dict):
        raise UsageError(f"{name} must be a JSON object ({{...}}).")
    try:
        refuse_member_config(config)
    except SourceError as exc:
        raise UsageError(exc.message) from None
    if "every" in config:
        parse_duration(str(config["every"]), "every")
    return config


def parse_segment(text: str, name: str) -> str:
    if not _SEGMENT.fullmatch(text):
        raise UsageError(f"{name} must look like label=value, e.g. {name}=region=EU "
                         f"(got {text!r}).")
    return text


def parse_role(text: str, name: str) -> SignoffRole:
    lowered = text.strip().lower()
    aliases = {"product": "product", "po": "product", "engineering": "engineering",
               "eng": "engineering"}
    if lowered not in aliases:
        raise UsageError(f"{name} must be product or engineering (got {text!r}).")
    return SignoffRole(aliases[lowered])


def _clock(hours: str, minutes: str, name: str) -> str:
    if int(hours) > 23 or int(minutes) > 59:
        raise UsageError(f"{name} has no such time of day: {hours}:{minutes}.")
    return f"{int(hours):02d}:{minutes}"


def parse_retro(text: str, name: str) -> dict[str, Any]:
    match = _RETRO.match(text.strip().lower())
    if not match or match[1] not in _WEEKDAYS:
        raise UsageError(f"{name} must be a weekday and time, e.g. {name}=thu@15:00 "
                         f"(got {text!r}).")
    return {"retro_weekday": _WEEKDAYS.index(match[1]),
            "local_time": _clock(match[2], match[3], name)}


def parse_quarterly(text: str, name: str) -> dict[str, Any]:
    match = _QUARTERLY.match(text.strip().lower())
    if not match or not 0 <= int(match[1]) <= 30:
        raise UsageError(f"{name} must be days before the quarter ends and a time, e.g. "
                         f"{name}=3d@09:00 (got {text!r}).")
    return {"days_before": int(match[1]), "local_time": _clock(match[2], match[3], name)}


def parse_lead(text: str, name: str) -> int:
    minutes = int(parse_duration(text, name).total_seconds() // 60)
    if minutes > 14 * 24 * 60:
        raise UsageError(f"{name} is at most 14d.")
    return minutes


def parse_off(text: str, name: str) -> tuple[str, ...]:
    lowered = text.strip().lower()
    choices = {"sprint": ("sprint",), "quarter": ("quarter",), "all": ("sprint", "quarter")}
    if lowered not in choices:
        raise UsageError(f"{name} must be sprint, quarter or all (got {text!r}).")
    return choices[lowered]


def parse_export_format(text: str, name: str) -> str:
    lowered = text.strip().lower()
    if lowered not in EXPORT_FORMATS:
        raise UsageError(f"{name} must be arc42, csv or yaml (got {text!r}).")
    return lowered


# ---------------------------------------------------------------------------- option tables

Parser = Callable[[str, str], Any]


@dataclass(frozen=True)
class Option:
    """A ``name=value`` option: the field it fills and how its value is parsed."""

    field: str
    parse: Parser


INITIATIVE_OPTIONS = {
    "name": Option("name", parse_short_text),
    "why": Option("why", parse_text),
    "who": Option("who", parse_text),
    "how": Option("how", parse_text),
    "what": Option("what", parse_text),
    "channel": Option("channel", parse_channel),
    "po": Option("product_owner", parse_user),
    "eng": Option("engineering_owner", parse_user),
}
CADENCE_OPTIONS = {
    "sprint": Option("sprint_days", parse_sprint_days),
    "anchor": Option("sprint_anchor", parse_day),
    "tz": Option("timezone", parse_timezone),
    "fy-start": Option("fiscal_year_start_month", parse_month),
}
METRIC_OPTIONS = {
    "name": Option("name", parse_short_text),
    "question": Option("question", parse_text),
    "unit": Option("unit", parse_unit),
    "direction": Option("direction", parse_direction),
    "baseline": Option("baseline_value", parse_number),
    "baseline-at": Option("baseline_at", parse_day),
    "target": Option("target_value", parse_number),
    "by": Option("target_date", parse_day),
    "noise": Option("noise", parse_number),
    "stale": Option("stale_after_seconds", parse_duration),
    "source": Option("source_kind", parse_source),
    "source-config": Option("source_config", parse_source_config),
}
RECORD_OPTIONS = {
    "at": Option("at", parse_instant),
    "segment": Option("segment", parse_segment),
}
AGREE_OPTIONS = {"as": Option("role", parse_role)}
DIGEST_OPTIONS = {
    "retro": Option("sprint", parse_retro),
    "lead": Option("lead_minutes", parse_lead),
    "quarterly": Option("quarter", parse_quarterly),
    "off": Option("off", parse_off),
}
EXPORT_OPTIONS = {"format": Option("format", parse_export_format)}


def parse_options(pairs: list[tuple[str, str]], allowed: dict[str, Option],
                  usage: str) -> dict[str, Any]:
    """The fields the options fill; an unknown, repeated or bad option shows the usage."""
    fields: dict[str, Any] = {}
    seen: set[str] = set()
    for name, raw in pairs:
        option = allowed.get(name)
        if option is None:
            close = difflib.get_close_matches(name, list(allowed), n=1)
            hint = f" Did you mean {close[0]}=?" if close else ""
            raise UsageError(f"Unknown option {name}=.{hint}", usage)
        if name in seen:
            raise UsageError(f"Option {name}= is given twice.", usage)
        seen.add(name)
        try:
            fields[option.field] = option.parse(raw, name)
        except UsageError as exc:
            raise UsageError(exc.message, usage) from None
    return fields
