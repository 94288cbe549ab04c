"""What applying a criteria file does, and the diff a person reviews before it is written."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.app.criteria.formats import format_duration, instant_text, utc_text
from metrics.secrets import redact_secrets


@dataclass(frozen=True)
class FieldChange:
    name: str  # as written in the file, e.g. "target" or "owners.product"
    before: Any
    after: Any


@dataclass
class ItemPlan:
    """What applying does to one metric, deliverable (``key`` is its name) or to an
    initiative's digests."""

    key: str
    created: bool = False
    changes: list[FieldChange] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.created or bool(self.changes)

    @property
    def change_count(self) -> int:
        return 1 if self.created else len(self.changes)


@dataclass
class InitiativePlan:
    key: str
    name: str
    created: bool = False
    changes: list[FieldChange] = field(default_factory=list)
    metrics: list[ItemPlan] = field(default_factory=list)
    deliverables: list[ItemPlan] = field(default_factory=list)
    digests: ItemPlan | None = None
    reopened_revision: int | None = None  # the new draft revision when agreement reopened
    left_alone: list[str] = field(default_factory=list)  # metrics not in the file
    deliverables_left_alone: list[str] = field(default_factory=list)  # their names

    @property
    def changed(self) -> bool:
        return (self.created or bool(self.changes)
                or any(item.changed for item in (*self.metrics, *self.deliverables))
                or bool(self.digests and self.digests.changed))

    @property
    def change_count(self) -> int:
        count = 1 if self.created else len(self.changes)
        count += sum(item.change_count for item in (*self.metrics, *self.deliverables))
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


def _shown(name: str, value: Any) -> str:
    if value is None:
        return "(none)"
    if name.startswith("digests."):
        return str(value)
    if name == "stale_after" and isinstance(value, int):
        return format_duration(value)
    if name == "source" and isinstance(value, dict):
        return json.dumps(redact_secrets(value), sort_keys=True, default=str)
    if name == "moves" and isinstance(value, list):
        return f"[{', '.join(value)}]"
    if name == "shipped" and isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, datetime):
        return instant_text(value) or ""
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


def _deliverable_line(item: ItemPlan) -> str:
    """``+ deliverable 'X': moves [a, b]`` or ``~ deliverable 'X': moves [a] → [a, b]``."""
    if item.created:
        fields = [f"{c.name} {_shown(c.name, c.after)}" for c in item.changes]
        return f"    + deliverable {item.key!r}" + (": " + "; ".join(fields) if fields else "")
    fields = [f"{c.name} {_shown(c.name, c.before)} → {_shown(c.name, c.after)}"
              for c in item.changes]
    return f"    ~ deliverable {item.key!r}: " + "; ".join(fields)


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
        lines += [_deliverable_line(item) for item in plan.deliverables if item.changed]
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
        if plan.deliverables_left_alone:
            names = ", ".join(repr(name) for name in plan.deliverables_left_alone)
            lines.append(f"Left as they are (not in the file): deliverable(s) {names} of "
                         f"{plan.key}.")
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
