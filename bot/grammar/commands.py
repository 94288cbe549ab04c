"""The `/outcome` command grammar, shared by the CLI and Slack.

``parse(text)`` turns the words after ``/outcome`` (or ``outcome``) into a command object,
or raises :class:`UsageError` with a specific message and the correct usage. Options are
``name=value`` pairs; values with spaces are quoted. Slack's mention markup
(``<@U123|ana>``, ``<#C123|team>``) and typographic quotes are understood.
"""

from __future__ import annotations

import difflib
import math
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.core import values
from bot.core.errors import SourceError, UsageError
from bot.core.kinds import Direction, SignoffRole
from bot.core.periods import MONTHS, PERIOD_USAGE, PeriodSpec, parse_date, parse_period
from metrics.kinds import source_kinds
from metrics.secrets import refuse_literal_secrets

MAX_TEXT = 3000


@dataclass(frozen=True)
class CommandSpec:
    name: str
    usage: str
    summary: str


COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec("define", 'define <key> "<name>" [why="..."] [who="..."] [how="..."] '
                    '[what="..."] [channel=#channel] [po=@user] [eng=@user]',
                    "create or change an initiative (Impact Mapping: why, who, how, what)"),
        CommandSpec("metric", 'metric add <initiative> <key> "<name>" baseline=<n> '
                    'target=<n> by=<YYYY-MM-DD> [unit=<unit>] [direction=up|down] '
                    '[question="..."] [noise=<n>] [stale=<7d>] [source=<kind>] '
                    "[source-config='{\"url\": ..., \"every\": \"1h\"}'] "
                    '[baseline-at=<YYYY-MM-DD>]',
                    "add or change a metric (Goal-Question-Metric) with baseline and target"),
        CommandSpec("agree", "agree <initiative> [as=product|engineering]",
                    "sign off an initiative's criteria as its product or engineering owner"),
        CommandSpec("list", "list [all]", "list initiatives with status and owners"),
        CommandSpec("show", "show <initiative>", "show an initiative's criteria and metrics"),
        CommandSpec("record", "record <initiative>.<metric> <value> [at=<YYYY-MM-DD[THH:MM]>] "
                    "[segment=<label>=<value>]", "record a metric value by hand"),
        CommandSpec("review", f"review [<initiative>] [{PERIOD_USAGE}]",
                    "before → after review for a period (default: this sprint)"),
        CommandSpec("moved", f"moved [{PERIOD_USAGE}]",
                    "what moved across all initiatives, biggest first"),
        CommandSpec("schedule", "schedule <initiative>|#channel [sprint=<14d>] "
                    "[anchor=<YYYY-MM-DD>] [tz=<Area/City>] [fy-start=<month>] "
                    "[retro=<weekday>@<HH:MM>] [lead=<24h>] [quarterly=<N>d@<HH:MM>] "
                    "[off=sprint|quarter|all]",
                    "set the review cadence and when digests are posted: before each sprint "
                    "retro, before each quarter ends"),
        CommandSpec("history", "history <initiative>[.<metric>]",
                    "audit log of an initiative, or recent values of a metric"),
        CommandSpec("archive", "archive <initiative>", "archive an initiative"),
        CommandSpec("pull", "pull [<initiative>|<initiative>.<metric>]",
                    "pull metric values from their sources now"),
        CommandSpec("export", "export <initiative>|all [format=arc42|csv|yaml]",
                    "export criteria as arc42 sections 1 and 10 (Markdown), values as CSV, "
                    "or criteria as YAML for `outcome apply`"),
        CommandSpec("help", "help [<command>]", "this help"),
    )
}


@dataclass(frozen=True)
class Help:
    topic: str | None = None


@dataclass(frozen=True)
class Define:
    key: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricAdd:
    initiative: str
    key: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Agree:
    initiative: str
    role: SignoffRole | None = None


@dataclass(frozen=True)
class ListInitiatives:
    include_archived: bool = False


@dataclass(frozen=True)
class Show:
    initiative: str


@dataclass(frozen=True)
class Record:
    initiative: str
    metric: str
    value: float
    at: datetime | date | None = None
    segment: str = ""


@dataclass(frozen=True)
class ReviewCommand:
    initiative: str | None
    period: PeriodSpec


@dataclass(frozen=True)
class Moved:
    period: PeriodSpec
    only_regressed: bool = False


@dataclass(frozen=True)
class MissingData:
    """Which metrics have no data or stale data (asked as a question)."""


@dataclass(frozen=True)
class Schedule:
    """Cadence fields for an initiative, and digest timing for it or for a channel."""

    initiative: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    digest: dict[str, Any] = field(default_factory=dict)
    channel: str | None = None


@dataclass(frozen=True)
class History:
    initiative: str
    metric: str | None = None


@dataclass(frozen=True)
class Archive:
    initiative: str


@dataclass(frozen=True)
class Export:
    """Export one initiative (``None``: all of them) as arc42 Markdown, CSV or YAML."""

    initiative: str | None
    format: str = "arc42"


@dataclass(frozen=True)
class Pull:
    """Pull now: every pulled metric, an initiative's, or one metric's."""

    initiative: str | None = None
    metric: str | None = None


Command = (Help | Define | MetricAdd | Agree | ListInitiatives | Show | Record | ReviewCommand
           | Moved | MissingData | Schedule | History | Archive | Export | Pull)


# ---------------------------------------------------------------------------- value parsers

def parse_number(text: str, name: str) -> float:
    cleaned = text.replace(",", "").replace("_", "").strip()
    try:
        value = float(cleaned)
    except ValueError:
        raise UsageError(f"{name} must be a number, e.g. {name}=42 (got {text!r}).") from None
    if not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number (got {text!r}).")
    return value


def parse_duration(text: str, name: str) -> timedelta:
    """A duration option: the shared parser, with the option's name in the message."""
    try:
        return values.parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{name} {exc}.") from None


def parse_direction(text: str, name: str) -> str:
    lowered = text.strip().lower()
    if lowered in {"up", "higher", "higher-is-better", "increase", "+"}:
        return Direction.UP.value
    if lowered in {"down", "lower", "lower-is-better", "decrease", "-"}:
        return Direction.DOWN.value
    raise UsageError(f"{name} must be up (higher is better) or down (lower is better), "
                     f"got {text!r}.")


def parse_timezone(text: str, name: str) -> str:
    """A time zone option: the shared parser, with the option's name in the hint."""
    try:
        return values.parse_timezone(text)
    except ValueError:
        raise UsageError(f"{text!r} is not an IANA time zone; use e.g. {name}=Europe/Berlin."
                         ) from None


def parse_month(text: str, name: str) -> int:
    lowered = text.strip().lower()
    if lowered in MONTHS:
        return MONTHS[lowered]
    if lowered.isdigit() and 1 <= int(lowered) <= 12:
        return int(lowered)
    raise UsageError(f"{name} must be a month, 1-12 or a name like apr (got {text!r}).")


_USER = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")
_CHANNEL = re.compile(r"^<#([A-Z0-9]+)(?:\|[^>]*)?>$")
_PLAIN_NAME = re.compile(r"^[@#]?([\w.\-]{1,64})$")


def parse_user(text: str, name: str) -> str:
    match = _USER.match(text) or _PLAIN_NAME.match(text)
    if not match:
        raise UsageError(f"{name} must name a user, e.g. {name}=@ana (got {text!r}).")
    return match[1]


def parse_channel(text: str, name: str) -> str:
    match = _CHANNEL.match(text) or _PLAIN_NAME.match(text)
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


def parse_day(text: str, name: str) -> date:
    try:
        return parse_date(text)
    except UsageError:
        raise UsageError(f"{name} must be a date like 2026-12-31 (got {text!r}).") from None


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


def parse_sprint_days(text: str, name: str) -> int:
    days = parse_duration(text if not text.isdigit() else f"{text}d", name).total_seconds()
    if days % 86400 or not 1 <= days // 86400 <= 91:
        raise UsageError(f"{name} must be whole days between 1d and 91d, e.g. {name}=14d.")
    return int(days // 86400)


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
    """A JSON object; secrets in it must be ``${ENV}`` references, never the values."""
    import json


    try:
        config = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{name} must be a JSON object in single quotes, e.g. "
                         f"{name}='{{\"url\": \"http://prometheus:9090\", \"query\": "
                         f"\"sum(up)\"}}' ({exc.msg} at character {exc.pos}).") from None
    if not isinstance(config, dict):
        raise UsageError(f"{name} must be a JSON object ({{...}}).")
    try:
        refuse_literal_secrets(config)
    except SourceError as exc:
        raise UsageError(exc.message) from None
    if "every" in config:
        parse_duration(str(config["every"]), "every")
    return config


def parse_segment(text: str, name: str) -> str:
    if not re.fullmatch(r"[\w.\-]{1,40}=[^=\s][^=]{0,80}", text):
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

# ---------------------------------------------------------------------------- tokenizing

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
_OPTION = re.compile(r"^([a-z][a-z-]*)=(.*)$", re.DOTALL)
_REFERENCE = re.compile(r"^([a-z0-9][a-z0-9_-]*)\.([a-z0-9][a-z0-9_-]*)$")


def tokenize(text: str) -> list[str]:
    """Split on whitespace, honouring quotes (straight or typographic)."""
    try:
        return shlex.split(text.translate(_QUOTES))
    except ValueError as exc:
        raise UsageError(f"Could not read the command: {exc} (check your quotes).") from None


def _split_options(tokens: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    positionals, options = [], []
    for token in tokens:
        match = _OPTION.match(token)
        if match:
            options.append((match[1], match[2]))
        else:
            positionals.append(token)
    return positionals, options


def _parse_options(pairs: list[tuple[str, str]], allowed: dict[str, Option],
                   usage: str) -> dict[str, Any]:
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


def _key(token: str, what: str, usage: str) -> str:
    key = token.lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", key):
        raise UsageError(f"{token!r} is not a valid {what} key (lowercase letters, digits, "
                         "'-' and '_').", usage)
    return key


def parse_reference(token: str, usage: str) -> tuple[str, str]:
    """``<initiative>.<metric>`` as (initiative key, metric key)."""
    match = _REFERENCE.match(token.lower())
    if not match:
        raise UsageError(f"{token!r} does not name a metric; write <initiative>.<metric>, "
                         "e.g. fleet.deploy-time.", usage)
    return match[1], match[2]


def _expect(positionals: list[str], count: int, usage: str, what: str) -> None:
    if len(positionals) < count:
        raise UsageError(f"Missing {what}.", usage)
    if len(positionals) > count:
        extra = " ".join(positionals[count:])
        raise UsageError(f"Unexpected {extra!r}; quote values that contain spaces.", usage)


# ---------------------------------------------------------------------------- commands

def _parse_define(args: list[str], usage: str) -> Command:
    positionals, pairs = _split_options(args)
    if not positionals:
        raise UsageError("Missing the initiative key.", usage)
    key = _key(positionals[0], "initiative", usage)
    fields = _parse_options(pairs, INITIATIVE_OPTIONS | CADENCE_OPTIONS, usage)
    if len(positionals) == 2:
        fields["name"] = parse_short_text(positionals[1], "name")
    elif len(positionals) > 2:
        raise UsageError("The name has spaces: put it in quotes.", usage)
    return Define(key, fields)


def _parse_metric(args: list[str], usage: str) -> Command:
    if not args or args[0].lower() not in {"add", "set", "change"}:
        raise UsageError("Write `metric add ...`.", usage)
    positionals, pairs = _split_options(args[1:])
    if len(positionals) < 2:
        raise UsageError("Missing the initiative and metric keys.", usage)
    initiative = _key(positionals[0], "initiative", usage)
    key = _key(positionals[1], "metric", usage)
    fields = _parse_options(pairs, METRIC_OPTIONS, usage)
    if "stale_after_seconds" in fields:
        fields["stale_after_seconds"] = int(fields["stale_after_seconds"].total_seconds())
    if "baseline_at" in fields:
        fields["baseline_at"] = datetime.combine(fields["baseline_at"], time(0),
                                                 tzinfo=ZoneInfo("UTC"))
    if len(positionals) == 3:
        fields["name"] = parse_short_text(positionals[2], "name")
    elif len(positionals) > 3:
        raise UsageError("The name has spaces: put it in quotes.", usage)
    return MetricAdd(initiative, key, fields)


def _parse_agree(args: list[str], usage: str) -> Command:
    positionals, pairs = _split_options(args)
    _expect(positionals, 1, usage, "the initiative key")
    fields = _parse_options(pairs, AGREE_OPTIONS, usage)
    return Agree(_key(positionals[0], "initiative", usage), fields.get("role"))


def _parse_list(args: list[str], usage: str) -> Command:
    if args and [a.lower() for a in args] != ["all"]:
        raise UsageError(f"`list` takes no arguments except `all` (got {' '.join(args)!r}).",
                         usage)
    return ListInitiatives(include_archived=bool(args))


def _single_initiative(args: list[str], usage: str, build: Callable[[str], Command]) -> Command:
    positionals, pairs = _split_options(args)
    if pairs:
        raise UsageError(f"Unknown option {pairs[0][0]}=.", usage)
    _expect(positionals, 1, usage, "the initiative key")
    return build(_key(positionals[0], "initiative", usage))


def _parse_record(args: list[str], usage: str) -> Command:
    positionals, pairs = _split_options(args)
    if len(positionals) < 2:
        raise UsageError("Missing the metric or the value.", usage)
    _expect(positionals, 2, usage, "the metric and value")
    initiative, metric = parse_reference(positionals[0], usage)
    try:
        value = parse_number(positionals[1], "value")
    except UsageError as exc:
        raise UsageError(exc.message, usage) from None
    fields = _parse_options(pairs, RECORD_OPTIONS, usage)
    return Record(initiative, metric, value, fields.get("at"), fields.get("segment", ""))


_PERIOD_WORDS = {"this", "last", "past", "since", "between", "from", "sprint", "quarter",
                 "current", "previous"}


def _parse_period_words(words: list[str], usage: str) -> PeriodSpec:
    try:
        return parse_period(words)
    except UsageError as exc:
        raise UsageError(exc.message, usage) from None


def _parse_review(args: list[str], usage: str) -> Command:
    initiative = None
    if args and args[0].lower() not in _PERIOD_WORDS:
        initiative = _key(args[0], "initiative", usage)
        args = args[1:]
    return ReviewCommand(initiative, _parse_period_words(args, usage))


def _parse_moved(args: list[str], usage: str) -> Command:
    return Moved(_parse_period_words(args, usage))


_RETRO = re.compile(r"^([a-z]{3})[a-z]*@(\d{1,2}):(\d{2})$")
_QUARTERLY = re.compile(r"^(\d{1,2})d@(\d{1,2}):(\d{2})$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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


DIGEST_OPTIONS = {
    "retro": Option("sprint", parse_retro),
    "lead": Option("lead_minutes", parse_lead),
    "quarterly": Option("quarter", parse_quarterly),
    "off": Option("off", parse_off),
}


def _parse_schedule(args: list[str], usage: str) -> Command:
    positionals, pairs = _split_options(args)
    _expect(positionals, 1, usage, "the initiative key or #channel")
    cadence_pairs = [(k, v) for k, v in pairs if k in CADENCE_OPTIONS]
    digest_pairs = [(k, v) for k, v in pairs if k not in CADENCE_OPTIONS]
    fields = _parse_options(cadence_pairs, CADENCE_OPTIONS, usage)
    digest = _parse_options(digest_pairs, DIGEST_OPTIONS, usage)
    if not fields and not digest:
        raise UsageError("Give at least one of sprint=, anchor=, tz=, fy-start=, retro=, "
                         "quarterly= or off=.", usage)
    target = positionals[0]
    if target.startswith(("#", "<#")):
        try:
            channel = parse_channel(target, "channel")
        except UsageError as exc:
            raise UsageError(exc.message, usage) from None
        return Schedule(None, fields, digest, channel)
    return Schedule(_key(target, "initiative", usage), fields, digest)


def _parse_history(args: list[str], usage: str) -> Command:
    _expect(args, 1, usage, "the initiative (or <initiative>.<metric>)")
    if "." in args[0]:
        initiative, metric = parse_reference(args[0], usage)
        return History(initiative, metric)
    return History(_key(args[0], "initiative", usage))


def _parse_help(args: list[str], usage: str) -> Command:
    topic = args[0].lower() if args else None
    if topic is not None and topic not in COMMANDS:
        raise UsageError(f"There is no command {topic!r}.", usage)
    return Help(topic)


EXPORT_FORMATS = ("arc42", "csv", "yaml")


def parse_export_format(text: str, name: str) -> str:
    lowered = text.strip().lower()
    if lowered not in EXPORT_FORMATS:
        raise UsageError(f"{name} must be arc42, csv or yaml (got {text!r}).")
    return lowered


def _parse_export(args: list[str], usage: str) -> Command:
    positionals, pairs = _split_options(args)
    _expect(positionals, 1, usage, "the initiative key (or all)")
    fields = _parse_options(pairs, {"format": Option("format", parse_export_format)}, usage)
    target = positionals[0].lower()
    initiative = None if target == "all" else _key(target, "initiative", usage)
    return Export(initiative, fields.get("format", "arc42"))


def _parse_pull(args: list[str], usage: str) -> Command:
    if not args:
        return Pull()
    _expect(args, 1, usage, "the initiative or <initiative>.<metric>")
    if "." in args[0]:
        return Pull(*parse_reference(args[0], usage))
    return Pull(_key(args[0], "initiative", usage))


PARSERS: dict[str, Callable[[list[str], str], Command]] = {
    "define": _parse_define,
    "metric": _parse_metric,
    "agree": _parse_agree,
    "list": _parse_list,
    "show": lambda a, u: _single_initiative(a, u, Show),
    "record": _parse_record,
    "review": _parse_review,
    "moved": _parse_moved,
    "schedule": _parse_schedule,
    "history": _parse_history,
    "archive": lambda a, u: _single_initiative(a, u, Archive),
    "pull": _parse_pull,
    "export": _parse_export,
    "help": _parse_help,
}


def parse(text: str) -> Command:
    """Parse the text after ``/outcome``. Empty text means help."""
    tokens = tokenize(text)
    if not tokens:
        return Help()
    name, args = tokens[0].lower(), tokens[1:]
    parser = PARSERS.get(name)
    if parser is None:
        close = difflib.get_close_matches(name, list(COMMANDS), n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        raise UsageError(f"Unknown command {tokens[0]!r}.{hint}",
                         "help (lists every command)")
    return parser(args, COMMANDS[name].usage)


def help_text(topic: str | None = None, prefix: str = "/outcome") -> str:
    """Usage of one command, or of all of them."""
    if topic:
        spec = COMMANDS[topic]
        return f"{prefix} {spec.usage}\n{spec.summary}"
    lines = [f"{prefix} {spec.usage}\n    {spec.summary}" for spec in COMMANDS.values()]
    return "Commands:\n" + "\n".join(lines)
