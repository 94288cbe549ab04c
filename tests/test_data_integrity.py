"""Criteria and values that would be reported wrongly are refused with how to fix them,
whatever transport brings them; nothing is stored from a refused command. A metric can be
removed (audited, and an agreement is reopened), and a digest switched off stays off."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.app import criteria
from bot.app.commands import run
from bot.app.context import Actor, Context
from bot.app.criteria import CriteriaInvalid
from bot.core.criteria_rules import criteria_problem
from bot.storage.db import session_factory
from bot.storage.models import AuditEvent, DigestSchedule, Initiative, Metric, Sample

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


def context(engine, user: str = "eve") -> Context:
    return Context(Actor("T1", user, admin=user == "eve"), session_factory(engine),
                   now=lambda: NOW)


@pytest.fixture
def ctx(engine) -> Context:
    """Eve (an admin) with an initiative `fleet` and its metric `deploy` (down, 40 → 12)."""
    ctx = context(engine)
    for text in (
        'define fleet "Fleet update" po=@ana eng=@ben channel=#fleet anchor=2026-11-16',
        'metric add fleet deploy "Deploy time" unit=min direction=down baseline=40 '
        "target=12 by=2027-03-31 baseline-at=2026-11-01",
        "record fleet.deploy 30 at=2026-11-20",
    ):
        reply = run(text, ctx)
        assert not reply.error, reply.text
    return ctx


def count(ctx: Context, model: type) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def metric_fields(ctx: Context, key: str = "deploy") -> tuple:
    with ctx.sessions() as session:
        metric = session.scalar(select(Metric).where(Metric.key == key))
        assert metric is not None
        return (metric.direction, metric.baseline_value, metric.target_value, metric.noise)


def refused(ctx: Context, text: str) -> str:
    reply = run(text, ctx)
    assert reply.error, f"{text!r} was accepted: {reply.text}"
    assert "Traceback" not in reply.text
    return reply.text


# ---------------------------------------------------------------------------- numbers

@pytest.mark.parametrize("value", ["2,5", "1,000", "31,5"])
def test_a_value_with_a_comma_stores_nothing_and_says_how_to_write_it(ctx, value) -> None:
    text = refused(ctx, f"record fleet.deploy {value}")

    assert text.startswith("value must be written with a dot for decimals and no thousands "
                           f"separator, e.g. 2.5 or 1000 (got '{value}'")
    assert count(ctx, Sample) == 1


def test_a_baseline_with_a_comma_changes_nothing(ctx) -> None:
    refused(ctx, "metric set fleet deploy baseline=40,5")

    assert metric_fields(ctx) == ("down", 40.0, 12.0, 0.0)


# ---------------------------------------------------------------------------- criteria

def test_a_direction_that_contradicts_baseline_and_target_is_refused(ctx) -> None:
    text = refused(ctx, 'metric add fleet conv "Conversion" baseline=10 target=20 '
                        "direction=down")

    assert text == ("Metric fleet.conv: the target 20 is above the baseline 10, but "
                    "direction=down: reaching the target would be reported as a regression. "
                    "Use direction=up, or check the two values.")
    assert count(ctx, Metric) == 1


def test_changing_one_field_is_checked_against_the_ones_stored(ctx) -> None:
    # deploy improves downward from 40: a target of 50 would be reached by getting worse.
    text = refused(ctx, "metric set fleet deploy target=50")

    assert "the target 50 is above the baseline 40, but direction=down" in text
    assert "Use direction=up" in text
    assert metric_fields(ctx) == ("down", 40.0, 12.0, 0.0)
    assert not run("metric set fleet deploy target=50 direction=up", ctx).error
    assert metric_fields(ctx) == ("up", 40.0, 50.0, 0.0)


def test_a_target_equal_to_the_baseline_is_refused(ctx) -> None:
    text = refused(ctx, "metric set fleet deploy target=40")

    assert text.startswith("Metric fleet.deploy: target and baseline are both 40: there is "
                           "nothing to move.")


def test_a_target_date_before_the_baseline_date_is_refused(ctx) -> None:
    text = refused(ctx, "metric set fleet deploy by=2026-10-01")

    assert text == ("Metric fleet.deploy: the target date 2026-10-01 is before the baseline "
                    "date 2026-11-01: the target is reached after the baseline is measured.")
    assert not run("metric set fleet deploy by=2026-11-01", ctx).error  # the same day is fine


def test_a_negative_noise_is_refused(ctx) -> None:
    text = refused(ctx, "metric set fleet deploy noise=-1")

    assert text.startswith("Metric fleet.deploy: noise must be 0 or more (got -1)")
    assert metric_fields(ctx)[3] == 0.0


@pytest.mark.parametrize(("fields", "problem"), [
    ({"direction": "up", "baseline_value": 10.0, "target_value": 20.0}, None),
    ({"direction": "down", "baseline_value": 20.0, "target_value": 10.0}, None),
    ({"direction": "up", "baseline_value": 20.0, "target_value": 10.0}, "below"),
    ({"baseline_value": 20.0, "target_value": 10.0}, "direction=up:"),  # up by default
    ({"direction": "down", "target_value": 10.0}, None),  # no baseline yet: nothing to compare
    ({"noise": 0.0}, None),
    ({"noise": -0.01}, "noise must be 0 or more"),
])
def test_the_rules_read_the_metric_as_it_would_be(fields, problem) -> None:
    found = criteria_problem(fields)

    assert (found is None) if problem is None else (problem in (found or ""))


def test_a_criteria_file_with_a_contradiction_names_its_line_and_changes_nothing(ctx) -> None:
    text = """\
version: 1
initiatives:
- key: fleet
  name: Fleet update
  metrics:
  - key: deploy
    name: Deploy time
    direction: up
    baseline: 40
    target: 12
"""
    with pytest.raises(CriteriaInvalid) as caught:
        criteria.apply(ctx.sessions, Actor("T1", "eve", operator=True),
                       criteria.load(text, "criteria.yaml"), now=NOW)

    [problem] = [p.format("criteria.yaml") for p in caught.value.problems]
    assert problem.startswith("criteria.yaml:6: initiatives[0].metrics[0]: Metric "
                              "fleet.deploy: the target 12 is below the baseline 40, but "
                              "direction=up")
    assert metric_fields(ctx) == ("down", 40.0, 12.0, 0.0)


# ---------------------------------------------------------------------------- periods

def test_a_review_since_a_future_date_says_so(ctx) -> None:
    text = refused(ctx, "review fleet since 2026-12-15")

    assert text.startswith("The period starts on 2026-12-15, after today (2026-11-29 in UTC):"
                           " there is nothing to review yet.")


def test_a_review_since_today_or_earlier_is_answered(ctx) -> None:
    for period in ("since 2026-11-29", "since 2026-11-01", "since Dec 15"):  # Dec 15 of 2025
        reply = run(f"review fleet {period}", ctx)
        assert not reply.error, (period, reply.text)


# ---------------------------------------------------------------------------- removing

def test_removing_a_metric_asks_first_and_removes_nothing_until_confirmed(ctx) -> None:
    reply = run("metric remove fleet deploy", ctx)

    assert not reply.error and not reply.public
    assert reply.text == ("This removes metric fleet.deploy (Deploy time) and its 1 recorded "
                          "value, and sends agreed criteria back for sign-off. To go ahead: "
                          "/outcome metric remove fleet deploy confirm")
    assert (count(ctx, Metric), count(ctx, Sample)) == (1, 1)


def test_a_confirmed_removal_takes_the_values_is_audited_and_reopens_the_agreement(
        ctx, engine) -> None:
    for owner in ("ana", "ben"):
        assert not run("agree fleet", context(engine, owner)).error
    audits_before = count(ctx, AuditEvent)

    reply = run("metric remove fleet deploy confirm", ctx)

    assert not reply.error and reply.public
    assert reply.text.startswith("Removed metric fleet.deploy (Deploy time) and its 1 "
                                 "recorded value.")
    assert (count(ctx, Metric), count(ctx, Sample)) == (0, 0)
    with ctx.sessions() as session:
        initiative = session.scalar(select(Initiative).where(Initiative.key == "fleet"))
        assert initiative is not None
        assert (initiative.status, initiative.revision) == ("draft", 2)
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)
                                 .offset(audits_before)).all()
    assert [e.action for e in events] == ["metric removed", "reopened"]
    removed = events[0]
    assert (removed.actor, removed.before["key"], removed.before["values"],
            removed.before["target_value"]) == ("eve", "deploy", 1, 12.0)
    assert events[1].after["reason"] == "removed metric deploy"


def test_only_an_owner_or_an_admin_removes_a_metric(ctx, engine) -> None:
    reply = run("metric remove fleet deploy confirm", context(engine, "carl"))

    assert reply.error and "remove its metric deploy" in reply.text
    assert count(ctx, Metric) == 1


def test_removing_an_unknown_metric_says_which_exist(ctx) -> None:
    text = refused(ctx, "metric remove fleet nope confirm")

    assert "nope" in text and "deploy" in text


# ---------------------------------------------------------------------------- schedules

def enabled(ctx: Context) -> dict[str, bool]:
    with ctx.sessions() as session:
        return {row.kind: row.enabled for row in session.scalars(select(DigestSchedule))}


def test_a_digest_switched_off_stays_off_through_other_schedule_changes(ctx) -> None:
    assert not run("schedule fleet retro=thu@15:00 quarterly=3d@09:00", ctx).error
    assert not run("schedule fleet off=all", ctx).error
    assert enabled(ctx) == {"sprint": False, "quarter": False}

    for change in ("schedule fleet sprint=7d", "schedule fleet lead=12h",
                   "schedule fleet tz=Europe/Berlin", 'define fleet "Fleet update 2"'):
        reply = run(change, ctx)
        assert not reply.error, (change, reply.text)
        assert enabled(ctx) == {"sprint": False, "quarter": False}, change

    assert not run("schedule fleet retro=fri@10:00", ctx).error  # its time turns it on
    assert enabled(ctx) == {"sprint": True, "quarter": False}


# ---------------------------------------------------------------------------- pushes

@pytest.mark.parametrize("value", ["2,5", "nan", "inf"])
def test_a_pushed_value_is_read_by_the_same_rule(sqlite_url, monkeypatch, capsys,
                                                 value) -> None:
    from bot.cli.main import main
    from bot.storage.db import make_engine, upgrade

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("OUTCOME_WORKSPACE", "T1")
    engine = make_engine(sqlite_url)
    upgrade(engine)
    ctx = context(engine)
    for text in ('define fleet "Fleet update" po=@ana eng=@ben',
                 'metric add fleet notes "Notes" baseline=1 target=5 source=push'):
        assert not run(text, ctx).error

    code = main(["push", "fleet.notes", value, "--at", "2026-11-01T10:00:00Z"])

    err = capsys.readouterr().err
    assert code == 2 and err.startswith("The value must ") and "Traceback" not in err
    assert count(ctx, Sample) == 0
    engine.dispose()
