"""Run claims through the real API on SQLite and PostgreSQL: leases, takeover, progress.

Written against surviving mutants of ``bot/storage/claims.py``. Two takers of one expired
lease are interleaved deterministically: the second taker's takeover runs on its own
connection right after the first taker has read the expired row, so the first taker's
compare-and-set UPDATE meets a row that is no longer the one it read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from bot.storage import claims
from bot.storage.claims import CLAIMED, DONE, FAILED, MISSED, Claim, LostClaim
from bot.storage.db import session_factory

T0 = datetime(2026, 11, 20, 14, tzinfo=UTC)
LEASE = timedelta(minutes=10)
KEY = "digest:7:sprint:2026-11-16"


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


def claim(sessions: sessionmaker[Session], worker: str, now: datetime,
          key: str = KEY) -> Claim | None:
    return claims.try_claim(sessions, key=key, kind="digest", worker=worker,
                            scheduled_for=T0, now=now, lease=LEASE, channel="C1")


def test_the_first_claimer_wins_a_fresh_claim_and_its_row_records_the_lease(sessions):
    won = claim(sessions, "clock-1", T0)

    assert won == Claim(KEY, "clock-1", 1, T0)
    assert not won.resumed
    row = claims.claim_state(sessions, KEY)
    assert (row.state, row.claimed_by, row.attempts, row.lease_until, row.kind, row.channel) == (
        CLAIMED, "clock-1", 1, T0 + LEASE, "digest", "C1")
    assert (row.late, row.message_ts, row.progress, row.error, row.scheduled_for) == (
        False, "", [], "", T0)


def test_a_claimer_that_finds_no_row_loses_to_one_that_inserts_it_first(sessions,
                                                                        monkeypatch):
    look_up = claims._take_up

    def looked_before_the_other_inserted(*args, **kwargs):
        found = look_up(*args, **kwargs)
        monkeypatch.setattr(claims, "_take_up", look_up)  # the other looks as usual
        assert claim(sessions, "clock-2", T0) == Claim(KEY, "clock-2", 1, T0)
        return found

    monkeypatch.setattr(claims, "_take_up", looked_before_the_other_inserted)
    assert claim(sessions, "clock-1", T0) is None

    row = claims.claim_state(sessions, KEY)
    assert (row.claimed_by, row.attempts) == ("clock-2", 1)


def test_a_late_claim_is_recorded_as_late_and_the_channel_defaults_to_none_given(sessions):
    won = claims.try_claim(sessions, key=KEY, kind="nudge", worker="clock-1", scheduled_for=T0,
                           now=T0 + timedelta(hours=2), lease=LEASE, late=True)

    assert won == Claim(KEY, "clock-1", 1, T0)
    row = claims.claim_state(sessions, KEY)
    assert (row.late, row.channel, row.kind, row.lease_until) == (
        True, "", "nudge", T0 + timedelta(hours=2) + LEASE)


def test_a_live_lease_keeps_others_out_until_the_instant_it_expires(sessions):
    claim(sessions, "clock-1", T0)

    assert claim(sessions, "clock-2", T0 + LEASE - timedelta(microseconds=1)) is None
    taken = claim(sessions, "clock-2", T0 + LEASE)

    assert taken is not None and (taken.worker, taken.attempts) == ("clock-2", 2)
    assert taken.resumed
    row = claims.claim_state(sessions, KEY)
    assert (row.claimed_by, row.attempts, row.lease_until) == ("clock-2", 2, T0 + 2 * LEASE)
    assert row.updated_at == T0 + LEASE


def test_taking_over_one_claim_leaves_the_dead_workers_other_claims_alone(sessions):
    other = "digest:8:sprint:2026-11-16"
    claim(sessions, "clock-1", T0)
    claim(sessions, "clock-1", T0, key=other)

    taken = claim(sessions, "clock-2", T0 + LEASE)

    assert taken is not None and taken.worker == "clock-2"
    row = claims.claim_state(sessions, other)
    assert (row.claimed_by, row.attempts, row.lease_until) == ("clock-1", 1, T0 + LEASE)


def test_one_worker_holding_two_claims_saves_and_finishes_each_on_its_own(sessions):
    other = "digest:8:sprint:2026-11-16"
    first, second = claim(sessions, "clock-1", T0), claim(sessions, "clock-1", T0, key=other)

    claims.save_progress(sessions, first, now=T0, lease=LEASE, message_ts="1.1")
    claims.finish(sessions, second, now=T0)

    assert claims.claim_state(sessions, KEY).state == CLAIMED
    assert claims.claim_state(sessions, other).message_ts == ""
    assert claims.claim_state(sessions, other).state == DONE


def test_a_claim_takeover_compares_and_sets_so_only_one_of_two_takers_wins(engine, sessions):
    claim(sessions, "clock-1", T0)  # clock-1 dies holding the lease
    later = T0 + LEASE + timedelta(minutes=1)
    results: dict[str, Claim | None] = {}

    def cut_in(conn, cursor, statement, parameters, context, executemany):
        # Right after clock-2 has read the expired row, clock-3 takes the claim over.
        if statement.lstrip().upper().startswith("SELECT") and "run_claims" in statement \
                and "clock-3" not in results:
            results["clock-3"] = None
            results["clock-3"] = claim(sessions, "clock-3", later)

    event.listen(engine, "after_cursor_execute", cut_in)
    try:
        results["clock-2"] = claim(sessions, "clock-2", later)
    finally:
        event.remove(engine, "after_cursor_execute", cut_in)

    assert set(results) == {"clock-2", "clock-3"}  # the second taker did cut in
    winners = {worker: won for worker, won in results.items() if won is not None}
    assert list(winners) == ["clock-3"]
    assert winners["clock-3"].attempts == 2
    row = claims.claim_state(sessions, KEY)
    assert (row.state, row.claimed_by, row.attempts) == (CLAIMED, "clock-3", 2)


def test_a_claim_finished_by_its_late_holder_during_a_takeover_is_not_taken(engine, sessions):
    held = claim(sessions, "clock-1", T0)
    later = T0 + LEASE + timedelta(minutes=1)
    finished: list[bool] = []

    def finish_first(conn, cursor, statement, parameters, context, executemany):
        # clock-1 was slow, not dead: it finishes right after clock-2 read the expired row.
        if statement.lstrip().upper().startswith("SELECT") and "run_claims" in statement \
                and not finished:
            finished.append(True)
            claims.finish(sessions, held, now=later)

    event.listen(engine, "after_cursor_execute", finish_first)
    try:
        taken = claim(sessions, "clock-2", later)
    finally:
        event.remove(engine, "after_cursor_execute", finish_first)

    assert finished == [True]
    assert taken is None
    row = claims.claim_state(sessions, KEY)
    assert (row.state, row.claimed_by, row.attempts) == (DONE, "clock-1", 1)


def test_a_holder_retaking_its_own_expired_claim_still_beats_a_concurrent_taker(
        engine, sessions):
    claim(sessions, "clock-1", T0)
    later = T0 + LEASE + timedelta(minutes=1)
    retaken: list[Claim | None] = []

    def retake(conn, cursor, statement, parameters, context, executemany):
        # The same worker's next tick retakes its claim after clock-2 read the expired row:
        # only the attempt count tells the two rows apart.
        if statement.lstrip().upper().startswith("SELECT") and "run_claims" in statement \
                and not retaken:
            retaken.append(None)
            retaken[0] = claim(sessions, "clock-1", later)

    event.listen(engine, "after_cursor_execute", retake)
    try:
        taken = claim(sessions, "clock-2", later)
    finally:
        event.remove(engine, "after_cursor_execute", retake)

    assert taken is None
    assert retaken[0] is not None and retaken[0].attempts == 2
    row = claims.claim_state(sessions, KEY)
    assert (row.claimed_by, row.attempts) == ("clock-1", 2)


def test_finishing_a_retried_claim_clears_the_error_of_the_failed_attempt(sessions):
    first = claim(sessions, "clock-1", T0)
    claims.fail(sessions, first, now=T0, error="slack timed out", retry_after=LEASE)
    retry = claim(sessions, "clock-2", T0 + LEASE)

    claims.finish(sessions, retry, now=T0 + LEASE)

    row = claims.claim_state(sessions, KEY)
    assert (row.state, row.error, row.attempts) == (DONE, "", 2)


def test_two_takers_of_one_expired_lease_one_after_the_other_give_it_to_the_first(sessions):
    claim(sessions, "clock-1", T0)
    later = T0 + LEASE

    first, second = claim(sessions, "clock-2", later), claim(sessions, "clock-3", later)

    assert first is not None and second is None
    assert claims.claim_state(sessions, KEY).claimed_by == "clock-2"


def test_a_taken_over_claim_resumes_with_the_posted_message_and_finished_parts(sessions):
    held = claim(sessions, "clock-1", T0)
    claims.save_progress(sessions, held, now=T0, lease=LEASE, message_ts="171.5")
    claims.save_progress(sessions, held, now=T0, lease=LEASE, done_part="fleet")
    claims.save_progress(sessions, held, now=T0, lease=LEASE, done_part="fleet")

    taken = claim(sessions, "clock-2", T0 + LEASE)

    assert taken == Claim(KEY, "clock-2", 2, T0, "171.5", ["fleet"])


def test_saving_progress_extends_the_lease_and_keeps_the_message(sessions):
    held = claim(sessions, "clock-1", T0)
    claims.save_progress(sessions, held, now=T0, lease=LEASE, message_ts="171.5")
    claims.save_progress(sessions, held, now=T0 + LEASE, lease=LEASE, done_part="a")

    row = claims.claim_state(sessions, KEY)
    assert (row.lease_until, row.message_ts, row.progress) == (T0 + 2 * LEASE, "171.5", ["a"])
    assert row.updated_at == T0 + LEASE
    assert claim(sessions, "clock-2", T0 + LEASE + timedelta(minutes=5)) is None


def test_a_claimer_whose_claim_was_taken_over_cannot_save_finish_or_fail_it(sessions):
    stale = claim(sessions, "clock-1", T0)
    claim(sessions, "clock-2", T0 + LEASE)

    with pytest.raises(LostClaim) as caught:
        claims.save_progress(sessions, stale, now=T0 + LEASE, lease=LEASE, done_part="x")
    assert caught.value.permanent is False
    assert caught.value.message == f"claim {KEY} was taken over"
    with pytest.raises(LostClaim):
        claims.finish(sessions, stale, now=T0 + LEASE)
    with pytest.raises(LostClaim):
        claims.fail(sessions, stale, now=T0 + LEASE, error="boom", retry_after=LEASE)
    row = claims.claim_state(sessions, KEY)
    assert (row.state, row.claimed_by, row.progress) == (CLAIMED, "clock-2", [])


def test_a_finished_claim_is_never_claimed_again_even_after_its_lease(sessions):
    held = claim(sessions, "clock-1", T0)
    claims.finish(sessions, held, now=T0 + timedelta(minutes=1))

    row = claims.claim_state(sessions, KEY)
    assert (row.state, row.lease_until, row.error) == (DONE, None, "")
    assert row.updated_at == T0 + timedelta(minutes=1)
    assert claim(sessions, "clock-2", T0 + timedelta(days=30)) is None
    with pytest.raises(LostClaim):  # finished: no longer CLAIMED
        claims.save_progress(sessions, held, now=T0, lease=LEASE)


def test_a_failed_claim_is_retried_by_anyone_after_its_retry_delay(sessions):
    held = claim(sessions, "clock-1", T0)
    claims.fail(sessions, held, now=T0, error="x" * 2500, retry_after=timedelta(minutes=5))

    row = claims.claim_state(sessions, KEY)
    assert (row.state, row.lease_until, row.error, row.updated_at) == (
        FAILED, T0 + timedelta(minutes=5), "x" * 2000, T0)
    assert claim(sessions, "clock-2", T0 + timedelta(minutes=4)) is None
    retry = claim(sessions, "clock-2", T0 + timedelta(minutes=5))
    assert retry is not None and retry.attempts == 2
    assert claims.claim_state(sessions, KEY).state == CLAIMED


def test_a_missed_occurrence_is_recorded_once_and_never_claimed(sessions):
    first = claims.record_missed(sessions, key=KEY, kind="digest", scheduled_for=T0, now=T0,
                                 schedule_id=None, channel="C1", reason="bot was down")
    again = claims.record_missed(sessions, key=KEY, kind="digest", scheduled_for=T0, now=T0,
                                 schedule_id=None, channel="C1", reason="bot was down")

    assert (first, again) == (True, False)
    row = claims.claim_state(sessions, KEY)
    assert (row.state, row.attempts, row.late, row.error, row.lease_until) == (
        MISSED, 0, True, "bot was down", None)
    assert (row.channel, row.kind, row.claimed_by, row.updated_at) == ("C1", "digest", "", T0)
    assert claim(sessions, "clock-1", T0 + timedelta(days=1)) is None


def test_claims_on_other_keys_are_independent(sessions):
    assert claim(sessions, "clock-1", T0) is not None
    assert claim(sessions, "clock-2", T0, key="digest:8:sprint:2026-11-16") is not None
    assert claims.claim_state(sessions, "nothing") is None
