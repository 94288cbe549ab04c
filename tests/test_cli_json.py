"""`outcome review … --json` and `outcome moved … --json`: the review model as one
versioned JSON schema, through the real `outcome` entry point."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.app.context import Actor
from bot.app.metric_changes import define_metric
from bot.app.services import define_initiative
from bot.cli import main as cli
from bot.core.points import Reading
from bot.storage.db import make_engine, session_factory, transaction, upgrade
from bot.storage.samples import store_readings


@pytest.fixture
def stepped(monkeypatch, sqlite_url):
    """An initiative whose deploy time stepped down eight days ago, sampled hourly for
    six weeks up to the moment the test runs (the CLI reads the system clock)."""
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("OUTCOME_WORKSPACE", "T1")
    monkeypatch.setenv("OUTCOME_USER", "ci")
    engine = make_engine(sqlite_url)
    upgrade(engine)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    step_day = (now - timedelta(days=8)).date()
    rng = random.Random(1)
    try:
        with transaction(session_factory(engine)) as session:
            actor = Actor("T1", "ci", admin=True)
            define_initiative(session, actor, "fleet", {
                "name": "Fleet update", "sprint_days": 28,
                "sprint_anchor": now.date() - timedelta(days=20)}, now=now)
            metric, _ = define_metric(session, actor, "fleet", "deploy", {
                "name": "Deploy time", "unit": "min", "direction": "down",
                "baseline_value": 40.0, "target_value": 12.0,
                "target_date": now.date() + timedelta(days=400)}, now=now)
            start = now - timedelta(days=42)
            store_readings(session, metric.id, [
                Reading(at, (31 if at.date() < step_day else 24) + rng.gauss(0, 0.3))
                for at in (start + timedelta(hours=h) for h in range(42 * 24))],
                origin="backfill", recorded_by="test")
        yield step_day
    finally:
        engine.dispose()


def test_review_json_carries_levels_intervals_verdict_step_and_forecast(stepped, capsys):
    assert cli.main(["review", "fleet", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)

    assert document["schema"] == "outcomes.review/1"
    (initiative,) = document["initiatives"]
    assert initiative["key"] == "fleet" and initiative["period"]["timezone"] == "UTC"
    (metric,) = initiative["metrics"]
    assert metric["key"] == "deploy" and metric["unit"] == "min"
    assert metric["verdict"] == "moved" and metric["movement"] == "improved"
    before, after = metric["before"], metric["after"]
    assert before["low"] < before["value"] < before["high"] and before["days"] == 7
    assert abs(before["value"] - 31) < 0.5 and abs(after["value"] - 24) < 0.5
    assert metric["strength"] > 6 and metric["normal_variation"] > 0
    assert date.fromisoformat(metric["step"]["day"]) == stepped
    assert (round(metric["step"]["before"]), round(metric["step"]["after"])) == (31, 24)
    assert set(metric["forecast"]) == {"pace_per_day", "level", "expected", "earliest",
                                       "latest", "needed_pace_per_day",
                                       "needed_over_current"}
    assert metric["segments"] == []


def test_moved_json_is_the_same_schema_and_other_verbs_refuse_it(stepped, capsys):
    assert cli.main(["moved", "this", "sprint", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "outcomes.review/1"
    assert document["initiatives"][0]["metrics"][0]["verdict"] == "moved"

    assert cli.main(["list", "--json"]) == 2
    assert "--json prints a review" in capsys.readouterr().err
