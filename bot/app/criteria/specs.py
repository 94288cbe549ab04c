"""A validated criteria file, typed: what each initiative, metric, deliverable and digest
should be.

:func:`load` parses, checks against the schema, and then checks what the schema cannot
express (keys, owners, time zones, guard rails, literal credentials, duplicate names) while
turning the data into specs whose fields are named as the domain services name them. What
needs the store or the clock (which metrics a deliverable may move, whether it shipped in
the future) is checked when applying.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from bot.app.criteria.document import ParsedYaml, parse_yaml
from bot.app.criteria.problems import CriteriaInvalid, FieldPath, Problem, path_text
from bot.app.criteria.validation import schema_problems
from bot.app.services import validate_key
from bot.core.deliverables import clean_name, name_key
from bot.core.errors import UsageError
from bot.core.values import parse_date, parse_timezone
from bot.grammar import commands as g
from metrics import kinds
from metrics.member_configs import member_config_problems


@dataclass(frozen=True)
class MetricSpec:
    key: str
    path: FieldPath
    fields: dict[str, Any]


@dataclass(frozen=True)
class DigestSpec:
    """Desired digests: a timing dict, "off", or None (leave as it is) for each kind."""

    path: FieldPath
    sprint: dict[str, Any] | str | None = None
    quarter: dict[str, Any] | str | None = None
    lead_minutes: int | None = None


@dataclass(frozen=True)
class DeliverableSpec:
    """A deliverable as the file wants it. ``moves`` None (left out) leaves what it moves
    as it is; ``shipped`` None leaves when it shipped, and a date is midnight in the
    initiative's time zone, known only when applying."""

    name: str
    moves: tuple[str, ...] | None
    shipped: datetime | date | None
    path: FieldPath


@dataclass(frozen=True)
class InitiativeSpec:
    key: str
    path: FieldPath
    fields: dict[str, Any]
    metrics: tuple[MetricSpec, ...]
    digests: DigestSpec | None
    deliverables: tuple[DeliverableSpec, ...] = ()


@dataclass(frozen=True)
class CriteriaFile:
    """A validated criteria file, ready to apply."""

    filename: str
    initiatives: tuple[InitiativeSpec, ...]
    parsed: ParsedYaml

    def line_of(self, path: FieldPath) -> int:
        return self.parsed.line_of(path)


# Model attribute -> the field as the file names it (in plans).
INITIATIVE_FILE_FIELDS = {
    "name": "name", "why": "why", "who": "who", "how": "how", "what": "what",
    "channel": "channel", "product_owner": "owners.product",
    "engineering_owner": "owners.engineering", "sprint_days": "schedule.sprint_days",
    "sprint_anchor": "schedule.sprint_anchor", "timezone": "schedule.timezone",
    "fiscal_year_start_month": "schedule.fiscal_year_start_month",
}
METRIC_FILE_FIELDS = {
    "name": "name", "question": "question", "unit": "unit", "direction": "direction",
    "baseline_value": "baseline", "baseline_at": "baseline_at", "target_value": "target",
    "target_date": "target_date", "guard_rail": "guard_rail", "noise": "noise",
    "stale_after_seconds": "stale_after", "source_kind": "source.kind",
    "source_config": "source",
}
_TEXT_FIELDS = ("why", "who", "how", "what")
_NUMBER_FIELDS = {"baseline": "baseline_value", "target": "target_value",
                  "guard_rail": "guard_rail", "noise": "noise"}


def _date(text: str) -> date:
    # The shared parser decides what a date is; the message is the one criteria files
    # have always given (the schema's pattern already explains the shape).
    try:
        return parse_date(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a calendar date") from None


def _parse_instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace(" ", "T", 1).replace("Z", "+00:00"))
    if len(text) <= 10:
        return datetime.combine(moment.date(), time(0), tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _shipped(text: str) -> datetime | date:
    if len(text) <= 10:
        return _date(text)
    try:  # the schema's pattern requires the offset
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a calendar date and time") from None


def _owner(role: str) -> Callable[[str], str]:
    return lambda text: g.parse_user(text.strip(), role)


class _Builder:
    """Turns schema-valid data into specs, collecting the problems the schema cannot see."""

    def __init__(self, parsed: ParsedYaml) -> None:
        self.parsed = parsed
        self.problems: list[Problem] = []
        self._kinds: set[str] | None = None

    def problem(self, path: FieldPath, message: str) -> None:
        self.problems.append(Problem(self.parsed.line_of(path), path_text(path), message))

    def convert(self, path: FieldPath, parse: Callable[[Any], Any]) -> Any:
        try:
            return parse(self.value(path))
        except UsageError as exc:
            self.problem(path, exc.message)
        except ValueError as exc:
            self.problem(path, str(exc))
        return None

    def value(self, path: FieldPath) -> Any:
        node: Any = self.parsed.data
        for part in path:
            node = node[part]
        return node

    def source_kinds(self) -> set[str]:
        if self._kinds is None:
            self._kinds = set(kinds.source_kinds())
        return self._kinds

    def initiatives(self) -> tuple[InitiativeSpec, ...]:
        specs: list[InitiativeSpec] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(self.parsed.data["initiatives"]):
            path: FieldPath = ("initiatives", index)
            key = item["key"]
            if key in seen:
                self.problem((*path, "key"), f"initiative {key!r} is already defined at line "
                                             f"{seen[key]}")
            seen[key] = self.parsed.line_of((*path, "key"))
            self.convert((*path, "key"), lambda k: validate_key(k, "an initiative"))
            specs.append(self.initiative(item, path))
        return tuple(specs)

    def initiative(self, item: dict[str, Any], path: FieldPath) -> InitiativeSpec:
        fields: dict[str, Any] = {"name": item["name"].strip()}
        if not fields["name"]:
            self.problem((*path, "name"), "must not be empty")
        for name in _TEXT_FIELDS:
            if name in item:
                fields[name] = item[name].strip()
        if "channel" in item:
            fields["channel"] = "" if not item["channel"].strip() else self.convert(
                (*path, "channel"), lambda v: g.parse_channel(v.strip(), "channel"))
        owners = item.get("owners", {})
        for role, name in (("product", "product_owner"), ("engineering", "engineering_owner")):
            if role in owners:
                fields[name] = self.convert((*path, "owners", role), _owner(role))
        schedule = item.get("schedule", {})
        here = (*path, "schedule")
        for name in ("sprint_days", "fiscal_year_start_month"):
            if name in schedule:
                fields[name] = schedule[name]
        if "sprint_anchor" in schedule:
            fields["sprint_anchor"] = self.convert((*here, "sprint_anchor"), _date)
        if "timezone" in schedule:
            fields["timezone"] = self.convert((*here, "timezone"), parse_timezone)
        digests = None
        if "digests" in schedule:
            digests = self.digests(schedule["digests"], (*here, "digests"),
                                   has_channel=bool(item.get("channel", "").strip()))
        metrics: list[MetricSpec] = []
        seen: dict[str, int] = {}
        for index, metric in enumerate(item.get("metrics", [])):
            metric_path: FieldPath = (*path, "metrics", index)
            key = metric["key"]
            if key in seen:
                self.problem((*metric_path, "key"), f"metric {key!r} is already defined at "
                                                    f"line {seen[key]}")
            seen[key] = self.parsed.line_of((*metric_path, "key"))
            self.convert((*metric_path, "key"), lambda k: validate_key(k, "a metric"))
            metrics.append(self.metric(metric, metric_path))
        return InitiativeSpec(item["key"], path, fields, tuple(metrics), digests,
                              self.deliverables(item.get("deliverables", []),
                                                (*path, "deliverables")))

    def deliverables(self, items: list[dict[str, Any]], path: FieldPath
                     ) -> tuple[DeliverableSpec, ...]:
        specs: list[DeliverableSpec] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            here: FieldPath = (*path, index)
            name = clean_name(item["name"])
            if not name:
                self.problem((*here, "name"), "must not be empty")
            folded = name_key(name)
            if folded in seen:
                self.problem((*here, "name"), f"deliverable {name!r} is already defined at "
                                              f"line {seen[folded]}")
            seen[folded] = self.parsed.line_of((*here, "name"))
            moves = tuple(dict.fromkeys(item["moves"])) if "moves" in item else None
            shipped = (self.convert((*here, "shipped"), _shipped) if "shipped" in item
                       else None)
            specs.append(DeliverableSpec(name, moves, shipped, here))
        return tuple(specs)

    def digests(self, item: dict[str, Any], path: FieldPath, *, has_channel: bool) -> DigestSpec:
        def timing(name: str, parse: Callable[[str, str], Any]) -> Any:
            if name not in item:
                return None
            if item[name] == "off":
                return "off"
            return self.convert((*path, name), lambda v: parse(v, name))

        sprint = timing("retro", g.parse_retro)
        quarter = timing("quarterly", g.parse_quarterly)
        lead = (self.convert((*path, "lead"), lambda v: g.parse_lead(v, "lead"))
                if "lead" in item else None)
        if not has_channel and any(isinstance(t, dict) for t in (sprint, quarter)):
            self.problem(path, "digests are posted to the initiative's channel: set "
                               "`channel:` on this initiative")
        return DigestSpec(path, sprint, quarter, lead)

    def metric(self, item: dict[str, Any], path: FieldPath) -> MetricSpec:
        fields: dict[str, Any] = {"name": item["name"].strip()}
        if not fields["name"]:
            self.problem((*path, "name"), "must not be empty")
        for name in ("question", "unit", "direction"):
            if name in item:
                fields[name] = item[name].strip()
        for name, target in _NUMBER_FIELDS.items():
            if name in item:
                value = item[name]
                if value is not None and not math.isfinite(value):
                    self.problem((*path, name), "must be a finite number")
                fields[target] = None if value is None else float(value)
        if "baseline_at" in item:
            fields["baseline_at"] = (None if item["baseline_at"] is None else
                                     self.convert((*path, "baseline_at"), _parse_instant))
        if "target_date" in item:
            fields["target_date"] = (None if item["target_date"] is None else
                                     self.convert((*path, "target_date"), _date))
        if "stale_after" in item:
            # The grammar's wrapper of the shared duration parser, for its message.
            seconds = self.convert((*path, "stale_after"),
                                   lambda v: g.parse_duration(v, "stale_after"))
            fields["stale_after_seconds"] = int(seconds.total_seconds()) if seconds else None
        if "source" in item:
            self.source(item["source"], (*path, "source"), fields)
        self.check_guard_rail(item, path)
        return MetricSpec(item["key"], path, fields)

    def source(self, item: dict[str, Any], path: FieldPath, fields: dict[str, Any]) -> None:
        kind = item["kind"]
        known = self.source_kinds()
        if kind not in known:
            close = difflib.get_close_matches(kind, sorted(known), n=1)
            hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(sorted(known))}"
            self.problem((*path, "kind"), f"unknown source kind {kind!r}; {hint}")
        config = {k: v for k, v in item.items() if k != "kind"}
        for where, reason in member_config_problems(config):
            self.problem((*path, *where), f"{reason}: a metric's source names a connection "
                         "an operator registered (connection: <name>), which holds URLs and "
                         "credentials")
        fields["source_kind"] = kind
        fields["source_config"] = config

    def check_guard_rail(self, item: dict[str, Any], path: FieldPath) -> None:
        rail, target = item.get("guard_rail"), item.get("target")
        if rail is None or target is None:
            return
        lower_is_better = item.get("direction", "up") == "down"
        if lower_is_better and rail < target:
            self.problem((*path, "guard_rail"), f"{rail:g} is below the target {target:g}: "
                         "with direction down the guard rail is an upper limit, at or above "
                         "the target")
        elif not lower_is_better and rail > target:
            self.problem((*path, "guard_rail"), f"{rail:g} is above the target {target:g}: "
                         "with direction up the guard rail is a lower limit, at or below "
                         "the target")


def load(text: str, filename: str = "criteria.yaml") -> CriteriaFile:
    """Parse and validate a criteria file; raises :class:`CriteriaInvalid` listing every
    problem with its line."""
    parsed = parse_yaml(text, filename)
    problems = schema_problems(parsed)
    if problems:
        raise CriteriaInvalid(filename, problems)
    builder = _Builder(parsed)
    initiatives = builder.initiatives()
    if builder.problems:
        raise CriteriaInvalid(filename, builder.problems)
    return CriteriaFile(filename, initiatives, parsed)
