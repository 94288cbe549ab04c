"""Fitness functions: agreed criteria as checks a CI pipeline runs (`outcome check`).

Each metric of an agreed initiative is judged on its latest value, with the same review
arithmetic the digests use (:func:`bot.app.review_builder.review_metric`):

- no value at all, or a latest value older than the metric's ``stale_after``: **fail**, since
  a feature that cannot be measured is not complete;
- a metric with a guard rail: **fail** when the latest value crosses it (above it when lower
  is better, below it when higher is better), otherwise pass, whatever the target says;
- a metric without one: **fail** when its status is *off track* (its target date passed
  unmet, or at the current pace it closes under 75 % of the gap by then); *at risk*, *on
  track* and *achieved* pass;
- a metric with neither a target nor a guard rail is skipped: nothing was agreed;
- a deliverable that names no metric of the initiative, or only metrics without data:
  **fail**, for the same reason as a metric without data.

Draft initiatives are skipped, since their thresholds are not agreed, unless
``include_drafts`` asks for them. The result renders as text and as JUnit XML.
"""

from __future__ import annotations

import enum
import json
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from bot.app.review_builder import cadence_of, review_metric
from bot.app.services import find_initiative, list_initiatives
from bot.core.deliverables import UNMEASURED_NOTE, Deliverable, unmeasured_reason
from bot.core.kinds import InitiativeStatus
from bot.core.periods import THIS_SPRINT, resolve
from bot.core.review import MetricReview, Status, format_number
from bot.storage.models import Initiative, Metric


class Outcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Verdict:
    """One metric judged against its agreed threshold."""

    initiative: str
    metric: str
    metric_name: str
    outcome: Outcome
    reason: str  # a short kind: "guard rail", "off track", "stale", "no data", ...
    message: str
    value: float | None = None
    observed_at: datetime | None = None
    kind: str = "metric"  # or "deliverable": ``metric`` is then the deliverable's name

    @property
    def name(self) -> str:
        return f"{self.initiative}.{self.metric}"


@dataclass(frozen=True)
class CheckReport:
    checked_at: datetime
    verdicts: tuple[Verdict, ...]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for v in self.verdicts if v.outcome is outcome)

    @property
    def exit_code(self) -> int:
        """0 when nothing failed, 1 when a threshold is violated or data is missing."""
        return 1 if self.count(Outcome.FAILED) else 0


def _amount(value: float | None, unit: str) -> str:
    return f"{format_number(value)} {unit}".strip()


def crosses_guard_rail(value: float, guard_rail: float, direction: str) -> bool:
    """True when ``value`` is on the wrong side of the guard rail (equal is still fine)."""
    return value > guard_rail if direction == "down" else value < guard_rail


def judge(metric: Metric, review: MetricReview) -> tuple[Outcome, str, str]:
    """(outcome, reason, message) for one metric's review."""
    status, unit = review.status, metric.unit
    if status in (Status.NO_DATA, Status.STALE):
        return Outcome.FAILED, status.value, f"{status.value}: {review.status_reason}"
    latest = review.change.after
    assert latest is not None
    if metric.guard_rail is not None:
        limit = "at most" if metric.direction == "down" else "at least"
        rule = f"guard rail: {limit} {_amount(metric.guard_rail, unit)}"
        if crosses_guard_rail(latest.value, metric.guard_rail, metric.direction):
            return (Outcome.FAILED, "guard rail crossed",
                    f"{_amount(latest.value, unit)} crosses the {rule}")
        return (Outcome.PASSED, "within guard rail",
                f"{_amount(latest.value, unit)} is within the {rule} (target: "
                f"{status.value})")
    if status is Status.NO_TARGET:
        return Outcome.SKIPPED, "no threshold", "no target and no guard rail agreed"
    target = f"target {_amount(metric.target_value, unit)}"
    if metric.target_date:
        target += f" by {metric.target_date:%Y-%m-%d}"
    text = f"{_amount(latest.value, unit)} against the {target}: {status.value}, " \
           f"{review.status_reason}"
    if status is Status.OFF_TRACK:
        return Outcome.FAILED, "off track", text
    return Outcome.PASSED, status.value, text


def check_initiative(session: Session, initiative: Initiative, now: datetime, *,
                     include_drafts: bool = False) -> list[Verdict]:
    enforced = initiative.status == InitiativeStatus.AGREED or (
        include_drafts and initiative.status == InitiativeStatus.DRAFT)
    if not enforced:
        why = (f"criteria not agreed yet ({initiative.status}, revision "
               f"{initiative.revision}): nothing to enforce until both owners sign")
        if initiative.status not in (InitiativeStatus.AGREED, InitiativeStatus.DRAFT):
            why = f"initiative is {initiative.status}"
        return [Verdict(initiative.key, m.key, m.name, Outcome.SKIPPED, "not agreed", why)
                for m in initiative.metrics]
    period = resolve(THIS_SPRINT, cadence_of(initiative), now)
    verdicts = []
    with_data = []
    for metric in initiative.metrics:
        review = review_metric(session, metric, period, now, with_history=False)
        outcome, reason, message = judge(metric, review)
        latest = review.change.after
        verdicts.append(Verdict(
            initiative.key, metric.key, metric.name, outcome, reason, message,
            value=latest.value if latest else None,
            observed_at=latest.at if latest else None,
        ))
        if review.status is not Status.NO_DATA:
            with_data.append(metric.key)
    return verdicts + _deliverable_verdicts(initiative, with_data)


def _deliverable_verdicts(initiative: Initiative, with_data: list[str]) -> list[Verdict]:
    """A deliverable fails when it moves nothing measured: if a feature cannot be
    measured, it is not complete."""
    verdicts = []
    for row in initiative.deliverables:
        deliverable = Deliverable(row.name, tuple(row.moves))
        problem = unmeasured_reason(deliverable, [m.key for m in initiative.metrics],
                                    with_data)
        outcome = Outcome.FAILED if problem else Outcome.PASSED
        message = (f"{problem}; {UNMEASURED_NOTE}" if problem
                   else f"moves {', '.join(deliverable.moves)}")
        verdicts.append(Verdict(initiative.key, row.name, f"Deliverable '{row.name}'",
                                outcome, "unmeasured" if problem else "measured", message,
                                kind="deliverable"))
    return verdicts


def check(session: Session, workspace: str, now: datetime, *,
          initiatives: list[str] | None = None, include_drafts: bool = False) -> CheckReport:
    """Judge every metric of the named initiatives, or of every active one."""
    if initiatives:
        chosen = [find_initiative(session, workspace, key) for key in initiatives]
    else:
        chosen = [i for i in list_initiatives(session, workspace)
                  if i.status != InitiativeStatus.CLOSED]
    verdicts = [verdict for initiative in chosen
                for verdict in check_initiative(session, initiative, now,
                                                include_drafts=include_drafts)]
    return CheckReport(now, tuple(verdicts))


# ---------------------------------------------------------------------------- rendering

_LABELS = {Outcome.PASSED: "PASS", Outcome.FAILED: "FAIL", Outcome.SKIPPED: "SKIP"}


def report_text(report: CheckReport) -> str:
    """One line per metric, failures first, then a summary line."""
    order = {Outcome.FAILED: 0, Outcome.PASSED: 1, Outcome.SKIPPED: 2}
    verdicts = sorted(report.verdicts, key=lambda v: order[v.outcome])
    width = max((len(v.name) for v in verdicts), default=0)
    lines = [f"{_LABELS[v.outcome]}  {v.name:<{width}}  {v.metric_name}: {v.message}"
             for v in verdicts]
    failed, passed = report.count(Outcome.FAILED), report.count(Outcome.PASSED)
    skipped = report.count(Outcome.SKIPPED)
    if not report.verdicts:
        lines.append("No metrics to check.")
    else:
        lines.append(f"{failed + passed} checked: {passed} passed, {failed} failed"
                     f"{f', {skipped} skipped' if skipped else ''}.")
    if skipped and not failed + passed:
        lines.append("Nothing was enforced: agree the criteria first (both owners sign), "
                     "or pass --drafts.")
    return "\n".join(lines)


CHECK_SCHEMA = "outcomes.check/1"


def report_json(report: CheckReport) -> str:
    """The report as JSON (``outcomes.check/1``, docs/json.md): counts and every verdict."""
    return json.dumps({
        "schema": CHECK_SCHEMA,
        "checked_at": report.checked_at.isoformat(),
        "passed": report.count(Outcome.PASSED),
        "failed": report.count(Outcome.FAILED),
        "skipped": report.count(Outcome.SKIPPED),
        "verdicts": [{
            "initiative": v.initiative, "kind": v.kind, "metric": v.metric,
            "name": v.metric_name,
            "outcome": v.outcome.value, "reason": v.reason, "message": v.message,
            "value": v.value if v.value is None or math.isfinite(v.value) else None,
            "observed_at": v.observed_at.isoformat() if v.observed_at else None,
        } for v in report.verdicts],
    }, indent=2, ensure_ascii=False, allow_nan=False)


def _timestamp(moment: datetime) -> str:
    # JUnit's schema wants a local date-time without offset; we write UTC.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def junit_xml(report: CheckReport) -> bytes:
    """JUnit XML: a test suite per initiative, a test case per metric."""
    root = ET.Element("testsuites", {
        "name": "outcome check",
        "tests": str(len(report.verdicts)),
        "failures": str(report.count(Outcome.FAILED)),
        "errors": "0",
        "skipped": str(report.count(Outcome.SKIPPED)),
        "time": "0",
        "timestamp": _timestamp(report.checked_at),
    })
    suites: dict[str, list[Verdict]] = {}
    for verdict in report.verdicts:
        suites.setdefault(verdict.initiative, []).append(verdict)
    for index, (initiative, verdicts) in enumerate(suites.items()):
        suite = ET.SubElement(root, "testsuite", {
            "id": str(index),
            "name": initiative,
            "tests": str(len(verdicts)),
            "failures": str(sum(v.outcome is Outcome.FAILED for v in verdicts)),
            "errors": "0",
            "skipped": str(sum(v.outcome is Outcome.SKIPPED for v in verdicts)),
            "time": "0",
            "timestamp": _timestamp(report.checked_at),
        })
        for verdict in verdicts:
            case = ET.SubElement(suite, "testcase", {
                "classname": initiative, "name": verdict.metric, "time": "0",
            })
            detail = f"{verdict.metric_name}: {verdict.message}"
            if verdict.observed_at is not None:
                detail += f"\nLatest value observed at {verdict.observed_at.isoformat()}."
            if verdict.outcome is Outcome.FAILED:
                failure = ET.SubElement(case, "failure", {"type": verdict.reason,
                                                          "message": verdict.message})
                failure.text = detail
            elif verdict.outcome is Outcome.SKIPPED:
                ET.SubElement(case, "skipped", {"message": verdict.message})
            else:
                ET.SubElement(case, "system-out").text = detail
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
