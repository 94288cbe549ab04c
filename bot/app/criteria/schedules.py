"""The digest schedules an initiative has, in the shape a criteria file describes them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.app.criteria.formats import DigestState
from bot.storage.models import DigestSchedule, Initiative


def digest_rows(session: Session, initiative: Initiative) -> dict[str, DigestSchedule]:
    """The initiative's own digest schedules by kind (``sprint``, ``quarter``)."""
    rows = session.scalars(select(DigestSchedule).where(
        DigestSchedule.workspace == initiative.workspace,
        DigestSchedule.scope == f"initiative:{initiative.key}")).all()
    return {row.kind: row for row in rows}


def digest_timing(row: DigestSchedule) -> dict[str, Any]:
    if row.kind == "sprint":
        return {"retro_weekday": row.retro_weekday, "local_time": row.local_time}
    return {"days_before": row.days_before, "local_time": row.local_time}


def digest_state(row: DigestSchedule | None) -> DigestState:
    if row is None:
        return None
    return digest_timing(row) if row.enabled else "off"
