"""Events API deliveries taken once across every replica that shares the database.

Slack delivers an event again when the ack of an earlier delivery was slow or lost, and a
load balancer may send the retry to another replica. Whoever first records the event id
answers; the others stay quiet. Records older than a day are dropped as new ones arrive
(Slack retries within minutes).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.db import dialect_insert, in_transaction
from bot.storage.models import SlackEventDelivery

KEPT_FOR = timedelta(days=1)


def first_delivery(sessions: sessionmaker[Session], event_id: str, now: datetime) -> bool:
    """True when no replica has taken ``event_id`` before; records that this one has."""

    def take(session: Session) -> bool:
        inserted = session.execute(
            dialect_insert(session)(SlackEventDelivery)
            .values(event_id=event_id[:64], received_at=now)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(SlackEventDelivery.event_id)
        ).first()
        if inserted is not None:
            session.execute(delete(SlackEventDelivery).where(
                SlackEventDelivery.received_at < now - KEPT_FOR))
        return inserted is not None

    return in_transaction(sessions, take)
