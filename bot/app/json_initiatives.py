"""Initiatives and their agreed criteria as JSON: one versioned schema
(``outcomes.initiatives/1``, documented in docs/json.md) for ``list`` and ``show``.

Built from the same rows as :mod:`bot.app.showing`'s text. It lives in the application
layer, not in :mod:`bot.render`, because it reads the stored rows, which the renderers
may not import. A metric's source appears as its kind only: its config may name an
operator's connection or hold credentials, so it never leaves the store this way.

Text left unset is null (not ``""``), as is any other field a record cannot fill; days
are ISO dates, instants ISO 8601 in UTC, numbers plain numbers.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.app import digest_schedules
from bot.app.services import missing_signoffs
from bot.core.kinds import InitiativeStatus
from bot.core.schedules import WEEKDAYS
from bot.storage.models import DigestSchedule, Initiative, Metric

SCHEMA = "outcomes.initiatives/1"


def load_signoffs(session: Session, initiatives: list[Initiative]) -> None:
    """Read the sign-offs and deliverables of every initiative in one query each, not one
    query per initiative."""
    # The initiatives are already in the session: this fills only what is unloaded.
    if initiatives:
        session.scalars(select(Initiative).where(
            Initiative.id.in_([i.id for i in initiatives])).options(
            selectinload(Initiative.signoffs), selectinload(Initiative.deliverables))).all()


def list_document(initiatives: list[Initiative],
                  schedules: list[DigestSchedule]) -> dict[str, Any]:
    """What ``list`` shows: the initiatives, then the workspace's digest schedules."""
    return {"schema": SCHEMA, "initiatives": [_initiative(i) for i in initiatives],
            "digests": [_digest(row) for row in schedules]}


def show_document(initiative: Initiative) -> dict[str, Any]:
    """What ``show`` shows: one initiative (``digests`` is null: ``show`` lists none)."""
    return {"schema": SCHEMA, "initiatives": [_initiative(initiative)], "digests": None}


def _initiative(i: Initiative) -> dict[str, Any]:
    signed = [s for s in i.signoffs if s.revision == i.revision]
    waiting = missing_signoffs(i) if i.status == InitiativeStatus.DRAFT else []
    return {
        "key": i.key,
        "name": i.name,
        "status": i.status,
        "revision": i.revision,
        "why": _text(i.why),
        "who": _text(i.who),
        "how": _text(i.how),
        "what": _text(i.what),
        "channel": _text(i.channel),
        "owners": {"product": _text(i.product_owner),
                   "engineering": _text(i.engineering_owner)},
        "signoffs": [{"role": s.role, "user": s.user, "at": _instant(s.at)} for s in signed],
        "waiting_for": [role.value for role in waiting],
        "agreed_at": _instant(i.agreed_at),
        "cadence": _cadence(i),
        "metrics": [_metric(m) for m in i.metrics],
        "deliverables": [{"name": d.name, "moves": list(d.moves),
                          "shipped_at": _instant(d.shipped_at),
                          "shipped_by": _text(d.shipped_by)} for d in i.deliverables],
    }


def _metric(m: Metric) -> dict[str, Any]:
    # Only the source's kind: never m.source_config (connections, queries, credentials).
    return {
        "key": m.key,
        "name": m.name,
        "question": _text(m.question),
        "unit": _text(m.unit),
        "direction": m.direction,
        "baseline": _number(m.baseline_value),
        "baseline_at": _instant(m.baseline_at),
        "target": _number(m.target_value),
        "target_date": _day(m.target_date),
        "noise_floor": _number(m.noise),
        "stale_after_seconds": m.stale_after_seconds,
        "guard_rail": _number(m.guard_rail),
        "source_kind": m.source_kind,
    }


def _digest(row: DigestSchedule) -> dict[str, Any]:
    sprint = row.kind == "sprint"
    return {
        "channel": row.channel,
        "initiative": None if row.scope == "channel" else row.scope.removeprefix("initiative:"),
        "kind": row.kind,
        "enabled": row.enabled,
        "local_time": row.local_time,
        "retro_weekday": WEEKDAYS[row.retro_weekday] if sprint else None,
        "lead_minutes": row.lead_minutes if sprint else None,
        "days_before": None if sprint else row.days_before,
        "cadence": _cadence(row),
        "description": digest_schedules.describe(row),
    }


def _cadence(row: Initiative | DigestSchedule) -> dict[str, Any]:
    return {"sprint_days": row.sprint_days, "sprint_anchor": _day(row.sprint_anchor),
            "timezone": row.timezone, "fiscal_year_start_month": row.fiscal_year_start_month}


def _text(value: str | None) -> str | None:
    return value or None


def _number(value: float | None) -> float | None:
    """JSON has no NaN or infinity: such a value is null."""
    return None if value is None or not math.isfinite(value) else value


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _instant(value: datetime | None) -> str | None:
    """UTC; a naive value (not yet read back from the store) is taken as UTC."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
