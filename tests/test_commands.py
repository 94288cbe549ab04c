"""The command layer every transport shares: parse, execute, reply; never a raised error."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.app.commands import execute, run
from bot.app.context import Actor, Context
from bot.core.errors import UsageError
from bot.core.periods import PeriodSpec
from bot.grammar import commands as g
from bot.grammar.questions import parse_question
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
    reply = execute(parse_question("which metrics have no data?"), fleet)
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


@pytest.mark.parametrize(("question", "command"), [
    ("what moved this sprint?", g.Moved(PeriodSpec("this_sprint"))),
    ("What moved last quarter?", g.Moved(PeriodSpec("last_quarter"))),
    ("@U0BOT what moved since Oct 1?", g.Moved(PeriodSpec("since", start=date(2026, 10, 1)))),
    ("what moved in the last 30 days", g.Moved(PeriodSpec("last_days", days=30))),
    ("how is fleet doing?", g.ReviewCommand("fleet", PeriodSpec("this_sprint"))),
    ("how's fleet doing last sprint?", g.ReviewCommand("fleet", PeriodSpec("last_sprint"))),
    ("what regressed?", g.Moved(PeriodSpec("this_sprint"), only_regressed=True)),
    ("which metrics have no data?", g.MissingData()),
    ("help", g.Help()),
])
def test_questions_map_onto_commands(question, command):
    assert parse_question(question, today=date(2026, 11, 29)) == command


def test_an_unrecognised_question_lists_what_can_be_asked():
    with pytest.raises(UsageError) as error:
        parse_question("what is the meaning of life?")
    assert "what moved this sprint?" in str(error.value)


def test_a_value_recorded_in_local_time_lands_at_the_right_utc_instant(fleet):
    run("record fleet.tickets 100 at=2026-11-20T09:00", fleet)
    text = run("history fleet.tickets", fleet).text
    assert "2026-11-20 09:00 100 tickets/wk" in text
    reply = run("review fleet since 2026-11-20", fleet)
    tickets = reply.review.initiatives[0].metrics[1]
    assert tickets.change.before.at == datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert tickets.change.before.at - timedelta(hours=1) < NOW
