"""The `/outcome` command grammar, shared by the CLI and Slack.

``parse(text)`` turns the words after ``/outcome`` (or ``outcome``) into a command object,
or raises :class:`UsageError` with a specific message and the correct usage. Options are
``name=value`` pairs (their parsers: :mod:`bot.grammar.options`); values with spaces are
quoted (:mod:`bot.grammar.tokens`). The text is plain: users and channels are ``@ana`` and
``#team`` words; the Slack handlers unwrap Slack's ``<@U123|ana>`` markup beforehand.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.errors import UsageError
from bot.core.kinds import SignoffRole
from bot.core.periods import PeriodSpec, parse_period
from bot.grammar.deliverables import (
    DeliverableCommand,
    Shipped,
    parse_deliverable,
    parse_shipped,
)
from bot.grammar.help import COMMANDS, help_text
from bot.grammar.options import (
    AGREE_OPTIONS,
    CADENCE_OPTIONS,
    DIGEST_OPTIONS,
    EXPORT_OPTIONS,
    INITIATIVE_OPTIONS,
    METRIC_OPTIONS,
    RECORD_OPTIONS,
    parse_channel,
    parse_day,
    parse_direction,
    parse_duration,
    parse_lead,
    parse_number,
    parse_options,
    parse_quarterly,
    parse_retro,
    parse_short_text,
    parse_source,
    parse_source_config,
    parse_sprint_days,
    parse_text,
    parse_timezone,
    parse_unit,
    parse_user,
)
from bot.grammar.push_tokens import PushTokenCommand, parse_push_token
from bot.grammar.tokens import expect, parse_key, parse_reference, split_options, tokenize

# What callers use as ``g.<name>``: the commands, ``parse``, and the value parsers that the
# criteria files and the Slack modals share with the grammar.
__all__ = [
    "COMMANDS", "Agree", "Archive", "Command", "Define", "DeliverableCommand", "Export",
    "Help", "History", "ListInitiatives", "MetricAdd", "MetricRemove", "MissingData",
    "Moved", "Pull", "PushTokenCommand", "Record", "ReviewCommand", "Schedule", "Shipped",
    "Show", "Unarchive",
    "UsageError", "help_text", "parse", "parse_channel", "parse_day", "parse_direction",
    "parse_duration", "parse_lead", "parse_number", "parse_quarterly", "parse_reference",
    "parse_retro", "parse_short_text", "parse_source", "parse_source_config",
    "parse_sprint_days", "parse_text", "parse_timezone", "parse_unit", "parse_user",
]


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
class MetricRemove:
    """Remove a metric and its values; unconfirmed, only say what would go."""

    initiative: str
    key: str
    confirmed: bool = False


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
    only_improved: bool = False


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
class Unarchive:
    """Bring an archived initiative back as a draft, to be signed off again."""

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


Command = (Help | Define | MetricAdd | MetricRemove | Agree | ListInitiatives | Show | Record
           | ReviewCommand | Moved | MissingData | Schedule | History | Archive | Unarchive
           | Export | Pull | PushTokenCommand | Shipped | DeliverableCommand)


# ---------------------------------------------------------------------------- commands

def _name(positionals: list[str], index: int, usage: str) -> str | None:
    """The quoted name after the keys, when it is given."""
    if len(positionals) > index + 1:
        raise UsageError("The name has spaces: put it in quotes.", usage)
    if len(positionals) == index + 1:
        return parse_short_text(positionals[index], "name")
    return None


def _parse_define(args: list[str], usage: str) -> Command:
    positionals, pairs = split_options(args)
    if not positionals:
        raise UsageError("Missing the initiative key.", usage)
    key = parse_key(positionals[0], "initiative", usage)
    fields = parse_options(pairs, INITIATIVE_OPTIONS | CADENCE_OPTIONS, usage)
    name = _name(positionals, 1, usage)
    if name is not None:
        fields["name"] = name
    return Define(key, fields)


def _parse_metric(args: list[str], usage: str) -> Command:
    if args and args[0].lower() in {"remove", "delete"}:
        return _parse_metric_remove(args[1:], usage)
    if not args or args[0].lower() not in {"add", "set", "change"}:
        raise UsageError("Write `metric add ...` or `metric remove ...`.", usage)
    positionals, pairs = split_options(args[1:])
    if len(positionals) < 2:
        raise UsageError("Missing the initiative and metric keys.", usage)
    initiative = parse_key(positionals[0], "initiative", usage)
    key = parse_key(positionals[1], "metric", usage)
    fields = parse_options(pairs, METRIC_OPTIONS, usage)
    if "stale_after_seconds" in fields:
        fields["stale_after_seconds"] = int(fields["stale_after_seconds"].total_seconds())
    if "baseline_at" in fields:
        fields["baseline_at"] = datetime.combine(fields["baseline_at"], time(0),
                                                 tzinfo=ZoneInfo("UTC"))
    name = _name(positionals, 2, usage)
    if name is not None:
        fields["name"] = name
    return MetricAdd(initiative, key, fields)


def _parse_metric_remove(args: list[str], usage: str) -> Command:
    confirmed = bool(args) and args[-1].lower() == "confirm"
    positionals = args[:-1] if confirmed else args
    expect(positionals, 2, usage, "the initiative and metric keys")
    return MetricRemove(parse_key(positionals[0], "initiative", usage),
                        parse_key(positionals[1], "metric", usage), confirmed)


def _parse_agree(args: list[str], usage: str) -> Command:
    positionals, pairs = split_options(args)
    expect(positionals, 1, usage, "the initiative key")
    fields = parse_options(pairs, AGREE_OPTIONS, usage)
    return Agree(parse_key(positionals[0], "initiative", usage), fields.get("role"))


def _parse_list(args: list[str], usage: str) -> Command:
    if args and [a.lower() for a in args] != ["all"]:
        raise UsageError(f"`list` takes no arguments except `all` (got {' '.join(args)!r}).",
                         usage)
    return ListInitiatives(include_archived=bool(args))


def _single_initiative(args: list[str], usage: str, build: Callable[[str], Command]) -> Command:
    positionals, pairs = split_options(args)
    if pairs:
        raise UsageError(f"Unknown option {pairs[0][0]}=.", usage)
    expect(positionals, 1, usage, "the initiative key")
    return build(parse_key(positionals[0], "initiative", usage))


def _parse_record(args: list[str], usage: str) -> Command:
    positionals, pairs = split_options(args)
    if len(positionals) < 2:
        raise UsageError("Missing the metric or the value.", usage)
    expect(positionals, 2, usage, "the metric and value")
    initiative, metric = parse_reference(positionals[0], usage)
    try:
        value = parse_number(positionals[1], "value")
    except UsageError as exc:
        raise UsageError(exc.message, usage) from None
    fields = parse_options(pairs, RECORD_OPTIONS, usage)
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
        initiative = parse_key(args[0], "initiative", usage)
        args = args[1:]
    return ReviewCommand(initiative, _parse_period_words(args, usage))


def _parse_moved(args: list[str], usage: str) -> Command:
    return Moved(_parse_period_words(args, usage))


def _parse_schedule(args: list[str], usage: str) -> Command:
    positionals, pairs = split_options(args)
    expect(positionals, 1, usage, "the initiative key or #channel")
    cadence_pairs = [(k, v) for k, v in pairs if k in CADENCE_OPTIONS]
    digest_pairs = [(k, v) for k, v in pairs if k not in CADENCE_OPTIONS]
    fields = parse_options(cadence_pairs, CADENCE_OPTIONS, usage)
    digest = parse_options(digest_pairs, DIGEST_OPTIONS, usage)
    if not fields and not digest:
        raise UsageError("Give at least one of sprint=, anchor=, tz=, fy-start=, retro=, "
                         "quarterly= or off=.", usage)
    target = positionals[0]
    if target.startswith("#"):
        try:
            channel = parse_channel(target, "channel")
        except UsageError as exc:
            raise UsageError(exc.message, usage) from None
        return Schedule(None, fields, digest, channel)
    return Schedule(parse_key(target, "initiative", usage), fields, digest)


def _parse_history(args: list[str], usage: str) -> Command:
    expect(args, 1, usage, "the initiative (or <initiative>.<metric>)")
    if "." in args[0]:
        initiative, metric = parse_reference(args[0], usage)
        return History(initiative, metric)
    return History(parse_key(args[0], "initiative", usage))


def _parse_help(args: list[str], usage: str) -> Command:
    topic = args[0].lower() if args else None
    if topic is not None and topic not in COMMANDS:
        raise UsageError(f"There is no command {topic!r}.", usage)
    return Help(topic)


def _parse_export(args: list[str], usage: str) -> Command:
    positionals, pairs = split_options(args)
    expect(positionals, 1, usage, "the initiative key (or all)")
    fields = parse_options(pairs, EXPORT_OPTIONS, usage)
    target = positionals[0].lower()
    initiative = None if target == "all" else parse_key(target, "initiative", usage)
    return Export(initiative, fields.get("format", "arc42"))


def _parse_pull(args: list[str], usage: str) -> Command:
    if not args:
        return Pull()
    expect(args, 1, usage, "the initiative or <initiative>.<metric>")
    if "." in args[0]:
        return Pull(*parse_reference(args[0], usage))
    return Pull(parse_key(args[0], "initiative", usage))


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
    "unarchive": lambda a, u: _single_initiative(a, u, Unarchive),
    "pull": _parse_pull,
    "export": _parse_export,
    "push-token": parse_push_token,
    "shipped": parse_shipped,
    "deliverable": parse_deliverable,
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
