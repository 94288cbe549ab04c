"""Scheduled digests through the real Slack poster to the fake Slack: posted once, with the
chart in the thread, through 429s, 5xx, timeouts and failed uploads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from digest_setup import (
    FIRE,
    digests_by_key,
    parts_by_key,
    seed_channels,
    slack_poster,
    slack_runner,
)
from fake_slack import FakeSlack

from bot.storage.claims import claim_state
from bot.storage.db import make_engine, session_factory, upgrade


def migrated(url: str):
    engine = make_engine(url)
    upgrade(engine)
    return engine


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def sessions(engine):
    return session_factory(engine)


def test_a_scheduled_digest_reaches_its_channel_once_with_the_chart_in_the_thread(
        sessions, slack):
    (channel,) = seed_channels(sessions, 1)
    runner = slack_runner(sessions, slack_poster(slack.api_url, pace=0.0), "clock-1")

    assert runner.tick(FIRE).posted == ["digest:1:sprint:2026-11-16"]
    assert runner.tick(FIRE + timedelta(minutes=1)).posted == []

    (headline,) = digests_by_key(slack)["digest:1:sprint:2026-11-16"]
    assert headline.channel == channel and headline.thread_ts is None
    thread = slack.thread(channel, headline.ts)
    chart, numbers = thread
    assert chart.files and chart.files[0]["name"] == "team-000.png"
    assert numbers.metadata["event_payload"]["part"] == "team-000"
    assert "→" in str(numbers.blocks)
    assert claim_state(sessions, "digest:1:sprint:2026-11-16").message_ts == headline.ts


@pytest.mark.parametrize("failure", [
    {"count": 2, "status": 429, "retry_after": 1},
    {"count": 3, "status": 503},
    {"count": 6, "status": 500, "method": "files.completeUploadExternal"},
    {"count": 4, "status": 503, "method": "chat.postMessage"},
], ids=["429-retry-after", "5xx", "upload-fails", "post-fails-beyond-retries"])
def test_slack_failures_while_posting_end_in_exactly_one_complete_digest(
        sessions, slack, failure):
    (channel,) = seed_channels(sessions, 1)
    runner = slack_runner(sessions, slack_poster(slack.api_url, pace=0.0), "clock-1")
    options = dict(failure)  # the same parameters serve both database backends
    slack.fail_next(options.pop("count"), options.pop("status"), **options)

    now = FIRE
    for _ in range(5):  # the clock keeps ticking; a failed digest is retried after 2 min
        runner.tick(now)
        if claim_state(sessions, "digest:1:sprint:2026-11-16").state == "done":
            break
        now += timedelta(minutes=3)

    assert claim_state(sessions, "digest:1:sprint:2026-11-16").state == "done"
    assert len(digests_by_key(slack)["digest:1:sprint:2026-11-16"]) == 1
    assert len(parts_by_key(slack)[("digest:1:sprint:2026-11-16", "team-000")]) == 1
    headline = digests_by_key(slack)["digest:1:sprint:2026-11-16"][0]
    assert any(m.files for m in slack.thread(channel, headline.ts))


def test_fifty_digests_under_random_slack_faults_are_each_posted_exactly_once(sqlite_url,
                                                                                slack):
    sessions = session_factory(migrated(sqlite_url))
    seed_channels(sessions, 50)
    # 10% 5xx, 5% 429 with Retry-After, 3% responses held back past the client's timeout.
    slack.chaos(server_errors=0.10, rate_limits=0.05, stalls=0.03, stall_seconds=0.8,
                seed=7)
    runner = slack_runner(sessions, slack_poster(slack.api_url, timeout=0.5, pace=0.0),
                          "clock-1")
    now = FIRE
    for _ in range(12):
        runner.tick(now)
        states = {claim_state(sessions, f"digest:{n}:sprint:2026-11-16").state
                  for n in range(1, 51)}
        if states == {"done"}:
            break
        now += timedelta(minutes=3)

    assert states == {"done"}
    headlines = digests_by_key(slack)
    assert len(headlines) == 50
    assert all(len(messages) == 1 for messages in headlines.values())
    parts = parts_by_key(slack)
    assert len(parts) == 50
    assert all(len(messages) == 1 for messages in parts.values())
    assert any(call.status != 200 for call in slack.calls)  # the faults did happen
