"""The command layer every transport shares: parse, execute, reply; never a raised error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.app.ask.service import ask
from bot.app.commands import run
from bot.app.context import Actor, Context
from bot.storage.db import session_factory

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


def context(engine, user: str = "eve") -> Context:
    """Acting as ``user``; Eve is a workspace admin, who sets initiatives up for their
    owners Ana and Ben."""
    return Context(Actor("T1", user, admin=user == "eve"), session_factory(engine),
                   now=lambda: NOW)


@pytest.fixture
def fleet(engine):
    """An agreed initiative with a deploy-time metric and two weeks of values."""
    ctx = context(engine)
    for text in (
        'define fleet "Fleet update" po=@ana eng=@ben tz=Europe/Berlin anchor=2026-11-16',
        'metric add fleet deploy "Deploy time" unit=min direction=down baseline=40 '
        "target=12 by=2027-03-31 noise=0.5",
        'metric add fleet tickets "Support tickets" unit=tickets/wk direction=down '
        "baseline=120 target=60 by=2027-03-31",
        "record fleet.deploy 30 at=2026-11-15T10:00",
        "record fleet.deploy 24 at=2026-11-28T10:00",
    ):
        reply = run(text, ctx)
        assert not reply.error, reply.text
    assert not run("agree fleet", context(engine, "ana")).error
    assert not run("agree fleet", context(engine, "ben")).error
    return ctx


def test_a_review_reports_before_and_after_for_the_sprint(fleet):
    reply = run("review fleet", fleet)
    assert not reply.error
    assert reply.review is not None and reply.review_is_answer
    (initiative,) = reply.review.initiatives
    deploy = next(m for m in initiative.metrics if m.definition.key == "deploy")
    assert (deploy.change.before.value, deploy.change.after.value) == (30, 24)
    assert deploy.change.movement.value == "improved"
    tickets = next(m for m in initiative.metrics if m.definition.key == "tickets")
    assert tickets.status.value == "no data"


def test_what_moved_ranks_movement_and_names_the_units(fleet):
    reply = run("moved", fleet)
    assert "Deploy time: 30 → 24 min" in reply.text
    assert "improved" in reply.text


def test_which_metrics_have_no_data_names_them_with_the_reason(fleet):
    reply = ask("which metrics have no data?", fleet).reply
    assert "Support tickets: no data" in reply.text


def test_recording_a_future_value_is_refused(fleet):
    reply = run("record fleet.deploy 20 at=2027-01-01", fleet)
    assert reply.error and "in the future" in reply.text


def test_an_unknown_initiative_names_the_known_ones(fleet):
    reply = run("show flet", fleet)
    assert reply.error and "Known initiatives: fleet" in reply.text


def test_errors_are_replies_with_usage_and_nothing_is_written(fleet):
    before = run("history fleet.deploy", fleet).text
    reply = run("record fleet.deploy 12 at=not-a-date", fleet)
    assert reply.error
    assert "Usage: /outcome record" in reply.text
    assert run("history fleet.deploy", fleet).text == before


def test_history_shows_who_changed_an_agreed_target(fleet):
    run("metric add fleet deploy target=10", fleet)
    text = run("history fleet", fleet).text
    assert "eve metric changed deploy: target_value: 12.0 → 10.0" in text
    assert "reopened" in text
    assert "[draft, revision 2" in run("show fleet", fleet).text


def test_schedule_changes_the_cadence_without_reopening(fleet):
    reply = run("schedule fleet sprint=7d tz=America/New_York", fleet)
    assert "7-day sprints" in reply.text and "America/New_York" in reply.text
    assert "[agreed" in run("show fleet", fleet).text


def test_an_unexpected_failure_is_a_polite_reply_not_a_traceback(fleet, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("bot.app.commands.build_review", explode)
    reply = run("review", fleet)
    assert reply.error
    assert "Traceback" not in reply.text and "on fire" not in reply.text


@pytest.mark.parametrize(("question", "expected"), [
    ("what moved this sprint?", "What moved, this sprint:"),
    ("@U0BOT what moved since Oct 1?", "since Oct 1, 2026"),
    ("how is fleet doing?", "Fleet"),
    ("what regressed?", "regressed this sprint"),
])
def test_questions_are_answered_by_the_commands_that_answer_them(fleet, question, expected):
    found = ask(question, fleet)
    assert found.question is not None and not found.reply.error
    assert expected in found.reply.text


def test_an_unrecognised_question_offers_three_it_can_answer(fleet):
    found = ask("what is the meaning of life?", fleet)
    assert found.question is None
    assert found.reply.text.startswith("I'm not sure what you're asking. Try one of these:")
    assert len(found.choices) == 3
    assert [c.question for c in found.choices] == [c.label for c in found.choices]


def test_a_value_recorded_in_local_time_lands_at_the_right_utc_instant(fleet):
    run("record fleet.tickets 100 at=2026-11-20T09:00", fleet)
    text = run("history fleet.tickets", fleet).text
    assert "2026-11-20 09:00 100 tickets/wk" in text
    reply = run("review fleet since 2026-11-20", fleet)
    tickets = reply.review.initiatives[0].metrics[1]
    assert tickets.change.before.at == datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert tickets.change.before.at - timedelta(hours=1) < NOW
