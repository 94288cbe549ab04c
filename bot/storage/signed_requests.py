"""Signed Slack requests accepted once across every replica that shares the database.

Slack's signature covers the timestamp and the body, and a signature stays valid for five
minutes either side of its timestamp, so whoever captures a signed request can send it
again within that time. The first replica to record a signature acts on the request; the
same signature again is a replay. A request is valid at most ``KEPT_FOR`` after Slack
signed it, so older records are dropped, at most once per ``PURGE_EVERY`` and process.

Every request Slack sends is recorded before its ack, so the records are written in
batches (group commit): the requests that arrive while one transaction runs go into the
next, a burst of fifty costs a few transactions instead of fifty queued ones.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.db import dialect_insert
from bot.storage.models import SignedRequest

# The verifier accepts timestamps up to five minutes old or ahead, so a request is valid for
# ten minutes at most after it is first seen.
KEPT_FOR = timedelta(minutes=10)
PURGE_EVERY = timedelta(minutes=1)


@dataclass
class _Waiting:
    signature: str
    now: datetime
    first: bool | None = None
    error: Exception | None = None


class SignedRequests:
    """The signatures already acted on, in the database ``sessions`` open."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        # One row a request on the ack's path: SQLAlchemy Core on a connection of the
        # sessions' engine costs a fifth of the CPU of an ORM session.
        with sessions() as session:
            self._engine = session.get_bind().engine
            self._insert = dialect_insert(session)
        self._next_purge: datetime | None = None
        self._pending: list[_Waiting] = []
        self._writing = False
        self._changed = threading.Condition()

    def first_use(self, signature: str, now: datetime) -> bool:
        """True when no replica has accepted ``signature`` before; records that this one
        has (and now and then drops the records no request can match any more)."""
        me = _Waiting(signature[:80], now)
        with self._changed:
            self._pending.append(me)
            while me.first is None and me.error is None:
                if self._writing:
                    self._changed.wait()
                    continue
                # Nobody is writing: this thread writes everything waiting, itself included.
                batch, self._pending, self._writing = self._pending, [], True
                self._changed.release()
                try:
                    self._write(batch)
                finally:
                    self._changed.acquire()
                    self._writing = False
                    self._changed.notify_all()
        if me.error is not None:
            raise me.error
        return bool(me.first)

    def _write(self, batch: list[_Waiting]) -> None:
        now = max(waiting.now for waiting in batch)
        purge = self._next_purge is None or now >= self._next_purge  # only one writer here
        if purge:
            self._next_purge = now + PURGE_EVERY
        rows = {waiting.signature: waiting.now for waiting in reversed(batch)}

        try:
            with self._engine.begin() as connection:
                inserted = set(connection.scalars(
                    self._insert(SignedRequest)
                    .values([{"signature": s, "received_at": at} for s, at in rows.items()])
                    .on_conflict_do_nothing(index_elements=["signature"])
                    .returning(SignedRequest.signature)))
                if purge:
                    connection.execute(delete(SignedRequest).where(
                        SignedRequest.received_at < now - KEPT_FOR))
        except Exception as exc:
            for waiting in batch:
                waiting.error = exc
            return
        for waiting in batch:  # the same signature twice in one batch: the first wins
            waiting.first = waiting.signature in inserted
            inserted.discard(waiting.signature)
