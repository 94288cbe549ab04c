"""The sign-off workflow without Slack: which events a change yields, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.app.context import Actor
from bot.app.metric_changes import define_metric
from bot.app.services import agree, define_initiative
from bot.app.signoff import (
    POSTED,
    CriteriaReopened,
    RequestRefreshed,
    SignoffRequested,
    Snapshot,
    events_after_change,
    record_posted,
    take_snapshot,
)
from bot.core.kinds import SignoffRole
from bot.storage.db import session_factory, transaction
from bot.storage.models import AuditEvent

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
# Eve is a workspace admin, who sets initiatives up for their owners Ana and Ben.
ANA, BEN, EVE = Actor("T1", "ana"), Actor("T1", "ben"), Actor("T1", "eve", admin=True)


@pytest.fixture
def sessions(engine):
    return session_factory(engine)


def define_fleet(sessions, *, channel: str = "C1") -> None:
    with transaction(sessions) as session:
        define_initiative(session, EVE, "fleet", {
            "name": "Fleet update", "why": "Fewer visits", "channel": channel,
            "product_owner": "ana", "engineering_owner": "ben",
            "sprint_anchor": date(2026, 11, 16),
        }, now=NOW)


def add_deploy_metric(sessions) -> None:
    with transaction(sessions) as session:
        define_metric(session, EVE, "fleet", "deploy", {
            "name": "Deploy time", "unit": "min", "direction": "down", "baseline_value": 40.0,
            "target_value": 12.0, "target_date": date(2027, 3, 31), "question": "Faster?",
        }, now=NOW)


def snapshot(sessions) -> Snapshot | None:
    with sessions() as session:
        return take_snapshot(session, "T1", "fleet")


def decide(sessions, actor: Actor, before: Snapshot | None):
    with transaction(sessions) as session:
        return events_after_change(session, actor, "fleet", before)


def post(sessions, event: SignoffRequested, ts: str = "100.1") -> None:
    with transaction(sessions) as session:
        record_posted(session, EVE, event, event.channel, ts, now=NOW)


def agree_both(sessions) -> None:
    with transaction(sessions) as session:
        agree(session, ANA, "fleet", now=NOW)
        agree(session, BEN, "fleet", now=NOW)


def test_a_first_complete_definition_asks_both_owners_to_sign(sessions):
    define_fleet(sessions)
    before = snapshot(sessions)
    add_deploy_metric(sessions)

    [event] = decide(sessions, EVE, before)

    assert isinstance(event, SignoffRequested)
    assert event.channel == "C1"
    request = event.request
    assert (request.key, request.name, request.revision, request.status) == (
        "fleet", "Fleet update", 1, "draft")
    assert request.why == "Fewer visits"
    assert (request.product_owner, request.engineering_owner) == ("ana", "ben")
    assert request.missing == (SignoffRole.PRODUCT, SignoffRole.ENGINEERING)
    assert not request.agreed
    [metric] = request.metrics
    assert (metric.name, metric.question, metric.source) == ("Deploy time", "Faster?", "manual")
    assert metric.text == "40 → 12 min by 2027-03-31, lower is better"


def test_criteria_without_a_metric_target_ask_nobody_yet(sessions):
    define_fleet(sessions)

    assert decide(sessions, EVE, None) == []


def test_a_change_to_agreed_criteria_is_reopened_with_the_changed_lines(sessions):
    define_fleet(sessions)
    add_deploy_metric(sessions)
    [first] = decide(sessions, EVE, None)
    post(sessions, first)
    agree_both(sessions)
    before = snapshot(sessions)
    with transaction(sessions) as session:
        define_metric(session, BEN, "fleet", "deploy", {"target_value": 15.0}, now=NOW)
        define_initiative(session, BEN, "fleet", {"why": "No truck rolls"}, now=NOW)

    reopened, requested = decide(sessions, BEN, before)

    assert reopened == CriteriaReopened(
        channel="C1", key="fleet", name="Fleet update", by="ben", from_revision=1,
        to_revision=2, changes=("metric deploy: target value: 12.0 → 15.0",
                                "why: Fewer visits → No truck rolls"))
    assert isinstance(requested, SignoffRequested)
    assert requested.request.revision == 2
    assert requested.request.missing == (SignoffRole.PRODUCT, SignoffRole.ENGINEERING)


def test_a_metric_added_to_agreed_criteria_is_listed_as_added(sessions):
    define_fleet(sessions)
    add_deploy_metric(sessions)
    agree_both(sessions)
    before = snapshot(sessions)
    with transaction(sessions) as session:
        define_metric(session, EVE, "fleet", "visits", {"name": "Site visits",
                                                         "target_value": 3.0}, now=NOW)

    reopened = decide(sessions, EVE, before)[0]

    assert isinstance(reopened, CriteriaReopened)
    assert reopened.changes == ("added metric visits: Site visits",)


def test_a_change_to_a_posted_revision_refreshes_the_request_instead(sessions):
    define_fleet(sessions)
    add_deploy_metric(sessions)
    [first] = decide(sessions, EVE, None)
    post(sessions, first, ts="100.1")
    before = snapshot(sessions)
    with transaction(sessions) as session:
        agree(session, ANA, "fleet", now=NOW)

    [event] = decide(sessions, ANA, before)

    assert event == RequestRefreshed("C1", "100.1", event.request)
    assert event.request.revision == 1
    assert event.request.missing == (SignoffRole.ENGINEERING,)


def test_agreed_criteria_refresh_their_request_to_say_so(sessions):
    define_fleet(sessions)
    add_deploy_metric(sessions)
    [first] = decide(sessions, EVE, None)
    post(sessions, first)
    before = snapshot(sessions)
    agree_both(sessions)

    [event] = decide(sessions, BEN, before)

    assert isinstance(event, RequestRefreshed)
    assert event.request.agreed
    assert event.request.missing == ()


def test_agreed_criteria_without_a_posted_request_ask_for_nothing(sessions):
    define_fleet(sessions)
    add_deploy_metric(sessions)
    agree_both(sessions)
    before = snapshot(sessions)
    with transaction(sessions) as session:
        define_initiative(session, EVE, "fleet", {"sprint_days": 7}, now=NOW)

    assert decide(sessions, EVE, before) == []


def test_an_initiative_without_a_channel_yields_no_events(sessions):
    define_fleet(sessions, channel="")
    add_deploy_metric(sessions)
    agree_both(sessions)
    before = snapshot(sessions)
    with transaction(sessions) as session:
        define_metric(session, BEN, "fleet", "deploy", {"target_value": 15.0}, now=NOW)

    assert decide(sessions, BEN, before) == []
    assert decide(sessions, BEN, None) == []


def test_an_unknown_initiative_yields_no_events(sessions):
    assert snapshot(sessions) is None
    assert decide(sessions, EVE, None) == []


def test_a_posted_request_is_recorded_in_the_audit_log(sessions):
    define_fleet(sessions)
    add_deploy_metric(sessions)
    [first] = decide(sessions, EVE, None)

    post(sessions, first, ts="100.1")

    with sessions() as session:
        row = session.scalar(select(AuditEvent).where(AuditEvent.action == POSTED))
        assert (row.actor, row.after) == ("eve", {"revision": 1, "channel": "C1",
                                                  "ts": "100.1"})
    assert isinstance(decide(sessions, EVE, snapshot(sessions))[0], RequestRefreshed)
