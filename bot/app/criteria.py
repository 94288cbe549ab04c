"""Criteria as code: a YAML file of initiatives, metrics and schedules, applied to the store.

``load(text, filename)`` reads and validates a file against ``criteria.schema.json`` (which
ships with the package) and the rules the schema cannot express; every problem names its
line (``criteria.yaml:12: initiatives[0].metrics[0].target: must be a number``) and an
invalid file writes nothing. ``apply(...)`` then creates or updates through the domain
services, so a change to agreed criteria reopens the initiative and is audited exactly as
when it is made in Slack; with ``dry_run`` it reports the same plan and rolls back.
``document_of(...)`` is the inverse: the file that describes what the store holds.

Fields left out of the file are left as they are, and nothing missing from the file is
deleted: the file declares what it names, it does not own the workspace.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import cache
from importlib import resources
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import digest_schedules
from bot.app.context import Actor, Defaults
from bot.app.services import define_initiative, define_metric, record_audit, validate_key
from bot.core.errors import OutcomeError, UsageError
from bot.core.kinds import InitiativeStatus
from bot.core.schedules import WEEKDAYS
from bot.core.values import parse_timezone
from bot.grammar import commands as g
from bot.storage.models import DigestSchedule, Initiative, Metric
from metrics import kinds
from metrics.secrets import literal_secrets, redact_secrets

FORMAT_VERSION = 1

FieldPath = tuple[str | int, ...]

# ---------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file, at a line (1-based) and a field path."""

    line: int
    path: str
    message: str

    def format(self, filename: str) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{filename}:{self.line}: {where}{self.message}"


class CriteriaInvalid(UsageError):
    """The criteria file cannot be applied; nothing was written."""

    def __init__(self, filename: str, problems: list[Problem]) -> None:
        self.filename = filename
        self.problems = sorted(problems, key=lambda p: (p.line, p.path))
        lines = [p.format(filename) for p in self.problems]
        count = len(lines)
        lines.append(f"{count} problem{'s' if count != 1 else ''}; nothing was applied.")
        super().__init__("\n".join(lines))


def path_text(path: FieldPath) -> str:
    """('initiatives', 0, 'metrics', 1, 'target') -> 'initiatives[0].metrics[1].target'."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


# ---------------------------------------------------------------------------- YAML with lines

_PLAIN_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"}
_CONSTRUCTED_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                     "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"}


class _Reader:
    """Builds plain data from a YAML node tree and remembers the line of every path.

    Values mean what they look like (YAML 1.2 rather than PyYAML's 1.1): dates stay text
    for the schema to check, ``15:00`` is not a base-60 integer and ``off`` is not false.
    """

    def __init__(self) -> None:
        self.lines: dict[FieldPath, int] = {}
        self.problems: list[Problem] = []
        self._scalars = yaml.SafeLoader("")

    def read(self, node: yaml.Node, path: FieldPath) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.lines[(*path, index)] = item.start_mark.line + 1
                items.append(self.read(item, (*path, index)))
            return items
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: FieldPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(Problem(line, path_text(path), "a field name must be text"))
                continue
            key = key_node.value
            if key in result:
                self.problems.append(Problem(line, path_text((*path, key)),
                                             "is given twice; keep one"))
                continue
            self.lines[(*path, key)] = line  # errors about a field point at its name
            result[key] = self.read(value_node, (*path, key))
        return result

    def _scalar(self, node: yaml.Node, path: FieldPath) -> Any:
        tag = node.tag
        if tag in _PLAIN_TAGS or (tag == "tag:yaml.org,2002:int" and ":" in node.value):
            return node.value
        if tag == "tag:yaml.org,2002:bool" and node.value.lower() not in ("true", "false"):
            return node.value  # YAML 1.2: `retro: off` means the text off, not false
        if tag in _CONSTRUCTED_TAGS:
            return self._scalars.construct_object(node, deep=True)
        self.problems.append(Problem(node.start_mark.line + 1, path_text(path),
                                     f"the YAML tag {tag} is not supported here"))
        return None


@dataclass(frozen=True)
class ParsedYaml:
    data: Any
    lines: dict[FieldPath, int]

    def line_of(self, path: FieldPath) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1


def parse_yaml(text: str, filename: str) -> ParsedYaml:
    """YAML text to plain data plus the line of every field; syntax errors name the line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "unreadable"
        raise CriteriaInvalid(filename, [
            Problem(mark.line + 1 if mark else 1, "", f"this is not valid YAML: {reason}")
        ]) from None
    except yaml.YAMLError as exc:
        raise CriteriaInvalid(filename, [Problem(1, "", f"this is not valid YAML: {exc}")]
                              ) from None
    if node is None:
        raise CriteriaInvalid(filename, [
            Problem(1, "", "the file is empty; it needs an `initiatives:` list")
        ])
    reader = _Reader()
    data = reader.read(node, ())
    if reader.problems:
        raise CriteriaInvalid(filename, reader.problems)
    return ParsedYaml(data, reader.lines)


# ---------------------------------------------------------------------------- schema


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of criteria files (``bot/app/criteria.schema.json``)."""
    text = resources.files("bot.app").joinpath("criteria.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def schema_text() -> str:
    return resources.files("bot.app").joinpath("criteria.schema.json").read_text(encoding="utf-8")


_TYPE_WORDS = {"string": "text", "number": "a number", "integer": "a whole number",
               "object": "a mapping of fields", "array": "a list", "null": "null",
               "boolean": "true or false"}


def _got(value: Any) -> str:
    shown = repr(value)
    return f" (got {shown[:60]}{'…' if len(shown) > 60 else ''})"


def _schema_problems(error: ValidationError, parsed: ParsedYaml) -> list[Problem]:
    path: FieldPath = tuple(error.absolute_path)
    described = error.schema.get("description") if isinstance(error.schema, dict) else None
    validator, instance = error.validator, error.instance

    def at(where: FieldPath, message: str) -> Problem:
        return Problem(parsed.line_of(where), path_text(where), message)

    if validator == "required":
        return [at(path, f"missing the required field `{name}`")
                for name in error.validator_value if name not in instance]
    if validator == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        problems = []
        for name in instance:
            if name in known:
                continue
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f"did you mean `{close[0]}`?" if close else f"known fields: {', '.join(known)}"
            problems.append(at((*path, name), f"unknown field; {hint}"))
        return problems
    if validator == "type" and not path:
        return [at(path, "the file must be a mapping with an `initiatives:` list")]
    if validator == "type":
        expected = error.validator_value
        if described and ("pattern" in error.schema or "enum" in error.schema):
            return [at(path, f"must be {described}{_got(instance)}")]
        words = [expected] if isinstance(expected, str) else list(expected)
        return [at(path, "must be " + " or ".join(_TYPE_WORDS.get(w, w) for w in words)
                   + _got(instance))]
    if validator in {"pattern", "enum", "minimum", "maximum"} and described:
        return [at(path, f"must be {described}{_got(instance)}")]
    if validator == "enum":
        choices = ", ".join(str(c) for c in error.validator_value)
        return [at(path, f"must be one of: {choices}{_got(instance)}")]
    if validator == "const":
        return [at(path, f"must be {error.validator_value}{_got(instance)}")]
    if validator in {"minimum", "maximum"}:
        bound = "at least" if validator == "minimum" else "at most"
        return [at(path, f"must be {bound} {error.validator_value}{_got(instance)}")]
    if validator == "minLength":
        return [at(path, "must not be empty")]
    if validator == "maxLength":
        return [at(path, f"is {len(instance)} characters; the limit is "
                         f"{error.validator_value}")]
    return [at(path, error.message)]


def schema_problems(parsed: ParsedYaml) -> list[Problem]:
    validator = Draft202012Validator(schema())
    problems: list[Problem] = []
    for error in validator.iter_errors(parsed.data):
        problems.extend(_schema_problems(error, parsed))
    return problems


# ---------------------------------------------------------------------------- durations


def format_duration(seconds: int) -> str:
    """7d, 36h, 90m: the form `stale_after` and `lead` are written in."""
    if seconds % 86400 == 0 and seconds >= 2 * 86400:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


def _instant_text(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    if moment.time() == time(0):
        return moment.date().isoformat()
    return moment.isoformat()


def _parse_instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace(" ", "T", 1).replace("Z", "+00:00"))
    if len(text) <= 10:
        return datetime.combine(moment.date(), time(0), tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------- the file, typed


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
class InitiativeSpec:
    key: str
    path: FieldPath
    fields: dict[str, Any]
    metrics: tuple[MetricSpec, ...]
    digests: DigestSpec | None


@dataclass(frozen=True)
class CriteriaFile:
    """A validated criteria file, ready to apply."""

    filename: str
    initiatives: tuple[InitiativeSpec, ...]
    parsed: ParsedYaml

    def line_of(self, path: FieldPath) -> int:
        return self.parsed.line_of(path)


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
        specs, seen = [], {}
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
                fields[name] = self.convert((*path, "owners", role),
                                            lambda v, role=role: g.parse_user(v.strip(), role))
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
        metrics, seen = [], {}
        for index, metric in enumerate(item.get("metrics", [])):
            metric_path: FieldPath = (*path, "metrics", index)
            key = metric["key"]
            if key in seen:
                self.problem((*metric_path, "key"), f"metric {key!r} is already defined at "
                                                    f"line {seen[key]}")
            seen[key] = self.parsed.line_of((*metric_path, "key"))
            self.convert((*metric_path, "key"), lambda k: validate_key(k, "a metric"))
            metrics.append(self.metric(metric, metric_path))
        return InitiativeSpec(item["key"], path, fields, tuple(metrics), digests)

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
            seconds = self.convert((*path, "stale_after"),
                                   lambda v: g.parse_duration(v, "stale_after"))
            fields["stale_after_seconds"] = int(seconds.total_seconds()) if seconds else None
        if "source" in item:
            self.source(item["source"], (*path, "source"), fields)
        self.check_guard_rail(item, path)
        return MetricSpec(item["key"], path, fields)

    def source(self, item: dict[str, Any], path: FieldPath, fields: dict[str, Any]) -> None:
        kind = item["kind"]
        kinds = self.source_kinds()
        if kind not in kinds:
            close = difflib.get_close_matches(kind, sorted(kinds), n=1)
            hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(sorted(kinds))}"
            self.problem((*path, "kind"), f"unknown source kind {kind!r}; {hint}")
        config = {k: v for k, v in item.items() if k != "kind"}
        for secret in literal_secrets(config):
            self.problem((*path, *secret), "looks like a credential written into the file; "
                         "write a reference such as ${PROMETHEUS_TOKEN} and set that "
                         "variable where the bot runs")
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


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a calendar date") from None


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


# ---------------------------------------------------------------------------- plan and apply


@dataclass(frozen=True)
class FieldChange:
    name: str  # as written in the file, e.g. "target" or "owners.product"
    before: Any
    after: Any


@dataclass
class ItemPlan:
    """What applying does to one metric or to an initiative's digests."""

    key: str
    created: bool = False
    changes: list[FieldChange] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.created or bool(self.changes)


@dataclass
class InitiativePlan:
    key: str
    name: str
    created: bool = False
    changes: list[FieldChange] = field(default_factory=list)
    metrics: list[ItemPlan] = field(default_factory=list)
    digests: ItemPlan | None = None
    reopened_revision: int | None = None  # the new draft revision when agreement reopened
    left_alone: list[str] = field(default_factory=list)  # metrics not in the file

    @property
    def changed(self) -> bool:
        return (self.created or bool(self.changes) or any(m.changed for m in self.metrics)
                or bool(self.digests and self.digests.changed))

    @property
    def change_count(self) -> int:
        count = 1 if self.created else len(self.changes)
        count += sum(1 if m.created else len(m.changes) for m in self.metrics)
        if self.digests:
            count += len(self.digests.changes)
        return count


@dataclass
class ApplyResult:
    filename: str
    dry_run: bool
    plans: list[InitiativePlan]
    not_in_file: list[str]

    @property
    def changed(self) -> bool:
        return any(plan.changed for plan in self.plans)

    def text(self) -> str:
        return plan_text(self)


def apply(sessions: sessionmaker[Session], actor: Actor, criteria: CriteriaFile, *,
          now: datetime, defaults: Defaults | None = None, dry_run: bool = False
          ) -> ApplyResult:
    """Create or update everything the file names, in one transaction.

    With ``dry_run`` the same changes run through the same services (so the plan includes
    every reopened agreement and every refusal) and are then rolled back.
    """
    defaults = defaults or Defaults()
    with sessions() as session:
        transaction = session.begin()
        try:
            plans = [_apply_initiative(session, actor, spec, criteria, now, defaults)
                     for spec in criteria.initiatives]
            named = {spec.key for spec in criteria.initiatives}
            others = session.scalars(
                select(Initiative.key).where(Initiative.workspace == actor.workspace,
                                             Initiative.status != InitiativeStatus.ARCHIVED)
                .order_by(Initiative.key)).all()
            result = ApplyResult(criteria.filename, dry_run, plans,
                                 [key for key in others if key not in named])
        except BaseException:
            transaction.rollback()
            raise
        if dry_run:
            transaction.rollback()
        else:
            transaction.commit()
    return result


def _differences(row: Any, wanted: dict[str, Any], names: dict[str, str]) -> list[FieldChange]:
    return [FieldChange(names[name], getattr(row, name), value)
            for name, value in wanted.items() if getattr(row, name) != value]


def _apply_initiative(session: Session, actor: Actor, spec: InitiativeSpec,
                      criteria: CriteriaFile, now: datetime, defaults: Defaults
                      ) -> InitiativePlan:
    try:
        return _apply_initiative_unchecked(session, actor, spec, criteria, now, defaults)
    except CriteriaInvalid:
        raise
    except OutcomeError as exc:
        # The services refused (e.g. an archived initiative): point at the initiative.
        raise CriteriaInvalid(criteria.filename, [
            Problem(criteria.line_of(spec.path), path_text(spec.path), exc.message)
        ]) from None


def _apply_initiative_unchecked(session: Session, actor: Actor, spec: InitiativeSpec,
                                criteria: CriteriaFile, now: datetime, defaults: Defaults
                                ) -> InitiativePlan:
    existing = session.scalar(select(Initiative).where(
        Initiative.workspace == actor.workspace, Initiative.key == spec.key))
    plan = InitiativePlan(spec.key, spec.fields["name"])
    agreed_before = existing is not None and existing.status == InitiativeStatus.AGREED
    if existing is None:
        fields = defaults.for_new_initiative(spec.fields, now)
        initiative, _ = define_initiative(session, actor, spec.key, fields, now=now)
        plan.created = True
        plan.changes = [FieldChange(INITIATIVE_FILE_FIELDS[name], None, value)
                        for name, value in spec.fields.items()
                        if name != "name" and value is not None]
    else:
        initiative = existing
        plan.changes = _differences(existing, spec.fields, INITIATIVE_FILE_FIELDS)
        if plan.changes:
            changed = {name: value for name, value in spec.fields.items()
                       if getattr(existing, name) != value}
            define_initiative(session, actor, spec.key, changed, now=now)
    digest_schedules.sync_cadence(session, initiative)

    named = set()
    for metric_spec in spec.metrics:
        named.add(metric_spec.key)
        try:
            plan.metrics.append(_apply_metric(session, actor, initiative, metric_spec, now))
        except OutcomeError as exc:
            raise CriteriaInvalid(criteria.filename, [
                Problem(criteria.line_of(metric_spec.path), path_text(metric_spec.path),
                        exc.message)
            ]) from None
    plan.left_alone = [m.key for m in initiative.metrics if m.key not in named]
    if spec.digests is not None:
        plan.digests = _apply_digests(session, actor, initiative, spec.digests, now)
    if agreed_before and initiative.status == InitiativeStatus.DRAFT:
        plan.reopened_revision = initiative.revision
    if plan.changed:
        record_audit(session, actor, "applied criteria", initiative=initiative, at=now,
                     after={"file": criteria.filename, "changes": plan.change_count})
    return plan


def _apply_metric(session: Session, actor: Actor, initiative: Initiative,
                  spec: MetricSpec, now: datetime) -> ItemPlan:
    existing = next((m for m in initiative.metrics if m.key == spec.key), None)
    if existing is None:
        define_metric(session, actor, initiative.key, spec.key, dict(spec.fields), now=now)
        changes = [FieldChange(METRIC_FILE_FIELDS[name], None, value)
                   for name, value in spec.fields.items()
                   if name != "name" and value is not None]
        return ItemPlan(spec.key, created=True, changes=changes)
    changes = _differences(existing, spec.fields, METRIC_FILE_FIELDS)
    if changes:
        wanted = {name: value for name, value in spec.fields.items()
                  if getattr(existing, name) != value}
        define_metric(session, actor, initiative.key, spec.key, wanted, now=now)
    return ItemPlan(spec.key, changes=changes)


def _digest_rows(session: Session, initiative: Initiative) -> dict[str, DigestSchedule]:
    rows = session.scalars(select(DigestSchedule).where(
        DigestSchedule.workspace == initiative.workspace,
        DigestSchedule.scope == f"initiative:{initiative.key}")).all()
    return {row.kind: row for row in rows}


def _digest_timing(row: DigestSchedule) -> dict[str, Any]:
    if row.kind == "sprint":
        return {"retro_weekday": row.retro_weekday, "local_time": row.local_time}
    return {"days_before": row.days_before, "local_time": row.local_time}


def _digest_state(row: DigestSchedule | None) -> dict[str, Any] | str | None:
    if row is None:
        return None
    return _digest_timing(row) if row.enabled else "off"


def _digest_text(kind: str, state: dict[str, Any] | str | None) -> str | None:
    if state is None or isinstance(state, str):
        return state
    if kind == "sprint":
        return f"{WEEKDAYS[state['retro_weekday']]}@{state['local_time']}"
    return f"{state['days_before']}d@{state['local_time']}"


def _apply_digests(session: Session, actor: Actor, initiative: Initiative,
                   spec: DigestSpec, now: datetime) -> ItemPlan:
    rows = _digest_rows(session, initiative)
    plan = ItemPlan("digests")
    configure: dict[str, Any] = {}
    off: list[str] = []
    for kind, name, wanted in (("sprint", "retro", spec.sprint),
                               ("quarter", "quarterly", spec.quarter)):
        row = rows.get(kind)
        current = _digest_state(row)
        if wanted is not None and wanted != current and not (wanted == "off" and row is None):
            plan.changes.append(FieldChange(f"digests.{name}", _digest_text(kind, current),
                                            _digest_text(kind, wanted)))
        # configure() touches every existing schedule of the initiative: restate the ones
        # the file leaves out so they stay exactly as they are.
        state = wanted if wanted is not None else current
        if state == "off":
            off.append(kind)
            if row is not None:
                configure[kind] = _digest_timing(row)
        elif state is not None:
            configure[kind] = state
    sprint_row = rows.get("sprint")
    if spec.lead_minutes is not None and (sprint_row is not None or
                                          isinstance(spec.sprint, dict)):
        current_lead = sprint_row.lead_minutes if sprint_row is not None else None
        if current_lead != spec.lead_minutes:
            plan.changes.append(FieldChange(
                "digests.lead",
                format_duration(current_lead * 60) if current_lead is not None else None,
                format_duration(spec.lead_minutes * 60)))
        configure["lead_minutes"] = spec.lead_minutes
    if plan.changes:
        configure["off"] = tuple(off)
        digest_schedules.configure(session, actor, now=now, initiative=initiative, channel=None,
                                   digest=configure, cadence={}, defaults={})
    return plan


# ---------------------------------------------------------------------------- plan as text


def _shown(name: str, value: Any) -> str:
    if value is None:
        return "(none)"
    if name.startswith("digests."):
        return str(value)
    if name == "stale_after" and isinstance(value, int):
        return format_duration(value)
    if name == "source" and isinstance(value, dict):
        return json.dumps(redact_secrets(value), sort_keys=True, default=str)
    if isinstance(value, datetime):
        return _instant_text(value) or ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        flat = " ".join(value.split())
        return json.dumps(flat[:77] + "…" if len(flat) > 78 else flat, ensure_ascii=False)
    return str(value)


def _change_line(change: FieldChange, indent: str) -> str:
    if change.before is None:
        return f"{indent}+ {change.name}: {_shown(change.name, change.after)}"
    return (f"{indent}~ {change.name}: {_shown(change.name, change.before)} → "
            f"{_shown(change.name, change.after)}")


def plan_text(result: ApplyResult) -> str:
    """The diff a person reviews: + created, ~ changed, = unchanged, ! agreement reopened."""
    lines = []
    for plan in result.plans:
        if plan.created:
            lines.append(f"+ initiative {plan.key}: {_shown('name', plan.name)} (new, draft)")
        elif plan.changed:
            lines.append(f"~ initiative {plan.key}")
        else:
            lines.append(f"= initiative {plan.key}: unchanged")
            continue
        lines += [_change_line(c, "    ") for c in plan.changes]
        for metric in plan.metrics:
            if metric.created:
                lines.append(f"    + metric {metric.key}")
                lines += [_change_line(c, "        ") for c in metric.changes]
            elif metric.changes:
                lines.append(f"    ~ metric {metric.key}")
                lines += [_change_line(c, "        ") for c in metric.changes]
        if plan.digests and plan.digests.changes:
            lines += [_change_line(c, "    ") for c in plan.digests.changes]
        if plan.reopened_revision is not None:
            lines.append(f"    ! {plan.key} was agreed: this change reopens it as draft "
                         f"revision {plan.reopened_revision}, and both owners must agree "
                         "again.")
    for plan in result.plans:
        if plan.left_alone:
            lines.append(f"Left as they are (not in the file): metric(s) "
                         f"{', '.join(plan.left_alone)} of {plan.key}.")
    if result.not_in_file:
        lines.append(f"Left as they are (not in the file): initiative(s) "
                     f"{', '.join(result.not_in_file)}.")
    changed = [plan for plan in result.plans if plan.changed]
    count = sum(plan.change_count for plan in changed)
    if not changed:
        lines.append(f"{result.filename}: the database already matches; nothing to do.")
    elif result.dry_run:
        lines.append(f"Dry run: {count} change(s) to {len(changed)} initiative(s) would be "
                     "applied; nothing was written.")
    else:
        lines.append(f"Applied {count} change(s) to {len(changed)} initiative(s) from "
                     f"{result.filename}.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- store -> file


def _metric_document(metric: Metric) -> dict[str, Any]:
    source = {"kind": metric.source_kind, **redact_secrets(dict(metric.source_config or {}))}
    return {
        "key": metric.key,
        "name": metric.name,
        "question": metric.question,
        "unit": metric.unit,
        "direction": metric.direction,
        "baseline": metric.baseline_value,
        "baseline_at": _instant_text(metric.baseline_at),
        "target": metric.target_value,
        "target_date": metric.target_date.isoformat() if metric.target_date else None,
        "guard_rail": metric.guard_rail,
        "noise": metric.noise,
        "stale_after": format_duration(metric.stale_after_seconds),
        "source": source,
    }


def _digests_document(session: Session, initiative: Initiative) -> dict[str, Any] | None:
    rows = _digest_rows(session, initiative)
    if not rows:
        return None
    document: dict[str, Any] = {}
    if "sprint" in rows:
        document["retro"] = _digest_text("sprint", _digest_state(rows["sprint"]))
        document["lead"] = format_duration(rows["sprint"].lead_minutes * 60)
    if "quarter" in rows:
        document["quarterly"] = _digest_text("quarter", _digest_state(rows["quarter"]))
    return document


def initiative_document(session: Session, initiative: Initiative) -> dict[str, Any]:
    """One initiative as the criteria file writes it; credentials are redacted."""
    schedule: dict[str, Any] = {
        "sprint_days": initiative.sprint_days,
        "sprint_anchor": initiative.sprint_anchor.isoformat(),
        "timezone": initiative.timezone,
        "fiscal_year_start_month": initiative.fiscal_year_start_month,
    }
    digests = _digests_document(session, initiative)
    if digests:
        schedule["digests"] = digests
    owners = {role: user for role, user in (("product", initiative.product_owner),
                                            ("engineering", initiative.engineering_owner))
              if user}
    document: dict[str, Any] = {
        "key": initiative.key,
        "name": initiative.name,
        "why": initiative.why,
        "who": initiative.who,
        "how": initiative.how,
        "what": initiative.what,
        "channel": initiative.channel,
    }
    if owners:
        document["owners"] = owners
    document["schedule"] = schedule
    document["metrics"] = [_metric_document(metric) for metric in initiative.metrics]
    return document


def document_of(session: Session, initiatives: list[Initiative]) -> dict[str, Any]:
    return {"version": FORMAT_VERSION,
            "initiatives": [initiative_document(session, i) for i in initiatives]}


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_text)


def dump(document: dict[str, Any], header: list[str] | None = None) -> str:
    """YAML text of a criteria document, with ``header`` lines as comments on top."""
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     width=96, default_flow_style=False)
    comments = "".join(f"# {line}\n" if line else "#\n" for line in header or [])
    return comments + body
