"""Several clock processes on one PostgreSQL, one of them killed mid-digest: each
(schedule, period) digest reaches Slack exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from digest_setup import FIRE, digests_by_key, parts_by_key, seed_channels
from fake_slack import FakeSlack
from sqlalchemy import select

from bot.storage.db import make_engine, session_factory, upgrade
from bot.storage.models import RunClaim

CLOCK = str(Path(__file__).with_name("clock_process.py"))
CHANNELS = 6
# Simulated time runs 40x faster than real time: the 10-minute lease of a dead clock
# expires after 15 s, while a live clock's digest (a few seconds, its chart drawn by a
# worker at a lower priority: longer on a loaded machine) stays well inside it.
SPEED = 40


def start_clock(url: str, slack: FakeSlack, worker: str, epoch: float, seconds: float
                ) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, CLOCK, url, slack.api_url, worker, FIRE.isoformat(), str(epoch),
         str(SPEED), str(seconds)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def claims(sessions) -> dict[str, RunClaim]:
    with sessions() as session:
        return {c.key: c for c in session.scalars(select(RunClaim).where(
            RunClaim.kind == "digest"))}


@pytest.mark.postgres
def test_two_clocks_and_a_killed_one_post_each_digest_exactly_once(postgres_url):
    engine = make_engine(postgres_url)
    upgrade(engine)
    sessions = session_factory(engine)
    seed_channels(sessions, CHANNELS)
    with FakeSlack() as slack:
        epoch = time.time()
        first = start_clock(postgres_url, slack, "clock-a", epoch, 30)
        second = start_clock(postgres_url, slack, "clock-b", epoch, 30)
        # Kill whichever clock holds a digest whose headline is out but thread is not.
        victim = None
        while victim is None:
            for claim in claims(sessions).values():
                if claim.state == "claimed" and claim.message_ts and not claim.progress:
                    victim = claim
                    break
            assert first.poll() is None or second.poll() is None, "both clocks ended"
        killed = first if victim.claimed_by == "clock-a" else second
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(timeout=10)
        survivor = second if killed is first else first
        # A clock process started after the crash: it (or the survivor) takes over the
        # dead one's digest once its lease has expired.
        late = start_clock(postgres_url, slack, "clock-c", epoch, 30)
        for process in (survivor, late):
            process.wait(timeout=120)
            assert process.returncode == 0, process.stderr.read()

        states = {key: claim.state for key, claim in claims(sessions).items()}
        assert len(states) == CHANNELS and set(states.values()) == {"done"}
        # Taken over after the lease. On a loaded machine the simulated clock (40x real
        # time) can let the taker's own lease lapse too, so a third take is fair play:
        # what must hold is that each digest was posted exactly once (below).
        assert claims(sessions)[victim.key].attempts >= 2
        headlines = digests_by_key(slack)
        assert len(headlines) == CHANNELS
        assert all(len(messages) == 1 for messages in headlines.values())
        parts = parts_by_key(slack)
        assert len(parts) == CHANNELS
        assert all(len(messages) == 1 for messages in parts.values())
    engine.dispose()
