"""Segment drivers in a review read from the database: a conversion rate by device whose
weights (sessions) are stored beside its segments, and a share that is never summed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from bot.app.context import Actor
from bot.app.metric_changes import define_metric
from bot.app.review_builder import build_review
from bot.app.services import define_initiative
from bot.core.drivers import weight_segment
from bot.core.errors import UsageError
from bot.core.periods import THIS_SPRINT
from bot.core.points import Reading
from bot.core.review import Movement
from bot.render.json_review import review_json
from bot.render.text import review_terminal
from bot.storage.db import session_factory, transaction
from bot.storage.samples import store_readings

ACTOR = Actor("T1", "eve")
NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
SPRINT_START = datetime(2026, 11, 16, tzinfo=UTC)
TARGET = {"baseline_value": 3.0, "target_value": 4.0}
RATES = {"device=desktop": 5.0, "device=mobile": 2.0}


def _sessions(segment: str, at: datetime) -> float:
    """Desktop and mobile even until the sprint; then mobile takes 80 % of the traffic."""
    later = at >= SPRINT_START + timedelta(days=3)
    share = (0.2 if segment == "device=desktop" else 0.8) if later else 0.5
    return 1000 * share


def _seed(engine: Engine) -> None:
    with transaction(session_factory(engine)) as session:
        define_initiative(session, ACTOR, "shop", {
            "name": "Shop", "timezone": "UTC", "sprint_anchor": date(2026, 11, 16),
            "sprint_days": 14}, now=NOW)
        metric, _ = define_metric(session, ACTOR, "shop", "conv", {
            "name": "Conversion", "unit": "%", "baseline_value": 3.0, "target_value": 4.0,
            "source_kind": "manual", "source_config": {"by": "device", "total": "weighted"},
        }, now=NOW)
        readings = []
        for day in range(50):
            at = NOW - timedelta(days=day, hours=1)
            wobble = 0.01 * ((day * 7) % 5 - 2)  # a little day-to-day noise
            sessions = {name: _sessions(name, at) for name in RATES}
            total = sum(RATES[n] * sessions[n] for n in RATES) / sum(sessions.values())
            readings.append(Reading(at, total + wobble))
            for name, rate in RATES.items():
                readings += [Reading(at, rate + wobble, name),
                             Reading(at, sessions[name], weight_segment(name))]
        store_readings(session, metric.id, readings, origin="backfill", recorded_by="test")


def test_a_move_made_by_the_mix_is_attributed_to_mix_not_rates(engine: Engine) -> None:
    _seed(engine)

    with session_factory(engine)() as session:
        review = build_review(session, "T1", THIS_SPRINT, NOW)
    metric = review.initiatives[0].metrics[0]

    assert metric.change.movement is Movement.REGRESSED
    assert [s.segment for s in metric.segments] == ["device=desktop", "device=mobile"]
    assert metric.drivers is not None
    assert metric.drivers.relation == "weighted"
    assert metric.drivers.rate == pytest.approx(0.0, abs=0.02)
    assert metric.drivers.mix == pytest.approx(2.6 - 3.5, abs=0.02)
    assert "mix -0.90 pp (the shift between segments moved it more than their rates)" \
        in review_terminal(review)
    drivers = json.loads(review_json(review))["initiatives"][0]["metrics"][0]["drivers"]
    assert drivers["relation"] == "weighted"
    assert {c["segment"] for c in drivers["contributions"]} == set(RATES)
    assert drivers["mix"] == pytest.approx(-0.9, abs=0.02)


def test_a_share_by_segment_must_say_how_its_total_is_made(engine: Engine) -> None:
    with transaction(session_factory(engine)) as session:
        define_initiative(session, ACTOR, "shop", {
            "name": "Shop", "sprint_anchor": date(2026, 11, 16)}, now=NOW)
        with pytest.raises(UsageError, match="its unit is a share, so its total is never"):
            define_metric(session, ACTOR, "shop", "conv", {
                "name": "Conversion", "unit": "%", "source_kind": "manual", **TARGET,
                "source_config": {"by": "device"}}, now=NOW)
        with pytest.raises(UsageError, match="never the sum"):
            define_metric(session, ACTOR, "shop", "conv", {
                "name": "Conversion", "unit": "%", "source_kind": "manual", **TARGET,
                "source_config": {"by": "device", "total": "sum"}}, now=NOW)
        define_metric(session, ACTOR, "shop", "conv", {
            "name": "Conversion", "unit": "%", "source_kind": "manual", **TARGET,
            "source_config": {"by": "device", "total": "mean"}}, now=NOW)
        define_metric(session, ACTOR, "shop", "visits", {
            "name": "Visits", "unit": "visits", "source_kind": "manual", **TARGET,
            "source_config": {"by": "device"}}, now=NOW)
