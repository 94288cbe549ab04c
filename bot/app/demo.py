"""The demo workspace and the embedded default main job (`outcome demo`).

Creates, once, two realistic initiatives with months of deterministic history, tops their
history up to now on every run, reviews the chosen period and writes the review as
Markdown, HTML with embedded charts, Block Kit JSON and PNG charts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.app.context import Actor
from bot.app.deliverables import set_deliverable
from bot.app.metric_changes import define_metric
from bot.app.review_builder import build_review
from bot.app.services import agree, define_initiative, get_initiative, list_initiatives
from bot.core.kinds import Origin
from bot.core.periods import PeriodSpec, week_start
from bot.core.review import Review
from bot.render.blocks import review_messages
from bot.render.charts import initiative_chart, segment_chart
from bot.render.text import review_html, review_markdown
from bot.storage.db import transaction
from bot.storage.samples import store_readings
from metrics.kinds import get_source

HISTORY_DAYS = 120
SAMPLE_EVERY = timedelta(hours=6)
PRODUCT_OWNER, ENGINEERING_OWNER = "ana", "ben"


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _sprint_start(anchor: date, start: datetime) -> datetime:
    """Midnight (UTC) of the first day of the demo's current 14-day sprint."""
    today = (start + timedelta(days=HISTORY_DAYS)).date()
    first = anchor + timedelta(days=(today - anchor).days // 14 * 14)
    return datetime.combine(first, datetime.min.time(), tzinfo=UTC)


def _fleet(start: datetime) -> dict[str, Any]:
    anchor = week_start(start.date())
    # APAC sags through each sprint (a flaky regional mirror) and recovers at the next
    # one. The sag restarts half a day before the Berlin sprint boundary, so the last
    # 6-hourly sample before a sprint (its "before") is near the top of the saw.
    sag_anchor = _iso(datetime.combine(anchor, datetime.min.time(), tzinfo=UTC)
                      - timedelta(hours=12))
    window = {"start_at": _iso(start), "end_at": _iso(start + timedelta(days=180))}
    # Automatic rollback shipped three days before the current sprint: the operators'
    # touchpoints step down then (the review dates the shift and shows both levels).
    # Regional mirrors ship on the sprint's first day: the review says what moved since.
    sprint = _sprint_start(anchor, start)
    shipped = sprint - timedelta(days=3)
    return {
        "key": "fleet-update",
        "fields": {
            "name": "Device fleet on the latest firmware",
            "why": "Cut the cost and risk of keeping field devices current: every site "
                   "visit for an update costs a technician day.",
            "who": "Fleet operators; on-site technicians; customer support",
            "how": "Operators schedule updates remotely; devices update themselves overnight "
                   "and roll back on failure.",
            "what": "Staged over-the-air rollout; automatic rollback; regional mirrors",
            "channel": "fleet-reviews",
            "product_owner": PRODUCT_OWNER,
            "engineering_owner": ENGINEERING_OWNER,
            "sprint_days": 14,
            "sprint_anchor": anchor,
            "timezone": "Europe/Berlin",
            "fiscal_year_start_month": 1,
        },
        "agreed_by": [PRODUCT_OWNER, ENGINEERING_OWNER],
        "deliverables": [
            ("Automatic rollback", ["touchpoints", "auto-rollback"], shipped),
            ("Regional mirrors", ["deploy-time", "on-latest"], sprint + timedelta(hours=6)),
            ("Staged over-the-air rollout", ["on-latest", "tickets"], None),
        ],
        "metrics": [
            ("on-latest", {
                "name": "Devices on the latest firmware", "unit": "%", "direction": "up",
                "question": "Do devices update without a site visit?",
                "baseline_value": 38.0, "target_value": 90.0, "noise": 0.5,
                "target_date": (start + timedelta(days=180)).date(),
            }, {**window, "seed": "on-latest", "total": "weighted", "segments": {
                "region=EU": {"start": 41, "end": 95, "noise": 0.6, "weight": 5, "max": 100},
                "region=US": {"start": 36, "end": 92, "noise": 0.6, "weight": 4, "max": 100},
                "region=APAC": {"start": 30, "end": 66, "noise": 0.6, "weight": 2,
                                "sag": {"period_days": 14, "anchor": sag_anchor, "depth": 9}},
            }}),
            ("deploy-time", {
                "name": "Deployment time", "unit": "min", "direction": "down",
                "question": "How long does a fleet-wide rollout take?",
                "baseline_value": 40.0, "target_value": 12.0, "noise": 1.0,
                "target_date": (start + timedelta(days=150)).date(),
            }, {**window, "end_at": _iso(start + timedelta(days=150)), "seed": "deploy-time",
                "total": {"start": 40, "end": 13, "noise": 1.2, "min": 5}}),
            ("tickets", {
                "name": "Support tickets per week", "unit": "tickets/wk", "direction": "down",
                "question": "Do updates stop generating support work?",
                "baseline_value": 120.0, "target_value": 60.0, "noise": 3.0,
                "target_date": (start + timedelta(days=180)).date(),
            }, {**window, "seed": "tickets",
                "total": {"start": 120, "end": 78, "noise": 3, "weekly": 0.04,
                          "decimals": 0}}),
            ("touchpoints", {
                "name": "Operator touchpoints per update", "unit": "touches",
                "direction": "down", "question": "How much manual work does an update need?",
                "baseline_value": 6.0, "target_value": 1.0, "noise": 0.2,
                "target_date": (start + timedelta(days=180)).date(),
            }, {**window, "seed": "touchpoints",
                "total": {"start": 6, "end": 1.6, "noise": 0.15, "min": 1,
                          "step": {"at": _iso(shipped), "by": -0.7}}}),
            ("auto-rollback", {
                "name": "Failed updates rolled back automatically", "unit": "%",
                "direction": "up", "question": "Does a failed update heal itself?",
                "baseline_value": 0.0, "target_value": 95.0,
                "target_date": (start + timedelta(days=180)).date(),
            }, None),
        ],
    }


def _onboarding(start: datetime) -> dict[str, Any]:
    window = {"start_at": _iso(start), "end_at": _iso(start + timedelta(days=200))}
    return {
        "key": "self-serve",
        "fields": {
            "name": "Self-serve onboarding adoption",
            "why": "Grow accounts without growing the onboarding team.",
            "who": "New admins; customer success",
            "how": "Admins set up their first dashboard alone on day one.",
            "what": "Guided setup; sample data; in-app checklist",
            "channel": "growth-reviews",
            "product_owner": PRODUCT_OWNER,
            "engineering_owner": "chen",
            "sprint_days": 14,
            "sprint_anchor": week_start(start.date()),
            "timezone": "America/New_York",
            "fiscal_year_start_month": 2,
        },
        "agreed_by": [PRODUCT_OWNER],
        "deliverables": [
            ("Guided setup", ["activation", "time-to-value"],
             _sprint_start(week_start(start.date()), start) + timedelta(hours=15)),
            ("In-app checklist", [], None),  # moves nothing measured: flagged
        ],
        "metrics": [
            ("activation", {
                "name": "Accounts activated within 7 days", "unit": "%", "direction": "up",
                "question": "Do new admins reach value alone?",
                "baseline_value": 22.0, "target_value": 40.0, "noise": 0.4,
                "target_date": (start + timedelta(days=200)).date(),
            }, {**window, "seed": "activation", "total": "weighted", "segments": {
                # Sign-ups move to mobile, which activates less: the mix holds the total back.
                "device=desktop": {"start": 24, "end": 39, "noise": 0.5, "weight": 3,
                                   "weight_end": 2},
                "device=mobile": {"start": 17, "end": 30, "noise": 0.5, "weight": 2,
                                  "weight_end": 4},
            }}),
            ("time-to-value", {
                "name": "Time to first dashboard", "unit": "h", "direction": "down",
                "question": "How fast does a new admin see their own data?",
                "baseline_value": 48.0, "target_value": 12.0, "noise": 1.0,
                "target_date": (start + timedelta(days=200)).date(),
            }, {**window, "seed": "time-to-value",
                "total": {"start": 48, "end": 20, "noise": 1.5}}),
            ("csat", {
                "name": "Onboarding satisfaction", "unit": "/5", "direction": "up",
                "question": "Do new admins enjoy the setup?", "stale_after_seconds": 3 * 86400,
                "baseline_value": 3.6, "target_value": 4.3,
                "target_date": (start + timedelta(days=200)).date(),
            }, {**window, "seed": "csat", "until": _iso(start + timedelta(days=HISTORY_DAYS - 9)),
                "total": {"start": 3.6, "end": 4.2, "noise": 0.05, "decimals": 2}}),
        ],
    }


def _ensure_initiative(session: Session, workspace: str, spec: dict[str, Any],
                       created: datetime, now: datetime) -> bool:
    """Create the initiative once; an existing one is left exactly as it is."""
    actor = Actor(workspace, "outcome-demo", operator=True)  # demo sources are pulled
    if get_initiative(session, workspace, spec["key"]) is not None:
        return False
    define_initiative(session, actor, spec["key"], spec["fields"], now=created)
    for key, fields, source in spec["metrics"]:
        define_metric(session, actor, spec["key"], key, {
            **fields,
            "baseline_at": created,
            "source_kind": "demo" if source else "manual",
            "source_config": source or {},
        }, now=created)
    for user in spec["agreed_by"]:
        agree(session, Actor(workspace, user), spec["key"], now=created)
    for name, moves, shipped_at in spec["deliverables"]:
        set_deliverable(session, actor, spec["key"], name, now=max(now, created),
                        moves=moves, shipped_at=shipped_at if shipped_at and shipped_at <= now
                        else None)
    return True


def _sample_times(start: datetime, end: datetime) -> Iterator[datetime]:
    step = int(SAMPLE_EVERY.total_seconds())
    first = (int(start.timestamp()) // step + 1) * step
    for stamp in range(first, int(end.timestamp()) + 1, step):
        yield datetime.fromtimestamp(stamp, UTC)


def fill_history(session: Session, workspace: str, now: datetime) -> int:
    """Pull every demo metric at each 6-hour mark up to ``now``; returns rows added."""
    added = 0
    for initiative in list_initiatives(session, workspace):
        for metric in initiative.metrics:
            if metric.source_kind != "demo":
                continue
            source = get_source("demo", metric.source_config)
            start = metric.baseline_at or now - timedelta(days=HISTORY_DAYS)
            until = metric.source_config.get("until")
            end = min(now, datetime.fromisoformat(until)) if until else now
            readings = [r for at in _sample_times(start, end) for r in source.read(at)]
            added += store_readings(session, metric.id, readings, origin=Origin.PULL.value,
                                    recorded_by="demo")
    return added


@dataclass(frozen=True)
class DemoResult:
    review: Review
    files: list[Path]
    created: list[str]
    samples_added: int


def seed_demo(sessions: sessionmaker[Session], workspace: str, now: datetime
              ) -> tuple[list[str], int]:
    """Create the demo initiatives (once) and top up their history to ``now``."""
    start = (now - timedelta(days=HISTORY_DAYS)).replace(minute=0, second=0, microsecond=0)
    created = []
    with transaction(sessions) as session:
        for spec in (_fleet(start), _onboarding(start)):
            if _ensure_initiative(session, workspace, spec, start, now):
                created.append(spec["key"])
        added = fill_history(session, workspace, now)
    return created, added


def run_demo(sessions: sessionmaker[Session], workspace: str, out_dir: Path,
             now: datetime, period: PeriodSpec) -> DemoResult:
    """Seed the demo, review ``period`` and write every rendering into ``out_dir``."""

    created, added = seed_demo(sessions, workspace, now)
    with transaction(sessions) as session:
        review = build_review(session, workspace, period, now)
    out_dir.mkdir(parents=True, exist_ok=True)
    charts: dict[str, bytes] = {}
    for initiative in review.initiatives:
        charts[f"{initiative.key}.png"] = initiative_chart(initiative)
        for metric in initiative.metrics:
            png = segment_chart(metric, initiative.period)
            if png is not None:
                charts[f"{initiative.key}-{metric.definition.key}-segments.png"] = png
    files = []
    for name, png in charts.items():
        path = out_dir / name
        path.write_bytes(png)
        files.append(path)
    outputs = {
        "review.md": review_markdown(review, {name: name for name in charts}),
        "review.html": review_html(review, charts),
        "blocks.json": json.dumps(review_messages(review), indent=2, ensure_ascii=False),
    }
    for name, text in outputs.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        files.append(path)
    return DemoResult(review, files, created, added)
