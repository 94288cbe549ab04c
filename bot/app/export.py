"""Exports of agreed criteria and their data: arc42 Markdown, samples as CSV, criteria YAML.

Each export is a pure function of the stored initiatives and returns an :class:`ExportFile`;
the Slack handler uploads it and the CLI writes it to a file or stdout. Source
configurations are exported with credentials as their ``${ENV}`` references (never
resolved) and any literal credential replaced by ``<redacted>``; the arc42 document leaves
source configurations out altogether, and shows every user string as text: a name cannot
add a link, an image, raw HTML or a heading to the rendered Markdown.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.app import criteria
from bot.app.services import missing_signoffs
from bot.core.kinds import InitiativeStatus
from bot.core.review import format_number
from bot.render.markdown import escape_inline
from bot.storage.models import Initiative, Metric, Sample

FORMATS = ("arc42", "csv", "yaml")
FORMAT_TITLES = {"arc42": "arc42 Markdown (sections 1 and 10)", "csv": "CSV samples",
                 "yaml": "criteria YAML"}
CSV_COLUMNS = ("initiative", "metric", "segment", "observed_at", "value", "unit", "origin",
               "recorded_by")


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content: bytes
    title: str


# ---------------------------------------------------------------------------- arc42 view


@dataclass(frozen=True)
class QualityGoal:
    key: str
    name: str
    question: str
    measure: str
    guard_rail: str


@dataclass(frozen=True)
class Stakeholder:
    role: str
    contact: str
    expectations: str


@dataclass(frozen=True)
class Scenario:
    """An arc42 quality scenario (section 10.2) built from one metric."""

    id: str
    source: str
    stimulus: str
    environment: str
    response: str
    measure: str


@dataclass(frozen=True)
class Arc42View:
    key: str
    name: str
    why: str
    who: str
    how: str
    what: str
    agreement: str
    goals: tuple[QualityGoal, ...]
    stakeholders: tuple[Stakeholder, ...]
    scenarios: tuple[Scenario, ...]


def _amount(value: float | None, unit: str) -> str:
    return f"{format_number(value)} {unit}".strip() if value is not None else "–"


def _measure(metric: Metric) -> str:
    if metric.target_value is None:
        return "no target agreed yet"
    better = "higher" if metric.direction == "up" else "lower"
    sign = "≥" if metric.direction == "up" else "≤"
    text = f"{sign} {_amount(metric.target_value, metric.unit)}"
    if metric.target_date:
        text += f" by {metric.target_date:%Y-%m-%d}"
    if metric.baseline_value is not None:
        text += f", from a baseline of {_amount(metric.baseline_value, metric.unit)}"
    return f"{text} ({better} is better)"


def guard_rail_text(metric: Metric) -> str:
    if metric.guard_rail is None:
        return "–"
    side = "above" if metric.direction == "down" else "below"
    return f"never {side} {_amount(metric.guard_rail, metric.unit)}"


def actors(who: str) -> list[str]:
    """The actors of an impact map, written one per line or separated by ';'."""
    parts = [part.strip() for line in who.splitlines() for part in line.split(";")]
    return [part for part in parts if part]


def agreement_text(initiative: Initiative) -> str:
    revision = f"revision {initiative.revision}"
    if initiative.status == InitiativeStatus.AGREED:
        signed = [f"{s.user} ({s.role})" for s in initiative.signoffs
                  if s.revision == initiative.revision]
        when = f" on {initiative.agreed_at:%Y-%m-%d}" if initiative.agreed_at else ""
        by = f" by {' and '.join(signed)}" if signed else ""
        return f"agreed at {revision}{when}{by}"
    if initiative.status == InitiativeStatus.DRAFT:
        missing = " and ".join(role.value for role in missing_signoffs(initiative))
        return f"draft at {revision}, not agreed yet (waiting for the {missing} owner)"
    return f"{initiative.status} at {revision}"


def _source_text(metric: Metric) -> str:
    if metric.source_kind == "manual":
        return "recorded by hand or pushed from pipelines"
    return f"pulled from the {metric.source_kind} source"


def arc42_view(initiative: Initiative) -> Arc42View:
    who = actors(initiative.who)
    goals, scenarios = [], []
    for index, metric in enumerate(initiative.metrics, start=1):
        goals.append(QualityGoal(metric.key, metric.name, metric.question, _measure(metric),
                                 guard_rail_text(metric)))
        stale = criteria.format_duration(metric.stale_after_seconds)
        moves = "goes up" if metric.direction == "up" else "goes down"
        response = f"{metric.name} ({metric.key}) {moves}"
        if metric.question:
            response += f", answering: {metric.question}"
        measure = _measure(metric)
        if metric.guard_rail is not None:
            measure += f"; {guard_rail_text(metric)}"
        scenarios.append(Scenario(
            id=f"QS-{index}",
            source="; ".join(who) or "the people the initiative serves",
            stimulus=initiative.how or f"the deliverables of {initiative.name} are in use",
            environment=f"normal operation; {_source_text(metric)}; a value older than "
                        f"{stale} counts as missing",
            response=response,
            measure=measure,
        ))
    stakeholders = []
    if initiative.product_owner:
        stakeholders.append(Stakeholder(
            "Product owner", f"@{initiative.product_owner}",
            "owns the business goal; signs off the success criteria"))
    if initiative.engineering_owner:
        stakeholders.append(Stakeholder(
            "Engineering lead", f"@{initiative.engineering_owner}",
            "owns the measures and their instrumentation; signs off the success criteria"))
    for actor in who:
        stakeholders.append(Stakeholder(
            "Actor", actor, initiative.how or "their behaviour is what the initiative changes"))
    if initiative.channel:
        stakeholders.append(Stakeholder(
            "Review audience", f"#{initiative.channel}",
            "sees before → after for every metric at each retro and quarterly review"))
    return Arc42View(
        key=initiative.key, name=initiative.name, why=initiative.why, who=initiative.who,
        how=initiative.how, what=initiative.what, agreement=agreement_text(initiative),
        goals=tuple(goals), stakeholders=tuple(stakeholders), scenarios=tuple(scenarios),
    )


class _Markdown(str):
    """Text a filter already made safe for Markdown: the template's finalize keeps it."""


# What starts a block at the beginning of a line: a heading, list item, quote, setext
# underline, table row or delimiter, ordered list item.
_LINE_START = re.compile(r"[#+\-=|:>]|\d+(?=[.)])")


def _block(text: str) -> str:
    """User text as Markdown text, each line kept, none starting a block of its own."""
    lines = []
    for line in str(text).splitlines():
        line = escape_inline(line.strip())
        start = _LINE_START.match(line)
        if start:  # "1. x" -> "1\. x", "# x" -> "\# x"
            end = start.end()
            line = f"{line[:end]}\\{line[end:]}" if line[:1].isdigit() else f"\\{line}"
        lines.append(line)
    return "\n".join(lines)


def _finalize(value: object) -> str:
    """Every ``{{ }}`` of the template: user text shown as text unless a filter made it."""
    return value if isinstance(value, _Markdown) else _block(str(value))


def _cell(value: object) -> _Markdown:
    """Text safe inside a Markdown table cell: one line (breaks as <br>), pipes escaped."""
    text = str(value).strip() if value is not None else ""
    lines = [escape_inline(" ".join(line.split())) for line in text.splitlines()]
    cell = "<br>".join(line for line in lines if line).replace("|", "\\|")
    return _Markdown(cell or "–")


def _line(value: object) -> _Markdown:
    """Text on one line, inside a list item or emphasis."""
    return _Markdown(escape_inline(" ".join(str(value or "").split())))


def _code(value: object) -> _Markdown:
    """Inline code: shown verbatim, so nothing inside is escaped."""
    text = " ".join(str(value).split())
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return _Markdown(f"{fence}{pad}{text}{pad}{fence}")


def _environment() -> Environment:
    # Markdown, not HTML: HTML autoescaping would turn "≥ 12 min & more" into entities.
    # `finalize` does the Markdown equivalent for every value; filters mark what they made.
    env = Environment(
        loader=PackageLoader("bot.app", "export_templates"),
        autoescape=False,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
    )
    env.filters["cell"] = _cell
    env.filters["line"] = _line
    env.filters["code"] = _code
    return env


def arc42_markdown(initiatives: list[Initiative], now: datetime) -> str:
    """arc42 section 1 (introduction and goals) and 10 (quality requirements)."""
    template = _environment().get_template("arc42.md.j2")
    return template.render(initiatives=[arc42_view(i) for i in initiatives],
                           exported_on=f"{now:%Y-%m-%d}")


# ---------------------------------------------------------------------------- csv and yaml


def _spreadsheet_safe(text: str) -> str:
    # A cell starting with = + - @ runs as a formula when the file is opened in a
    # spreadsheet; a leading apostrophe keeps it text.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def samples_csv(session: Session, initiatives: list[Initiative]) -> str:
    """Every sample of the initiatives' metrics: the total ('' segment) first, oldest first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for initiative in initiatives:
        for metric in initiative.metrics:
            rows = session.execute(
                select(Sample.segment, Sample.observed_at, Sample.value, Sample.origin,
                       Sample.recorded_by)
                .where(Sample.metric_id == metric.id)
                .order_by(Sample.segment, Sample.observed_at)
                .execution_options(yield_per=2000)
            )
            for segment, observed_at, value, origin, recorded_by in rows:
                writer.writerow((initiative.key, metric.key, _spreadsheet_safe(segment),
                                 observed_at.isoformat(), repr(float(value)),
                                 _spreadsheet_safe(metric.unit), origin,
                                 _spreadsheet_safe(recorded_by)))
    return buffer.getvalue()


def criteria_yaml(session: Session, initiatives: list[Initiative], now: datetime) -> str:
    """The criteria file for ``initiatives``: `outcome apply` reads it back unchanged."""
    header = [
        f"Outcomes success criteria, exported {now:%Y-%m-%d %H:%M} UTC.",
        "Review a change with `outcome apply <file> --dry-run`, then apply it without",
        "--dry-run. A change to agreed criteria reopens them: both owners agree again.",
        "Credentials appear only as ${ENV_VAR} references (or <redacted>), never as values.",
        "",
        *(f"{i.key}: {agreement_text(i)}" for i in initiatives),
    ]
    return criteria.dump(criteria.document_of(session, initiatives), header)


def export_initiatives(session: Session, initiatives: list[Initiative], fmt: str,
                       now: datetime, *, label: str) -> ExportFile:
    """Export ``initiatives`` as ``fmt``; ``label`` names the file (an initiative key)."""
    names = ", ".join(i.name for i in initiatives)
    if fmt == "arc42":
        return ExportFile(f"{label}-arc42.md", arc42_markdown(initiatives, now).encode(),
                          f"arc42 quality goals and scenarios: {names}")
    if fmt == "csv":
        return ExportFile(f"{label}-samples.csv", samples_csv(session, initiatives).encode(),
                          f"Metric values: {names}")
    if fmt == "yaml":
        return ExportFile(f"{label}-criteria.yaml",
                          criteria_yaml(session, initiatives, now).encode(),
                          f"Success criteria: {names}")
    raise ValueError(f"unknown export format {fmt!r}")
