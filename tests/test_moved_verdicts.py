"""'What moved' through the command layer, on stored daily series: a level shift is a move,
noise and a last-day spike are not, two manual values without a noise threshold are not
enough to tell — and the reply says how the rest stand."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from bot.app.commands import run
from bot.app.context import Actor, Context
from bot.core.points import Reading
from bot.core.variation import Verdict
from bot.storage.db import session_factory, transaction
from bot.storage.models import Metric
from bot.storage.samples import store_readings

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)  # the sprint of Nov 16 - Nov 29, day 14
SPRINT = date(2026, 11, 16)


def daily(engine: Engine, key: str, value) -> None:
    """Hourly samples for six weeks up to NOW, ``value(day_index, rng)`` by day."""
    sessions = session_factory(engine)
    rng = random.Random(key)
    first = datetime.combine(SPRINT - timedelta(days=28), datetime.min.time(), UTC)
    readings = []
    for day in range(42):
        level = value(day - 28, rng)
        readings += [Reading(first + timedelta(days=day, hours=h), level + rng.gauss(0, 0.2))
                     for h in range(24) if first + timedelta(days=day, hours=h) <= NOW]
    with transaction(sessions) as session:
        metric_id = session.query(Metric.id).filter(Metric.key == key).scalar()
        store_readings(session, metric_id, readings, origin="backfill", recorded_by="test")


def test_what_moved_tells_a_move_from_noise_a_spike_and_too_little_data(
        engine: Engine) -> None:
    ctx = Context(Actor("T1", "eve", admin=True), session_factory(engine), now=lambda: NOW)
    for text in (
        'define fleet "Fleet update" po=@ana eng=@ben tz=UTC anchor=2026-11-16',
        'metric add fleet deploy "Deploy time" unit=min direction=down baseline=40 '
        "target=12 by=2027-03-31",
        'metric add fleet tickets "Support tickets" direction=down baseline=120 target=60 '
        "by=2027-03-31",
        'metric add fleet spikes "Failed updates" direction=down baseline=10 target=2 '
        "by=2027-03-31",
        'metric add fleet nps "Operator NPS" direction=up baseline=20 target=40 '
        "by=2027-03-31",
        "record fleet.nps 22 at=2026-11-10T10:00",
        "record fleet.nps 31 at=2026-11-28T10:00",
    ):
        reply = run(text, ctx)
        assert not reply.error, reply.text
    daily(engine, "deploy", lambda day, rng: 31 if day < 6 else 24)  # stepped down Nov 22
    daily(engine, "tickets", lambda day, rng: 100 + rng.gauss(0, 3))
    daily(engine, "spikes", lambda day, rng: 8 + rng.gauss(0, 0.5) + (20 if day == 13 else 0))

    reply = run("moved", ctx)

    assert not reply.error and reply.review is not None
    lines = reply.text.splitlines()
    assert lines[0] == "What moved, this sprint:"
    assert re.fullmatch(r"• Fleet update / Deploy time: (30\.9|31\.0|31\.1) → (23\.9|24\.0|24\.1) "
                        r"min \(-2[23]%\), improved, well beyond normal variation; "
                        r"stepped down from 3\d\.\d to 2\d\.\d min on Nov 22; on track, "
                        r"2\d% of the gap", lines[1]), lines[1]
    assert len(lines) == 3  # only the deploy time moved
    assert lines[2] == ("Did not move: 1 within normal variation, 1 only a spike, "
                        "1 without enough data to tell.")
    verdicts = {m.definition.key: m.change.assessment.verdict
                for m in reply.review.initiatives[0].metrics if m.change.assessment}
    assert verdicts == {"deploy": Verdict.MOVED, "tickets": Verdict.WITHIN,
                        "spikes": Verdict.SPIKE, "nps": Verdict.NOT_ENOUGH}
    spikes = next(m for m in reply.review.initiatives[0].metrics
                  if m.definition.key == "spikes")
    assert spikes.change.verdict == "a spike on Nov 29, not a move"

    # With a noise threshold, two values are judged by it, and say so.
    assert not run("metric set fleet nps noise=5", ctx).error
    moved = run("moved", ctx).text
    assert "Operator NPS: 22 → 31 (+41%), improved by your noise threshold" in moved


def test_a_last_day_spike_past_the_target_is_not_achieved(engine: Engine) -> None:
    ctx = Context(Actor("T1", "eve", admin=True), session_factory(engine), now=lambda: NOW)
    for text in ('define fleet "Fleet update" tz=UTC anchor=2026-11-16',
                 'metric add fleet uptake "Uptake" direction=up baseline=5 target=20 '
                 "by=2027-03-31"):
        assert not run(text, ctx).error
    daily(engine, "uptake", lambda day, rng: 8 + (20 if day == 13 else 0))

    metric = run("review fleet", ctx).review.initiatives[0].metrics[0]  # type: ignore[union-attr]

    assert metric.change.assessment is not None
    assert metric.change.assessment.verdict is Verdict.SPIKE
    assert metric.status.value != "achieved"
    assert metric.progress is not None and metric.progress < 0.25
