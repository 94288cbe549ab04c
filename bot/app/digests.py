"""Posting due review digests exactly once.

:meth:`DigestRunner.due` finds the occurrences of enabled schedules due within the grace
window (older misses are recorded, not posted); :meth:`DigestRunner.post` claims one in the
database, refreshes its metrics, builds the review and hands it to a :class:`DigestPoster`
(Slack in production). Posted whole, or — as the task workers do — one message at a time,
the claim paused until the channel's pace lets the next one go, so no thread sleeps
between a headline and its thread. :meth:`DigestRunner.tick` does both at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.app.digest_reviews import DigestReviews
from bot.app.review_builder import build_review, cadence_of
from bot.core.errors import OutcomeError
from bot.core.kinds import InitiativeStatus
from bot.core.periods import THIS_SPRINT, resolve
from bot.core.review import InitiativeReview, Review
from bot.core.schedules import Occurrence, ScheduleRule, occurrences
from bot.storage import claims
from bot.storage.models import DigestSchedule, Initiative

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
GRACE = timedelta(hours=6)
LATE_AFTER = timedelta(minutes=5)
MISS_LOOKBACK = timedelta(days=3)
RETRY_AFTER = timedelta(minutes=2)


class DigestPoster(Protocol):
    """Where digests go (Slack in production). Every message carries the run key."""

    def find_digest(self, channel: str, run_key: str, since: datetime) -> str | None:
        """The ts of a digest headline already posted for ``run_key``, if any."""

    def post_headline(self, channel: str, review: Review, run_key: str, late: bool) -> str:
        """Post the headline message; return its ts."""

    def has_reply(self, channel: str, thread_ts: str, run_key: str, part: str) -> bool:
        """Whether the thread already has the reply for ``part`` (an initiative key)."""

    def post_initiative(self, channel: str, thread_ts: str, initiative: InitiativeReview,
                        run_key: str) -> None:
        """Post one initiative's review (numbers and chart) into the thread."""

    def prepare(self, run_key: str, initiatives: list[InitiativeReview]) -> None:
        """Start the work these thread replies will need (drawing charts), so it is done
        when their turn comes; nothing is lost if it is not."""

    def nudge(self, user: str, text: str) -> None:
        """Send a direct reminder to a user."""


def rule_of(schedule: DigestSchedule) -> ScheduleRule:
    hours, minutes = (int(part) for part in schedule.local_time.split(":"))
    return ScheduleRule(
        kind=schedule.kind,
        timezone=schedule.timezone,
        local_time=time(hours, minutes),
        retro_weekday=schedule.retro_weekday,
        lead=timedelta(minutes=schedule.lead_minutes),
        days_before=schedule.days_before,
        sprint_days=schedule.sprint_days,
        sprint_anchor=schedule.sprint_anchor,
        fiscal_year_start_month=schedule.fiscal_year_start_month,
    )


def initiatives_in_scope(session: Session, schedule: DigestSchedule) -> list[Initiative]:
    query = select(Initiative).where(
        Initiative.workspace == schedule.workspace,
        Initiative.status.in_([InitiativeStatus.DRAFT, InitiativeStatus.AGREED]),
    )
    if schedule.scope.startswith("initiative:"):
        query = query.where(Initiative.key == schedule.scope.split(":", 1)[1])
    else:
        query = query.where(Initiative.channel == schedule.channel)
    return list(session.scalars(query.order_by(Initiative.key)).all())


@dataclass
class TickResult:
    posted: list[str]
    missed: list[str]
    failed: list[str]
    nudged: list[str]


@dataclass(frozen=True)
class DueDigest:
    """One schedule's occurrence to post; ``rank``: its place among the digests of its
    workspace found due together (0 first), so each workspace's first goes before any
    workspace's second."""

    schedule_id: int
    workspace: str
    fire_at: datetime
    period_key: str
    rank: int = 0

    @property
    def run_key(self) -> str:
        return f"digest:{self.schedule_id}:{self.period_key}"


class DigestRunner:
    """Finds due digests and posts each once; safe to run in many processes at once."""

    def __init__(self, sessions: sessionmaker[Session],
                 posters: Callable[[str], DigestPoster], *,
                 worker: str, refresh: Callable[[list[int]], None] | None = None,
                 lease: timedelta = LEASE, grace: timedelta = GRACE,
                 concurrency: int = 16) -> None:
        self.sessions = sessions
        self.posters = posters  # workspace -> the poster that speaks to it
        self.worker = worker
        self.refresh = refresh
        self.lease = lease
        self.grace = grace
        self.concurrency = concurrency
        self.reviews = DigestReviews()  # between the messages of a digest under way

    def tick(self, now: datetime) -> TickResult:
        """Post every digest due now, whole; then nudge the owners of unagreed drafts."""
        result = TickResult([], [], [], [])
        due = self.due(now, result)
        if len(due) > 1 and self.concurrency > 1:
            # Channels are independent: while one waits on Slack's per-channel pace or a
            # retry, others post. Each digest is still claimed on its own.
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="digest") as pool:
                for _ in pool.map(lambda one: self.post(one, now, result), due):
                    pass
        else:
            for one in due:
                self.post(one, now, result)
        result.nudged = self.nudge_unagreed(now)
        return result

    def due(self, now: datetime, result: TickResult, *, waiting_only: bool = False
            ) -> list[DueDigest]:
        """The digests due now, each workspace's taking turns; occurrences past the grace
        window are recorded as missed instead. ``waiting_only`` leaves out those
        finished, or held or paused by a live worker (for the task workers, who must
        not queue up work already under way)."""
        with self.sessions() as session:
            schedules = session.scalars(
                select(DigestSchedule).where(DigestSchedule.enabled.is_(True))
                .order_by(DigestSchedule.id)
            ).all()
        window_end = now + timedelta(microseconds=1)  # due at exactly `now` counts
        ranks: dict[str, int] = {}
        due: list[DueDigest] = []
        for schedule in schedules:
            for occurrence in occurrences(rule_of(schedule), now - MISS_LOOKBACK, window_end):
                if now - occurrence.fire_at > self.grace:
                    self._record_missed(schedule, occurrence, now, result)
                    continue
                rank = ranks.get(schedule.workspace, 0)
                ranks[schedule.workspace] = rank + 1
                due.append(DueDigest(schedule.id, schedule.workspace, occurrence.fire_at,
                                     occurrence.period_key, rank))
        if waiting_only:
            under_way = claims.keys_under_way(self.sessions, [d.run_key for d in due], now)
            due = [d for d in due if d.run_key not in under_way]
        return sorted(due, key=lambda d: (d.rank, d.fire_at, d.schedule_id))

    def _record_missed(self, schedule: DigestSchedule, occurrence: Occurrence,
                       now: datetime, result: TickResult) -> None:
        key = DueDigest(schedule.id, schedule.workspace, occurrence.fire_at,
                        occurrence.period_key).run_key
        if claims.record_missed(self.sessions, key=key, kind="digest",
                                scheduled_for=occurrence.fire_at, now=now,
                                schedule_id=schedule.id, channel=schedule.channel,
                                reason=f"missed by more than {self.grace}"):
            log.warning("digest %s missed its grace window; recorded, not posted", key)
            result.missed.append(key)

    def post(self, due: DueDigest, now: datetime, result: TickResult, *,
             pace: timedelta | None = None) -> datetime | None:
        """Claim ``due`` and post what is left of it. With ``pace``, post only its next
        message and pause the claim until ``now + pace``, which is returned: when the
        rest may go (also when another step paused it). None when nothing is left here
        (posted, failed, or someone else's)."""
        with self.sessions() as session:
            schedule = session.get(DigestSchedule, due.schedule_id)
            if schedule is not None:
                session.expunge(schedule)
        occurrence = None if schedule is None or not schedule.enabled else next(
            (o for o in occurrences(rule_of(schedule), due.fire_at - timedelta(seconds=1),
                                    due.fire_at + timedelta(seconds=1))
             if o.period_key == due.period_key), None)
        if schedule is None or occurrence is None:
            log.info("digest %s is no longer scheduled", due.run_key)
            return None
        late = now - occurrence.fire_at > LATE_AFTER
        claim = claims.try_claim(self.sessions, key=due.run_key, kind="digest",
                                 worker=self.worker, scheduled_for=occurrence.fire_at,
                                 now=now, lease=self.lease, schedule_id=schedule.id,
                                 channel=schedule.channel, late=late)
        if claim is None:  # someone else's, or paused until the channel's pace allows
            return claims.paused_until(self.sessions, due.run_key) if pace else None
        try:
            finished = self._post(schedule, occurrence, claim, now, late,
                                  one_message=pace is not None)
        except claims.LostClaim:
            log.warning("digest %s was taken over by another process", due.run_key)
            self.reviews.drop(due.run_key)
            return None
        except Exception as exc:  # a failed post is retried, never lost
            log.exception("digest %s failed; will retry", due.run_key)
            self.reviews.drop(due.run_key)
            reason = exc.message if isinstance(exc, OutcomeError) else type(exc).__name__
            claims.fail(self.sessions, claim, now=now, error=reason, retry_after=RETRY_AFTER)
            result.failed.append(due.run_key)
            return None
        if finished:
            self.reviews.drop(due.run_key)
            result.posted.append(due.run_key)
            return None
        assert pace is not None  # only one message at a time leaves something to do
        claims.pause(self.sessions, claim, now=now, until=now + pace)
        return now + pace

    def _post(self, schedule: DigestSchedule, occurrence: Occurrence, claim: claims.Claim,
              now: datetime, late: bool, *, one_message: bool) -> bool:
        """Post the digest's next messages (all, or ``one_message``); True once finished."""
        review = self.reviews.get(claim.key) if claim.message_ts else None
        if review is None:
            review = self._build(schedule, occurrence, claim, now)
            self.reviews.keep(claim.key, review)
        channel = schedule.channel
        poster = self.posters(schedule.workspace)
        if claim.resumed and not claim.message_ts:
            found = poster.find_digest(channel, claim.key,
                                       since=occurrence.fire_at - timedelta(hours=1))
            if found:
                claims.save_progress(self.sessions, claim, now=now, lease=self.lease,
                                     message_ts=found)
        left = [i for i in review.initiatives if i.key not in claim.progress]
        if not claim.message_ts:
            ts = poster.post_headline(channel, review, claim.key, late)
            claims.save_progress(self.sessions, claim, now=now, lease=self.lease,
                                 message_ts=ts)
            if one_message and left:
                poster.prepare(claim.key, left)  # drawn while the channel's pace passes
                return False
        for index, initiative in enumerate(left):
            if not (claim.resumed and poster.has_reply(channel, claim.message_ts,
                                                       claim.key, initiative.key)):
                poster.post_initiative(channel, claim.message_ts, initiative, claim.key)
            if index == len(left) - 1:
                break  # finishing records it: a finished digest is never resumed
            claims.save_progress(self.sessions, claim, now=now, lease=self.lease,
                                 done_part=initiative.key)
            if one_message:
                return False
        claims.finish(self.sessions, claim, now=now)
        return True

    def _build(self, schedule: DigestSchedule, occurrence: Occurrence, claim: claims.Claim,
               now: datetime) -> Review:
        """The digest's review, its metrics pulled first when it starts afresh."""
        with self.sessions() as session:
            chosen = initiatives_in_scope(session, schedule)
            if self.refresh and chosen and not claim.resumed and not claim.message_ts:
                # End this read first (nothing is written; the initiatives stay loaded):
                # no transaction stays open while the pulls wait on their sources.
                session.commit()
                self.refresh([initiative.id for initiative in chosen])
            return build_review(session, schedule.workspace, occurrence.spec, now,
                                initiatives=chosen, period_at=occurrence.period_at)

    def nudge_unagreed(self, now: datetime) -> list[str]:
        """Once per revision, remind the owners of a draft that a sprint started unagreed."""
        nudged = []
        with self.sessions() as session:
            drafts = session.scalars(
                select(Initiative).where(Initiative.status == InitiativeStatus.DRAFT)
            ).all()
            plans = []
            for initiative in drafts:
                sprint = resolve(THIS_SPRINT, cadence_of(initiative), now)
                if now - sprint.start > self.grace:  # only around the sprint's start
                    continue
                owners = [u for u in (initiative.product_owner, initiative.engineering_owner)
                          if u]
                key = f"nudge:{initiative.id}:r{initiative.revision}"
                plans.append((key, sprint.start, initiative.workspace, initiative.key,
                              initiative.name, owners))
        for key, sprint_start, workspace, initiative_key, name, owners in plans:
            claim = claims.try_claim(self.sessions, key=key, kind="nudge", worker=self.worker,
                                     scheduled_for=sprint_start, now=now, lease=self.lease)
            if claim is None:
                continue
            text = (f"The sprint started and the success criteria of *{name}* "
                    f"({initiative_key}) are not agreed yet. Review them with "
                    f"`/outcome show {initiative_key}` and sign with "
                    f"`/outcome agree {initiative_key}`.")
            try:
                poster = self.posters(workspace)
                for user in dict.fromkeys(owners):
                    poster.nudge(user, text)
            except Exception as exc:  # retried on a later tick
                log.exception("nudge %s failed; will retry", key)
                claims.fail(self.sessions, claim, now=now, error=type(exc).__name__,
                            retry_after=RETRY_AFTER)
                continue
            claims.finish(self.sessions, claim, now=now)
            nudged.append(key)
        return nudged

