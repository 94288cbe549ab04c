"""An Events API event is taken once, whichever replica it reaches; old records go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from bot.storage.db import session_factory
from bot.storage.event_deliveries import KEPT_FOR, first_delivery
from bot.storage.models import SlackEventDelivery

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


def test_the_first_delivery_is_taken_and_every_later_one_refused(engine: Engine) -> None:
    replica_a, replica_b = session_factory(engine), session_factory(engine)

    assert first_delivery(replica_a, "Ev1", NOW)
    assert not first_delivery(replica_b, "Ev1", NOW + timedelta(seconds=3))
    assert not first_delivery(replica_a, "Ev1", NOW + timedelta(minutes=5))
    assert first_delivery(replica_b, "Ev2", NOW)


def test_records_older_than_a_day_are_dropped_as_new_events_arrive(engine: Engine) -> None:
    sessions = session_factory(engine)
    first_delivery(sessions, "EvOld", NOW)
    first_delivery(sessions, "EvRecent", NOW + KEPT_FOR - timedelta(hours=1))

    first_delivery(sessions, "EvNew", NOW + KEPT_FOR + timedelta(minutes=1))

    with sessions() as session:
        kept = set(session.scalars(select(SlackEventDelivery.event_id)))
    assert kept == {"EvRecent", "EvNew"}
