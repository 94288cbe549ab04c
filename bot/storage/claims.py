"""Claims on scheduled work, so each action happens once however many processes run.

A claim is a row with a unique key (e.g. ``digest:7:sprint:2026-11-16``). Inserting it wins
the work; a losing process sees IntegrityError and backs off. A claimer that dies leaves a
lease that expires; another process then takes over with a compare-and-set UPDATE that only
one process can win. Progress (the posted message ts, which thread replies are done) is
saved under the same compare-and-set, so a taken-over claim resumes instead of repeating.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, Result, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.errors import OutcomeError
from bot.storage.db import transaction
from bot.storage.models import RunClaim

CLAIMED, DONE, FAILED, MISSED = "claimed", "done", "failed", "missed"
PAUSED = "paused"  # between two steps of the work: free for anyone after its lease


class LostClaim(OutcomeError):
    """Another process took this claim over (our lease expired); stop working on it."""

    permanent = False


@dataclass
class Claim:
    """A claim this process holds."""

    key: str
    worker: str
    attempts: int
    scheduled_for: datetime
    message_ts: str = ""
    progress: list[str] = field(default_factory=list)

    @property
    def resumed(self) -> bool:
        """True when an earlier attempt may already have posted something."""
        return self.attempts > 1


def try_claim(sessions: sessionmaker[Session], *, key: str, kind: str, worker: str,
              scheduled_for: datetime, now: datetime, lease: timedelta,
              schedule_id: int | None = None, channel: str = "",
              late: bool = False) -> Claim | None:
    """Claim ``key`` for ``worker``; None when someone else holds it or it is finished."""
    exists, taken = _take_up(sessions, key=key, worker=worker, now=now, lease=lease)
    if exists:
        return taken
    try:
        with transaction(sessions) as session:
            session.add(RunClaim(
                key=key, kind=kind, schedule_id=schedule_id, channel=channel,
                scheduled_for=scheduled_for, state=CLAIMED, claimed_by=worker,
                lease_until=now + lease, attempts=1, late=late, message_ts="", progress=[],
                error="",
            ))
        return Claim(key, worker, 1, scheduled_for)
    except IntegrityError:  # another claimed it since we looked, and holds its lease
        return None


def _take_up(sessions: sessionmaker[Session], *, key: str, worker: str, now: datetime,
             lease: timedelta) -> tuple[bool, Claim | None]:
    """Whether ``key`` has a claim row, and the claim when its lease was over and this
    worker took it up (None when it is held or finished)."""
    with transaction(sessions) as session:
        row = session.scalar(select(RunClaim).where(RunClaim.key == key))
        if row is None:
            return False, None
        if row.state in (DONE, MISSED):
            return True, None
        expired = row.lease_until is None or row.lease_until <= now
        if not expired:
            return True, None
        # Taking up a paused claim continues the work; any other expired one may have
        # died halfway, so the next holder checks what was done (``Claim.resumed``).
        attempts = row.attempts if row.state == PAUSED else row.attempts + 1
        taken = session.execute(
            update(RunClaim)
            .where(RunClaim.key == key, RunClaim.state == row.state,
                   RunClaim.claimed_by == row.claimed_by, RunClaim.attempts == row.attempts)
            .values(state=CLAIMED, claimed_by=worker, lease_until=now + lease,
                    attempts=attempts, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if _rows_changed(taken) != 1:
            return True, None
        return True, Claim(key, worker, attempts, row.scheduled_for, row.message_ts,
                           list(row.progress or []))


def _rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE changed: the compare-and-set's verdict."""
    assert isinstance(result, CursorResult)  # an UPDATE's result has a cursor
    return result.rowcount


def _update_own(sessions: sessionmaker[Session], claim: Claim, **values: object) -> None:
    with transaction(sessions) as session:
        result = session.execute(
            update(RunClaim)
            .where(RunClaim.key == claim.key, RunClaim.claimed_by == claim.worker,
                   RunClaim.state == CLAIMED)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if _rows_changed(result) != 1:
            raise LostClaim(f"claim {claim.key} was taken over")


def save_progress(sessions: sessionmaker[Session], claim: Claim, *, now: datetime,
                  lease: timedelta, message_ts: str | None = None,
                  done_part: str | None = None) -> None:
    """Record what has been posted so far, and extend the lease."""
    if message_ts is not None:
        claim.message_ts = message_ts
    if done_part is not None and done_part not in claim.progress:
        claim.progress.append(done_part)
    _update_own(sessions, claim, message_ts=claim.message_ts, progress=list(claim.progress),
                lease_until=now + lease, updated_at=now)


def finish(sessions: sessionmaker[Session], claim: Claim, *, now: datetime) -> None:
    _update_own(sessions, claim, state=DONE, lease_until=None, error="", updated_at=now)


def pause(sessions: sessionmaker[Session], claim: Claim, *, now: datetime,
          until: datetime) -> None:
    """Give the claim back until ``until`` (e.g. a channel's pace): whoever takes it up
    then goes on from its progress, without checking what was already done."""
    _update_own(sessions, claim, state=PAUSED, lease_until=until, updated_at=now)


def fail(sessions: sessionmaker[Session], claim: Claim, *, now: datetime, error: str,
         retry_after: timedelta) -> None:
    """Give the claim back; any process may retry it after ``retry_after``."""
    _update_own(sessions, claim, state=FAILED, lease_until=now + retry_after,
                error=error[:2000], updated_at=now)


def record_missed(sessions: sessionmaker[Session], *, key: str, kind: str,
                  scheduled_for: datetime, now: datetime, schedule_id: int | None,
                  channel: str, reason: str) -> bool:
    """Note, once, an occurrence too old to post. Returns True when newly recorded."""
    try:
        with transaction(sessions) as session:
            session.add(RunClaim(
                key=key, kind=kind, schedule_id=schedule_id, channel=channel,
                scheduled_for=scheduled_for, state=MISSED, claimed_by="", lease_until=None,
                attempts=0, late=True, message_ts="", progress=[], error=reason,
                updated_at=now,
            ))
        return True
    except IntegrityError:
        return False


def claim_state(sessions: sessionmaker[Session], key: str) -> RunClaim | None:
    with sessions() as session:
        return session.scalar(select(RunClaim).where(RunClaim.key == key))


def paused_until(sessions: sessionmaker[Session], key: str) -> datetime | None:
    """When the paused claim ``key`` may be taken up again; None unless it is paused."""
    with sessions() as session:
        row = session.execute(select(RunClaim.state, RunClaim.lease_until)
                              .where(RunClaim.key == key)).first()
    return row.lease_until if row is not None and row.state == PAUSED else None


def keys_under_way(sessions: sessionmaker[Session], keys: list[str], now: datetime
                   ) -> set[str]:
    """Those of ``keys`` finished, missed, or held or paused under a lease still running
    at ``now``: the ones nobody needs to start."""
    if not keys:
        return set()
    with sessions() as session:
        rows = session.execute(select(RunClaim.key, RunClaim.state, RunClaim.lease_until)
                               .where(RunClaim.key.in_(keys)))
        return {key for key, state, lease_until in rows
                if state in (DONE, MISSED) or (lease_until is not None and lease_until > now)}
