"""The store as a criteria file: what ``outcome export --format yaml`` writes.

It is the inverse of :func:`bot.app.criteria.load`: applying the file it writes changes
nothing. Credentials in source configurations are redacted.
"""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy.orm import Session

from bot.app.criteria.formats import digest_text, format_duration, instant_text, utc_text
from bot.app.criteria.schedules import digest_rows, digest_state
from bot.storage.models import Deliverable, Initiative, Metric
from metrics.secrets import redact_secrets

FORMAT_VERSION = 1


def _metric_document(metric: Metric) -> dict[str, Any]:
    source = {"kind": metric.source_kind, **redact_secrets(dict(metric.source_config or {}))}
    return {
        "key": metric.key,
        "name": metric.name,
        "question": metric.question,
        "unit": metric.unit,
        "direction": metric.direction,
        "baseline": metric.baseline_value,
        "baseline_at": instant_text(metric.baseline_at),
        "target": metric.target_value,
        "target_date": metric.target_date.isoformat() if metric.target_date else None,
        "guard_rail": metric.guard_rail,
        "noise": metric.noise,
        "stale_after": format_duration(metric.stale_after_seconds),
        "source": source,
    }


def _deliverable_document(deliverable: Deliverable) -> dict[str, Any]:
    document: dict[str, Any] = {"name": deliverable.name, "moves": list(deliverable.moves)}
    if deliverable.shipped_at is not None:
        document["shipped"] = utc_text(deliverable.shipped_at)
    return document


def _digests_document(session: Session, initiative: Initiative) -> dict[str, Any] | None:
    rows = digest_rows(session, initiative)
    if not rows:
        return None
    document: dict[str, Any] = {}
    if "sprint" in rows:
        document["retro"] = digest_text("sprint", digest_state(rows["sprint"]))
        document["lead"] = format_duration(rows["sprint"].lead_minutes * 60)
    if "quarter" in rows:
        document["quarterly"] = digest_text("quarter", digest_state(rows["quarter"]))
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
    if initiative.deliverables:
        document["deliverables"] = [_deliverable_document(d) for d in initiative.deliverables]
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
