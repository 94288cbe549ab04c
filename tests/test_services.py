"""Agreement, audit and idempotent samples on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.app.context import Actor
from bot.app.metric_changes import define_metric
from bot.app.services import (
    agree,
    archive,
    define_initiative,
    find_initiative,
    get_initiative,
    record_value,
)
from bot.core.errors import Conflict, Forbidden, NotFound, UsageError
from bot.core.points import Reading
from bot.storage.db import session_factory, transaction
from bot.storage.models import AuditEvent, Sample
from bot.storage.samples import store_readings

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
# Eve is a workspace admin: she sets initiatives up and changes them for their owners.
ANA, BEN, EVE = Actor("T1", "ana"), Actor("T1", "ben"), Actor("T1", "eve", admin=True)


@pytest.fixture
def sessions(engine):
    return session_factory(engine)


def define_fleet(session, *, agreed: bool = False):
    define_initiative(session, EVE, "fleet", {
        "name": "Fleet update", "why": "Fewer visits", "product_owner": "ana",
        "engineering_owner": "ben", "sprint_anchor": date(2026, 11, 16),
    }, now=NOW)
    define_metric(session, EVE, "fleet", "deploy", {
        "name": "Deploy time", "unit": "min", "direction": "down", "baseline_value": 40.0,
        "target_value": 12.0, "target_date": date(2027, 3, 31),
    }, now=NOW)
    if agreed:
        agree(session, ANA, "fleet", now=NOW)
        agree(session, BEN, "fleet", now=NOW)


def test_both_owners_must_sign_before_criteria_are_agreed(sessions):
    with transaction(sessions) as session:
        define_fleet(session)
        initiative, missing = agree(session, ANA, "fleet", now=NOW)
        assert initiative.status == "draft"
        assert [role.value for role in missing] == ["engineering"]
        initiative, missing = agree(session, BEN, "fleet", now=NOW)
        assert initiative.status == "agreed" and missing == []
        assert initiative.agreed_at is not None


def test_someone_who_is_not_an_owner_cannot_sign(sessions):
    with transaction(sessions) as session:
        define_fleet(session)
        with pytest.raises(Forbidden, match="Only the owners"):
            agree(session, EVE, "fleet", now=NOW)  # an admin, but no owner


def test_changing_an_agreed_target_reopens_the_initiative_and_is_audited(sessions):
    with transaction(sessions) as session:
        define_fleet(session, agreed=True)
    with transaction(sessions) as session:
        define_metric(session, EVE, "fleet", "deploy", {"target_value": 10.0}, now=NOW)
    with transaction(sessions) as session:
        initiative = find_initiative(session, "T1", "fleet")
        assert initiative.status == "draft"
        assert initiative.revision == 2
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        changed = next(e for e in events if e.action == "metric changed")
        assert changed.before["target_value"] == 12.0 and changed.after["target_value"] == 10.0
        assert changed.actor == "eve"
        reopened = next(e for e in events if e.action == "reopened")
        assert reopened.before == {"status": "agreed", "revision": 1}
        # The old signatures belong to revision 1: both owners must agree again.
        _, missing = agree(session, ANA, "fleet", now=NOW)
        assert [role.value for role in missing] == ["engineering"]


def test_changing_the_cadence_of_an_agreed_initiative_keeps_the_agreement(sessions):
    with transaction(sessions) as session:
        define_fleet(session, agreed=True)
        initiative, _ = define_initiative(session, EVE, "fleet", {"sprint_days": 7}, now=NOW)
        assert initiative.status == "agreed"
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "changed")) == 1


def test_changing_the_channel_of_an_agreed_initiative_reopens_the_agreement(sessions):
    # The agreement was announced in the old channel: moving it is a change to agree to.
    with transaction(sessions) as session:
        define_fleet(session, agreed=True)
        initiative, _ = define_initiative(session, EVE, "fleet", {"channel": "C42"}, now=NOW)
        assert (initiative.status, initiative.revision) == ("draft", 2)
        reopened = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "reopened")).one()
        assert reopened.after["reason"] == "changed channel"


def test_a_definition_without_changes_writes_no_audit_event(sessions):
    with transaction(sessions) as session:
        define_fleet(session)
        before = session.scalar(select(func.count()).select_from(AuditEvent))
        define_initiative(session, EVE, "fleet", {"why": "Fewer visits"}, now=NOW)
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_the_same_sample_is_stored_once(sessions):
    at = datetime(2026, 11, 20, 9, tzinfo=UTC)
    with transaction(sessions) as session:
        define_fleet(session)
        assert record_value(session, EVE, "fleet", "deploy", 30.0, at) is True
        assert record_value(session, EVE, "fleet", "deploy", 31.0, at) is False
        assert record_value(session, EVE, "fleet", "deploy", 29.0, at, "region=EU") is True
        metric_id = find_initiative(session, "T1", "fleet").metrics[0].id
        readings = [Reading(at + timedelta(hours=h), 20.0 + h) for h in range(5)]
        assert store_readings(session, metric_id, readings, origin="pull",
                              recorded_by="x") == 4
        assert store_readings(session, metric_id, readings, origin="pull",
                              recorded_by="x") == 0
        assert session.scalar(select(func.count()).select_from(Sample)) == 6


def test_workspaces_do_not_see_each_others_initiatives(sessions):
    with transaction(sessions) as session:
        define_fleet(session)
        with pytest.raises(NotFound, match="none yet"):
            find_initiative(session, "T2", "fleet")


def test_archived_initiatives_refuse_changes_and_sign_offs(sessions):
    with transaction(sessions) as session:
        define_fleet(session)
        archive(session, EVE, "fleet", now=NOW)
        with pytest.raises(Conflict, match="archived"):
            define_initiative(session, EVE, "fleet", {"why": "other"}, now=NOW)
        with pytest.raises(Conflict, match="archived"):
            agree(session, ANA, "fleet", now=NOW)


def test_a_new_metric_needs_a_target(sessions):
    with transaction(sessions) as session:
        define_fleet(session)
        with pytest.raises(UsageError, match="needs target"):
            define_metric(session, EVE, "fleet", "tickets", {"name": "Tickets"}, now=NOW)


def test_a_failed_command_rolls_back_everything_it_wrote(sessions):
    with pytest.raises(NotFound), transaction(sessions) as session:
        define_fleet(session)
        record_value(session, EVE, "fleet", "nope", 1.0, NOW)
    with transaction(sessions) as session, pytest.raises(NotFound):
        find_initiative(session, "T1", "fleet")


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite: no row locks
def test_an_initiative_read_for_update_holds_other_writers_until_commit(sessions):
    """What keeps two replicas from posting two sign-off requests for one initiative."""
    with transaction(sessions) as session:
        define_fleet(session)
    renamed = threading.Event()

    def rename() -> None:
        with transaction(sessions) as session:
            define_initiative(session, EVE, "fleet", {"name": "Fleet rollout"}, now=NOW)
        renamed.set()

    with transaction(sessions) as session:
        locked = get_initiative(session, "T1", "fleet", for_update=True)
        writer = threading.Thread(target=rename)
        writer.start()
        assert not renamed.wait(0.5)  # blocked by the row lock
        assert locked.name == "Fleet update"
    writer.join(10)

    assert renamed.is_set()
    with sessions() as session:
        assert get_initiative(session, "T1", "fleet").name == "Fleet rollout"
