"""Digests are posted once per (schedule, period), recover from crashes, and respect grace."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from bot.app.commands import run
from bot.app.context import Actor, Context
from bot.app.digests import GRACE, DigestRunner, TickResult
from bot.storage.claims import claim_state
from bot.storage.db import session_factory

# The schedule below: 7-day sprints from Mon 2026-11-16, retro Friday 15:00 Berlin, 24 h lead.
FIRE = datetime(2026, 11, 19, 14, 0, tzinfo=UTC)  # Thu 15:00 CET


class Killed(BaseException):
    """The process died (like SIGKILL): no handler in the code under test runs."""


class RecordingPoster:
    """Stands in for Slack: keeps messages with their run keys, can fail on demand."""

    def __init__(self) -> None:
        self.headlines: list[tuple[str, str, bool]] = []  # (channel, run_key, late)
        self.replies: list[tuple[str, str, str]] = []  # (thread_ts, run_key, initiative)
        self.nudges: list[tuple[str, str]] = []
        self.prepared: list[tuple[str, list[str]]] = []
        self.reviews: list = []  # the reviews headlines were posted from
        self.posted: list = []  # the initiative reviews thread replies were posted from
        self.fail_replies = 0
        self.die_after_headline = False
        self.lock = threading.Lock()

    def find_digest(self, channel, run_key, since):
        return next((f"ts-{i}" for i, h in enumerate(self.headlines) if h[1] == run_key), None)

    def post_headline(self, channel, review, run_key, late):
        with self.lock:
            self.headlines.append((channel, run_key, late))
            self.reviews.append(review)
        if self.die_after_headline:
            raise Killed
        return f"ts-{len(self.headlines) - 1}"

    def has_reply(self, channel, thread_ts, run_key, part):
        return (thread_ts, run_key, part) in self.replies

    def post_initiative(self, channel, thread_ts, initiative, run_key):
        self.posted.append(initiative)
        if self.fail_replies:
            self.fail_replies -= 1
            self.replies.append((thread_ts, run_key, initiative.key))  # posted, then crashed
            raise ConnectionError("connection reset while reading the response")
        self.replies.append((thread_ts, run_key, initiative.key))

    def prepare(self, run_key, initiatives):
        self.prepared.append((run_key, [i.key for i in initiatives]))

    def nudge(self, user, text):
        self.nudges.append((user, text))


@pytest.fixture
def sessions(engine):
    sessions = session_factory(engine)
    ctx = Context(Actor("T1", "eve", admin=True), sessions, now=lambda: FIRE - timedelta(days=3))
    for text in (
        'define fleet "Fleet update" channel=#fleet po=@ana eng=@ben tz=Europe/Berlin '
        "anchor=2026-11-16 sprint=7d",
        'metric add fleet deploy "Deploy time" unit=min direction=down baseline=40 '
        "target=12 by=2027-03-31",
        "record fleet.deploy 30 at=2026-11-14",
        "schedule fleet retro=fri@15:00 lead=24h",
    ):
        reply = run(text, ctx)
        assert not reply.error, reply.text
    return sessions


def runner(sessions, poster, worker="clock-1", **kwargs) -> DigestRunner:
    return DigestRunner(sessions, lambda workspace: poster, worker=worker, **kwargs)


def test_a_due_digest_is_posted_once_and_later_ticks_do_nothing(sessions):
    poster = RecordingPoster()
    clock = runner(sessions, poster)
    assert clock.tick(FIRE - timedelta(minutes=1)).posted == []
    result = clock.tick(FIRE + timedelta(seconds=5))
    assert result.posted == ["digest:1:sprint:2026-11-16"]
    assert clock.tick(FIRE + timedelta(minutes=1)).posted == []
    assert runner(sessions, poster, "clock-2").tick(FIRE + timedelta(minutes=2)).posted == []
    assert poster.headlines == [("fleet", "digest:1:sprint:2026-11-16", False)]
    assert [r[2] for r in poster.replies] == ["fleet"]
    assert claim_state(sessions, "digest:1:sprint:2026-11-16").state == "done"


def test_racing_clock_processes_post_one_digest(sessions):
    poster = RecordingPoster()
    barrier = threading.Barrier(4)

    def tick(worker: str) -> None:
        barrier.wait()
        runner(sessions, poster, worker).tick(FIRE + timedelta(seconds=1))

    threads = [threading.Thread(target=tick, args=(f"clock-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(poster.headlines) == 1
    assert len(poster.replies) == 1


def test_a_crash_after_posting_is_resumed_without_a_duplicate(sessions):
    poster = RecordingPoster()
    poster.fail_replies = 1  # the thread reply reaches Slack, then the process loses it
    clock = runner(sessions, poster)
    assert clock.tick(FIRE).failed == ["digest:1:sprint:2026-11-16"]
    assert claim_state(sessions, "digest:1:sprint:2026-11-16").state == "failed"
    # Retried by another process once the retry delay has passed.
    result = runner(sessions, poster, "clock-2").tick(FIRE + timedelta(minutes=3))
    assert result.posted == ["digest:1:sprint:2026-11-16"]
    assert len(poster.headlines) == 1
    assert len(poster.replies) == 1


def test_a_claimer_that_died_is_taken_over_after_its_lease(sessions):
    poster = RecordingPoster()
    # A process claims, posts the headline, and dies before recording it.
    poster.die_after_headline = True
    with pytest.raises(Killed):
        runner(sessions, poster, "clock-dead").tick(FIRE)
    poster.die_after_headline = False
    other = runner(sessions, poster, "clock-2")
    assert other.tick(FIRE + timedelta(minutes=5)).posted == []  # the lease still holds
    result = other.tick(FIRE + timedelta(minutes=11))
    assert result.posted == ["digest:1:sprint:2026-11-16"]
    assert len(poster.headlines) == 1  # found by its run key, not posted again
    assert len(poster.replies) == 1
    assert claim_state(sessions, "digest:1:sprint:2026-11-16").attempts == 2


def test_a_digest_missed_during_downtime_posts_late_once_within_the_grace_window(sessions):
    poster = RecordingPoster()
    result = runner(sessions, poster).tick(FIRE + timedelta(hours=2))
    assert result.posted == ["digest:1:sprint:2026-11-16"]
    assert poster.headlines[0][2] is True  # marked late
    assert runner(sessions, poster).tick(FIRE + timedelta(hours=3)).posted == []


def test_older_misses_are_recorded_not_posted(sessions):
    poster = RecordingPoster()
    result = runner(sessions, poster).tick(FIRE + GRACE + timedelta(minutes=1))
    assert result.missed == ["digest:1:sprint:2026-11-16"]
    assert poster.headlines == []
    assert runner(sessions, poster).tick(FIRE + GRACE + timedelta(minutes=2)).missed == []
    assert claim_state(sessions, "digest:1:sprint:2026-11-16").state == "missed"


def test_a_draft_not_agreed_by_sprint_start_nudges_its_owners_once(sessions):
    poster = RecordingPoster()
    sprint_start = datetime(2026, 11, 22, 23, tzinfo=UTC)  # Mon Nov 23 00:00 Berlin
    runner(sessions, poster).tick(sprint_start + timedelta(minutes=1))
    runner(sessions, poster, "clock-2").tick(sprint_start + timedelta(minutes=2))
    assert sorted(user for user, _ in poster.nudges) == ["ana", "ben"]
    assert "/outcome agree fleet" in poster.nudges[0][1]


def test_switching_a_schedule_off_stops_its_digests(sessions):
    ctx = Context(Actor("T1", "eve", admin=True), sessions, now=lambda: FIRE)
    reply = run("schedule fleet off=sprint", ctx)
    assert "(off)" in reply.text
    poster = RecordingPoster()
    assert runner(sessions, poster).tick(FIRE + timedelta(seconds=5)).posted == []
    assert "Digests:" in run("list", ctx).text


# ----------------------------------------------------------------- one message at a time

KEY = "digest:1:sprint:2026-11-16"
PACE = timedelta(seconds=1.1)


def due_now(clock: DigestRunner, now: datetime) -> list:
    return clock.due(now, TickResult([], [], [], []), waiting_only=True)


def test_a_paced_digest_posts_its_headline_then_its_thread_after_the_pace(sessions):
    poster = RecordingPoster()
    clock = runner(sessions, poster)
    [due] = due_now(clock, FIRE)
    result = TickResult([], [], [], [])

    then = clock.post(due, FIRE, result, pace=PACE)
    assert then == FIRE + PACE
    assert (len(poster.headlines), poster.replies, result.posted) == (1, [], [])
    assert poster.prepared == [(KEY, ["fleet"])]  # its chart is drawn during the pause
    assert claim_state(sessions, KEY).state == "paused"
    assert due_now(clock, FIRE + PACE / 2) == []  # paused under way: nothing to defer
    # Too early for another worker: the pause is the channel's pace; it says when.
    assert runner(sessions, poster, "clock-2").post(due, FIRE + PACE / 2, result,
                                                   pace=PACE) == FIRE + PACE
    assert runner(sessions, poster, "clock-2").post(due, FIRE + PACE, result,
                                                   pace=PACE) is None
    assert [r[2] for r in poster.replies] == ["fleet"] and len(poster.headlines) == 1
    assert result.posted == [KEY]
    state = claim_state(sessions, KEY)
    # Taking up a pause is no crash: attempts unchanged, so nothing was looked up again.
    assert (state.state, state.attempts) == ("done", 1)
    assert due_now(clock, FIRE + timedelta(minutes=1)) == []


def record_during_the_pause(sessions, value: int) -> None:
    ctx = Context(Actor("T1", "ana"), sessions, now=lambda: FIRE)
    reply = run(f"record fleet.deploy {value} at=2026-11-19", ctx)
    assert not reply.error, reply.text


def after_value(initiative) -> float:
    return initiative.metrics[0].change.after.value


def headline_then_a_new_value(sessions, poster):
    """A paced digest whose headline is posted, then a value of 21 recorded in its pause."""
    clock = runner(sessions, poster)
    [due] = due_now(clock, FIRE)
    result = TickResult([], [], [], [])
    clock.post(due, FIRE, result, pace=PACE)
    record_during_the_pause(sessions, 21)
    return clock, due, result


def test_a_paced_digests_thread_carries_the_numbers_its_headline_announced(sessions):
    poster = RecordingPoster()
    clock, due, result = headline_then_a_new_value(sessions, poster)

    assert clock.post(due, FIRE + PACE, result, pace=PACE) is None
    [headline_review] = poster.reviews
    assert poster.posted == [headline_review.initiatives[0]]  # built once, for the headline
    assert after_value(poster.posted[0]) == 30
    assert clock.reviews.get(KEY) is None  # finished: nothing kept


def test_a_digest_taken_up_by_another_process_or_retried_builds_its_review_again(sessions):
    poster = RecordingPoster()
    clock, due, result = headline_then_a_new_value(sessions, poster)
    poster.fail_replies = 1
    assert clock.post(due, FIRE + PACE, result, pace=PACE) is None
    assert result.failed == [KEY] and clock.reviews.get(KEY) is None  # failed: dropped
    poster.replies.clear()  # the reply never reached Slack

    other = runner(sessions, poster, "clock-2")
    other.post(due, FIRE + PACE + timedelta(minutes=3), result, pace=PACE)
    assert result.posted == [KEY]
    assert [after_value(i) for i in poster.posted] == [30, 21]  # the retry saw the new value


def test_a_digest_pulls_its_metrics_once_before_its_headline_and_shows_what_came(sessions):
    poster = RecordingPoster()
    refreshed: list[list[int]] = []

    def refresh(initiative_ids: list[int]) -> None:  # as a pull that stores a new sample
        refreshed.append(initiative_ids)
        record_during_the_pause(sessions, 18)

    clock = runner(sessions, poster, refresh=refresh)
    [due] = due_now(clock, FIRE)
    result = TickResult([], [], [], [])
    clock.post(due, FIRE, result, pace=PACE)
    clock.post(due, FIRE + PACE, result, pace=PACE)

    assert refreshed == [[1]]  # before the headline only
    assert after_value(poster.reviews[0].initiatives[0]) == 18
    assert result.posted == [KEY]


def test_a_paused_digest_whose_next_step_was_lost_is_due_again_after_its_pause(sessions):
    poster = RecordingPoster()
    clock = runner(sessions, poster)
    [due] = due_now(clock, FIRE)
    clock.post(due, FIRE, TickResult([], [], [], []), pace=PACE)

    assert [d.run_key for d in due_now(clock, FIRE + PACE)] == [KEY]


def test_each_workspaces_first_digest_ranks_before_any_workspaces_second(sessions):
    ctx = Context(Actor("T2", "zoe", admin=True), sessions, now=lambda: FIRE - timedelta(days=3))
    for key in ("alpha", "beta"):
        for text in (f'define {key} "{key}" channel=#{key} tz=Europe/Berlin '
                     "anchor=2026-11-16 sprint=7d",
                     f"schedule {key} retro=fri@15:00 lead=24h"):
            assert not run(text, ctx).error

    found = due_now(runner(sessions, RecordingPoster()), FIRE)
    assert [(d.workspace, d.rank) for d in found] == [("T1", 0), ("T2", 0), ("T2", 1)]
