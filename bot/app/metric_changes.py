"""Adding, changing and removing a metric: who may, what is checked first (its source,
and that its criteria hold together), and the audit and reopened agreement that follow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.app.context import Actor
from bot.app.permissions import Action, require
from bot.app.services import (
    METRIC_FIELDS,
    apply_changes,
    find_initiative,
    find_metric,
    record_audit,
    reopen_if_agreed,
    snapshot_of,
    validate_key,
)
from bot.core.criteria_rules import criteria_problem
from bot.core.errors import Conflict, UsageError
from bot.core.kinds import InitiativeStatus
from bot.storage.models import Initiative, Metric, Sample
from metrics.connections import Connections
from metrics.kinds import check_config, is_pulled
from metrics.member_configs import refuse_member_config


def define_metric(session: Session, actor: Actor, initiative_key: str, key: str,
                  fields: dict[str, Any], *, now: datetime,
                  connections: Connections | None = None) -> tuple[Metric, bool]:
    """Add the metric ``key`` to an initiative, or update it. Returns (metric, created).

    With the operator's ``connections`` a source must name one of this workspace's."""
    validate_key(key, "a metric")
    unknown = set(fields) - set(METRIC_FIELDS)
    if unknown:
        raise UsageError(f"Unknown metric field(s): {', '.join(sorted(unknown))}.")
    initiative = find_initiative(session, actor.workspace, initiative_key)
    if initiative.status == InitiativeStatus.ARCHIVED:
        raise Conflict(f"Initiative {initiative_key!r} is archived; it takes no new metrics.")
    metric = next((m for m in initiative.metrics if m.key == key), None)
    differing = list(fields) if metric is None else [
        name for name, value in fields.items() if getattr(metric, name) != value]
    if metric is None or fields:
        _require_metric_change(actor, initiative, key, metric, fields, differing)
    if metric is not None and not differing:
        return metric, False
    _check_source(metric, fields, actor.workspace, connections)
    _check_criteria(initiative, key, metric, fields)
    if metric is None:
        for required in ("name", "target_value"):
            if fields.get(required) is None:
                raise UsageError(
                    f"A new metric needs {required.replace('_value', '')}: metric add "
                    f"{initiative_key} {key} \"<name>\" baseline=<n> target=<n> by=<date>"
                )
        metric = Metric(key=key, initiative=initiative, source_kind="manual",
                        source_config={})
        for name, value in fields.items():
            setattr(metric, name, value)
        session.add(metric)
        session.flush()
        record_audit(session, actor, "metric added", initiative=initiative, at=now, metric=metric,
                     after={"key": key, **snapshot_of(metric, METRIC_FIELDS)})
        reopen_if_agreed(session, actor, initiative, f"added metric {key}", now)
        return metric, True
    changed, before, after = apply_changes(metric, fields)
    if not changed:
        return metric, False
    record_audit(session, actor, "metric changed", initiative=initiative, at=now,
                 metric=metric,
                 before={"key": key, **before}, after={"key": key, **after})
    reopen_if_agreed(session, actor, initiative,
                      f"changed {key}: {', '.join(sorted(changed))}", now)
    return metric, False


def _check_criteria(initiative: Initiative, key: str, metric: Metric | None,
                    fields: dict[str, Any]) -> None:
    """Refuse a change after which the metric's criteria would contradict themselves."""
    stored = {name: getattr(metric, name) for name in METRIC_FIELDS} if metric else {}
    problem = criteria_problem({**stored, **fields})
    if problem:
        raise UsageError(f"Metric {initiative.key}.{key}: {problem}")


def _require_metric_change(actor: Actor, initiative: Initiative, key: str,
                           metric: Metric | None, fields: dict[str, Any],
                           differing: list[str]) -> None:
    """Owners (or an admin) change metrics; only an admin gives one a pulled source (asked
    first: an owner may not either)."""
    kind = str(fields.get("source_kind") or (metric.source_kind if metric else "manual"))
    if {"source_kind", "source_config"} & set(differing) and is_pulled(kind):
        require(actor, Action.SOURCE, initiative,
                does=f"give metric {initiative.key}.{key} a pulled source ({kind})")
    words = ", ".join(dict.fromkeys(
        name.removesuffix("_value").replace("_", " ") for name in differing or fields))
    require(actor, Action.METRIC, initiative, does=(
        "add a metric to it" if metric is None else f"change the {words} of its metric {key}"))


def _check_source(metric: Metric | None, fields: dict[str, Any], workspace: str,
                  connections: Connections | None) -> None:
    """Refuse a source config that could never be pulled (a url or credential of its own,
    a connection this workspace lacks, a SQL query that writes) before anything is
    stored; the sources check again at pull time."""
    if not {"source_kind", "source_config"} & fields.keys():
        return
    kind = str(fields.get("source_kind") or (metric.source_kind if metric else "manual"))
    config = fields.get("source_config", metric.source_config if metric else {}) or {}
    known = connections.known_text(workspace) if connections is not None else ""
    refuse_member_config(config, known)
    check_config(kind, config)
    if connections is not None:
        connections.check(kind, config, workspace)


def remove_metric(session: Session, actor: Actor, initiative_key: str, key: str, *,
                  now: datetime, confirmed: bool) -> tuple[Metric, int]:
    """Remove a metric with its values (owners or an admin), audited; an agreed initiative
    goes back to draft. Unconfirmed, nothing is removed. Returns the metric and how many
    values it had."""
    initiative = find_initiative(session, actor.workspace, initiative_key)
    metric = find_metric(initiative, key)
    require(actor, Action.METRIC, initiative, does=f"remove its metric {key}")
    if initiative.status == InitiativeStatus.ARCHIVED:
        raise Conflict(f"Initiative {initiative_key!r} is archived; unarchive it to change "
                       "its metrics.")
    values_count = session.scalar(
        select(func.count()).select_from(Sample).where(Sample.metric_id == metric.id)) or 0
    if not confirmed:
        return metric, values_count
    record_audit(session, actor, "metric removed", initiative=initiative, at=now,
                 metric=metric, before={"key": key, **snapshot_of(metric, METRIC_FIELDS),
                                        "values": values_count})
    initiative.metrics.remove(metric)
    session.flush()
    reopen_if_agreed(session, actor, initiative, f"removed metric {key}", now)
    return metric, values_count
