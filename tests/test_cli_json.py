"""`outcome review … --json` and `outcome moved … --json`: the review model as one
versioned JSON schema; `outcome list --json` and `outcome show … --json`: the initiatives
and their criteria as another; each through the real `outcome` entry point."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.app.context import Actor
from bot.app.deliverables import set_deliverable
from bot.app.metric_changes import define_metric
from bot.app.services import agree, define_initiative
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

    assert cli.main(["help", "--json"]) == 2
    assert "--json prints a review or the initiatives" in capsys.readouterr().err


def test_json_with_a_verb_that_changes_data_is_refused_before_it_runs(stepped, capsys):
    assert cli.main(["record", "fleet.deploy", "777.25", "--json"]) == 2
    assert "--json prints a review or the initiatives" in capsys.readouterr().err

    assert cli.main(["history", "fleet.deploy"]) == 0
    assert "777" not in capsys.readouterr().out


SECRET = "Bearer sk-live-7f3a9c0e1d2b"


@pytest.fixture
def criteria(monkeypatch, sqlite_url):
    """Two initiatives: ``fleet`` (signed by its product owner only, a weekly sprint
    digest, a metric with a dated target and a guard rail, and one pulled over HTTP whose
    stored source config holds a connection name and a bearer token) and ``onboard`` (a
    metric without a target date)."""
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("OUTCOME_WORKSPACE", "T1")
    monkeypatch.setenv("OUTCOME_USER", "ci")
    engine = make_engine(sqlite_url)
    upgrade(engine)
    now = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    try:
        with transaction(session_factory(engine)) as session:
            actor = Actor("T1", "ci", admin=True)
            define_initiative(session, actor, "fleet", {
                "name": "Fleet update", "why": "Ship fixes within a day",
                "who": "Device owners", "channel": "team-reviews", "product_owner": "ci",
                "engineering_owner": "bo", "sprint_days": 14,
                "sprint_anchor": date(2026, 1, 5), "timezone": "Europe/Berlin",
                "fiscal_year_start_month": 4}, now=now)
            define_metric(session, actor, "fleet", "deploy", {
                "name": "Deploy time", "unit": "min", "direction": "down",
                "question": "How long does a fix take to reach devices?",
                "baseline_value": 40.0, "baseline_at": datetime(2026, 1, 5, tzinfo=UTC),
                "target_value": 12.5, "target_date": date(2026, 6, 30), "noise": 1.5,
                "stale_after_seconds": 2 * 86400, "guard_rail": 60.0}, now=now)
            pulled, _ = define_metric(session, actor, "fleet", "errors", {
                "name": "Error rate", "unit": "%", "direction": "down",
                "baseline_value": 3.0, "target_value": 1.0}, now=now)
            # As a row written before member configs were refused: the JSON must still
            # show no more than the source's kind.
            pulled.source_kind = "http"
            pulled.source_config = {"connection": "grafana-prod", "path": "/api/errors",
                                    "headers": {"Authorization": SECRET}}
            agree(session, actor, "fleet", now=now)
            define_initiative(session, actor, "onboard", {
                "name": "Self-serve onboarding", "sprint_anchor": date(2026, 1, 5)},
                now=now)
            define_metric(session, actor, "onboard", "signups", {
                "name": "Sign-ups", "baseline_value": 10.0, "target_value": 30.0}, now=now)
            set_deliverable(session, actor, "fleet", "Automatic rollback", now=now,
                            moves=["deploy"], shipped_at=datetime(2026, 2, 20, 14, tzinfo=UTC))
        assert cli.main(["schedule", "fleet", "retro=thu@15:00", "lead=24h"]) == 0
        yield
    finally:
        engine.dispose()


def _document(capsys, *argv: str) -> dict:
    assert cli.main([*argv, "--json"]) == 0
    captured = capsys.readouterr()
    assert SECRET not in captured.out and "grafana-prod" not in captured.out
    assert "sk-live" not in captured.out and "Authorization" not in captured.out
    return json.loads(captured.out)


def test_list_json_carries_every_initiative_its_criteria_and_the_digests(criteria, capsys):
    capsys.readouterr()
    document = _document(capsys, "list")

    assert document["schema"] == "outcomes.initiatives/1"
    fleet, onboard = document["initiatives"]
    assert (fleet["key"], fleet["name"], fleet["status"]) == ("fleet", "Fleet update", "draft")
    assert (fleet["why"], fleet["who"], fleet["how"], fleet["what"]) == (
        "Ship fixes within a day", "Device owners", None, None)
    assert fleet["channel"] == "team-reviews"
    assert fleet["owners"] == {"product": "ci", "engineering": "bo"}
    assert fleet["signoffs"] == [{"role": "product", "user": "ci",
                                  "at": "2026-03-02T09:30:00+00:00"}]
    assert fleet["waiting_for"] == ["engineering"] and fleet["agreed_at"] is None
    assert fleet["cadence"] == {"sprint_days": 14, "sprint_anchor": "2026-01-05",
                                "timezone": "Europe/Berlin", "fiscal_year_start_month": 4}
    deploy, errors = fleet["metrics"]
    assert deploy == {
        "key": "deploy", "name": "Deploy time",
        "question": "How long does a fix take to reach devices?", "unit": "min",
        "direction": "down", "baseline": 40.0, "baseline_at": "2026-01-05T00:00:00+00:00",
        "target": 12.5, "target_date": "2026-06-30", "noise_floor": 1.5,
        "stale_after_seconds": 172800, "guard_rail": 60.0, "source_kind": "manual"}
    assert errors["source_kind"] == "http" and "source_config" not in errors
    assert errors["target_date"] is None and errors["guard_rail"] is None
    assert onboard["channel"] is None and onboard["owners"] == {"product": None,
                                                               "engineering": None}
    assert onboard["metrics"][0]["target_date"] is None
    assert onboard["metrics"][0]["question"] is None

    (digest,) = document["digests"]
    assert digest["channel"] == "team-reviews" and digest["initiative"] == "fleet"
    assert (digest["kind"], digest["enabled"], digest["local_time"]) == ("sprint", True,
                                                                          "15:00")
    assert (digest["retro_weekday"], digest["lead_minutes"], digest["days_before"]) == (
        "thu", 1440, None)
    assert digest["cadence"] == fleet["cadence"]
    assert digest["description"].startswith("sprint digest 24 h before the retro on thu")


def test_show_json_is_the_same_schema_with_one_initiative(criteria, capsys):
    capsys.readouterr()
    listed = _document(capsys, "list")["initiatives"][0]
    document = _document(capsys, "show", "fleet")

    assert document["schema"] == "outcomes.initiatives/1"
    assert document["initiatives"] == [listed] and document["digests"] is None
    assert listed["deliverables"] == [{"name": "Automatic rollback", "moves": ["deploy"],
                                       "shipped_at": "2026-02-20T14:00:00+00:00",
                                       "shipped_by": "ci"}]


def test_show_json_of_an_unknown_initiative_fails_with_the_usual_message(criteria, capsys):
    capsys.readouterr()
    assert cli.main(["show", "nope", "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "No initiative 'nope'. Known initiatives: fleet, onboard." in captured.err
    assert "Traceback" not in captured.err


def test_list_json_of_an_empty_workspace_is_an_empty_document(monkeypatch, sqlite_url,
                                                                capsys):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("OUTCOME_WORKSPACE", "T1")
    engine = make_engine(sqlite_url)
    upgrade(engine)
    engine.dispose()
    assert _document(capsys, "list") == {"schema": "outcomes.initiatives/1",
                                         "initiatives": [], "digests": []}
