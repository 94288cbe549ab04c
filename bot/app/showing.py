"""The text of ``show`` and ``list``: an initiative's criteria, and the workspace's list."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.app import digest_schedules
from bot.app.replies import criterion
from bot.app.services import missing_signoffs
from bot.core.kinds import InitiativeStatus
from bot.storage.models import DigestSchedule, Initiative


def show_text(i: Initiative) -> str:
    """Everything an initiative's criteria say, and who has yet to sign them."""
    missing = missing_signoffs(i)
    waiting = (f"; waiting for the {' and '.join(r.value for r in missing)} owner"
               if missing and i.status == InitiativeStatus.DRAFT else "")
    lines = [
        f"{i.name} ({i.key}) [{i.status}, revision {i.revision}{waiting}]",
        f"Why: {i.why or '–'}",
        f"Who: {i.who or '–'}",
        f"How: {i.how or '–'}",
        f"What: {i.what or '–'}",
        f"Owners: product {i.product_owner or '–'}, engineering {i.engineering_owner or '–'}; "
        f"channel {i.channel or '–'}",
        f"Cadence: {i.sprint_days}-day sprints from {i.sprint_anchor:%Y-%m-%d}, {i.timezone}, "
        f"fiscal year from month {i.fiscal_year_start_month}",
        "Metrics:" if i.metrics else "Metrics: none yet",
    ]
    for m in i.metrics:
        question = f" — {m.question}" if m.question else ""
        lines.append(f"  • {m.key}: {m.name}{question} ({criterion(m).text}; source "
                     f"{m.source_kind})")
    if i.deliverables:
        lines.append("Deliverables:")
    for d in i.deliverables:
        shipped = (f"shipped {d.shipped_at.astimezone(ZoneInfo(i.timezone)):%Y-%m-%d %H:%M}"
                   if d.shipped_at else "not shipped yet")
        moves = f"moves {', '.join(d.moves)}" if d.moves else "moves nothing measured"
        lines.append(f"  • {d.name} ({shipped}; {moves})")
    return "\n".join(lines)


def list_text(initiatives: list[Initiative], schedules: list[DigestSchedule]) -> str:
    """One line per initiative, then the digest schedules."""
    lines = [
        f"• {i.key}: {i.name} [{i.status}] {len(i.metrics)} metric(s); "
        f"product {i.product_owner or '–'}, engineering {i.engineering_owner or '–'}; "
        f"{i.sprint_days}-day sprints, {i.timezone}"
        for i in initiatives
    ]
    if schedules:
        lines.append("Digests:")
        lines += [f"• #{row.channel} ({row.scope}): {digest_schedules.describe(row)}"
                  for row in schedules]
    return "Initiatives:\n" + "\n".join(lines)
