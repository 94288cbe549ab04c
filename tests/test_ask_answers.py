"""Answers to everyday questions, through :func:`bot.app.ask.service.ask` on a real
database: off track, shipped, forecast, why, two periods, owners and sign-offs, and
follow-ups that keep the thread's initiative."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.app.ask.service import Thread, ask
from bot.app.commands import run
from bot.app.context import Actor, Context
from bot.storage.db import session_factory

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)  # a Sunday: the sprint ran Nov 16 – Nov 29
STEP = date(2026, 11, 18)


def context(engine, user: str = "eve") -> Context:
    return Context(Actor("T1", user, admin=user == "eve"), session_factory(engine),
                   now=lambda: NOW)


@pytest.fixture
def fleet(engine):
    """Deploy time stepped down from 30 to 24 min on Nov 18, the day after 'Regional
    mirrors' shipped; support tickets have no data; both owners agreed."""
    ctx = context(engine)
    for text in (
        'define fleet "Fleet update" po=@ana eng=@ben tz=UTC anchor=2026-11-16',
        'metric add fleet deploy "Deploy time" unit=min direction=down baseline=40 '
        "target=12 by=2027-03-31",
        'metric add fleet tickets "Support tickets" unit=tickets/wk direction=down '
        "baseline=120 target=60 by=2027-03-31",
        'shipped fleet "Regional mirrors" at=2026-11-17 moves=deploy',
    ):
        reply = run(text, ctx)
        assert not reply.error, reply.text
    for days_ago in range(45, -1, -1):
        day = NOW.date() - timedelta(days=days_ago)
        value = (24.0 if day >= STEP else 30.0) + (0.4 if days_ago % 2 else -0.4)
        reply = run(f"record fleet.deploy {value} at={day}T09:00", ctx)
        assert not reply.error, reply.text
    assert not run("agree fleet", context(engine, "ana")).error
    assert not run("agree fleet", context(engine, "ben")).error
    return ctx


def test_why_names_the_step_and_what_shipped_before_it(fleet):
    found = ask("why did deploy time drop?", fleet)
    assert found.question is not None and found.question.metric == "deploy"
    text = found.reply.text
    assert text.startswith("Why, this sprint (Nov 16 – Nov 29, 2026 (UTC)):"), text
    assert "stepped down from 30 to 24 min on Nov 18" in text
    assert "'Regional mirrors' shipped Nov 17, meant to move it" in text
    assert "Support tickets" not in text


def test_what_shipped_lists_the_ship_and_what_moved_since(fleet):
    text = ask("what shipped this sprint?", fleet).reply.text
    assert text.startswith("Shipped this sprint (Nov 16 – Nov 29, 2026 (UTC)):")
    assert "• Fleet update: 'Regional mirrors' shipped Nov 17 — since then: Deploy time" in text


def test_nothing_shipped_says_how_to_mark_a_ship(fleet):
    text = ask("what shipped last quarter", fleet).reply.text
    assert text.startswith("Nothing was marked shipped last quarter (Q3 2026)")
    assert '/outcome shipped <initiative> "<name>"' in text


def test_the_status_question_lists_only_the_states_asked_for(fleet):
    no_data = ask("which metrics have no data?", fleet).reply.text
    assert "Fleet update / Support tickets: no data" in no_data
    on_track = ask("what is on track?", fleet).reply.text
    behind = ask("what is off track or at risk?", fleet).reply.text
    deploy_lines = [t for t in (on_track, behind) if "Deploy time:" in t]
    assert len(deploy_lines) == 1  # in exactly one of the two answers
    assert "Support tickets" not in on_track and "Support tickets" not in behind


def test_when_gives_each_metrics_forecast_or_why_there_is_none(fleet):
    text = ask("when will the fleet update reach its target?", fleet).reply.text
    assert text.startswith("When the targets are reached:")
    assert "• Fleet update / Deploy time: 23.6 min now, target 12 min by 2027-03-31; " in text
    assert "• Fleet update / Support tickets: – now, target 60 tickets/wk by 2027-03-31; " \
           "no samples recorded yet (no data)" in text


def test_two_periods_side_by_side(fleet):
    text = ask("this sprint vs last", fleet).reply.text
    assert text.startswith("this sprint vs last sprint:")
    assert "• Fleet update / Deploy time: 29.6 → 23.6 min (" in text
    assert " vs 29.6 → 29.6 min (" in text
    assert "Support tickets" not in text  # no data in either period


def test_who_signed_lists_each_signoff_and_who_owns_names_the_owners(fleet):
    signed = ask("who signed off the fleet update?", fleet).reply.text
    assert signed.startswith("Fleet update (fleet), revision 1 (agreed):")
    assert "• revision 1: engineering signed by ben on 2026-11-29 12:00 UTC" in signed
    assert "• revision 1: product signed by ana on 2026-11-29 12:00 UTC" in signed
    owners = ask("who owns fleet?", fleet).reply.text
    assert owners == "Fleet update (fleet): product owner ana, engineering lead ben."


def test_a_follow_up_in_a_thread_is_about_the_same_initiative(fleet):
    thread = Thread("C1", "1700000000.000100")
    first = ask("how's the fleet update going?", fleet, thread)
    assert first.reply.review_is_answer
    why = ask("why?", fleet, thread)
    assert why.question is not None and why.question.initiative == "fleet"
    assert "stepped down from 30 to 24 min" in why.reply.text
    other = ask("why?", fleet, Thread("C1", "1700000000.000999"))  # another thread
    assert other.question is not None and other.question.initiative is None


def test_a_name_that_matches_nothing_is_said_back_with_the_known_ones(fleet):
    found = ask("who owns billing", fleet)
    assert found.reply.text.startswith("I don't know an initiative called 'billing'. "
                                       "Which initiative do you mean?\n• Fleet update (fleet)")
    assert [(c.label, c.initiative) for c in found.choices] == [("Fleet update", "fleet")]
    picked = ask("who owns billing", fleet, chosen="fleet")
    assert picked.reply.text.startswith("Fleet update (fleet): product owner ana")


def test_an_impossible_period_is_a_reply_not_an_error(fleet):
    found = ask("what moved in the last 9999 days", fleet)
    assert found.reply.error and "between 1 and 3660 days" in found.reply.text


def test_a_name_in_a_workspace_without_initiatives_says_how_to_start(engine):
    found = ask("how is checkout doing?", context(engine))
    assert found.reply.text == ("I don't know an initiative called 'checkout'. There are no "
                                "initiatives yet: define one with /outcome define <key> "
                                "\"<name>\".")
