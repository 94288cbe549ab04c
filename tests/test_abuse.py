"""Abuse: junk never reaches bolt, replays are refused, and one user never delays another.

Everything goes through the bot's real HTTP endpoint with requests signed as Slack signs
them; the slow source is a test-only kind whose reads wait until the test lets them go.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from fake_slack import FakeSlack
from slack_helpers import (
    CHANNEL,
    OTHER,
    PO,
    SIGNING_SECRET,
    Bot,
    HTTPResult,
    seed_checkout,
    serving,
    signature_headers,
    token_config,
)
from sqlalchemy import Engine, func, select

from bot.app import commands
from bot.core.points import Reading
from bot.slack.pulls import MINUTE, PullLimits
from bot.storage.db import session_factory, transaction
from bot.storage.models import Initiative, Metric, Sample, SignedRequest
from bot.storage.signed_requests import KEPT_FOR, PURGE_EVERY, SignedRequests
from handlers.commands import MAX_TEXT, plan
from metrics.pulling import PullPolicy
from metrics.registry import SOURCES, register

pytest_plugins = ("slack_fixtures",)

FORM = "application/x-www-form-urlencoded"
NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


# ---------------------------------------------------------------------------- helpers

def post_bytes(bot: Bot, body: bytes, headers: dict[str, str]) -> HTTPResult:
    """POST raw bytes to the events endpoint (the helpers in slack_helpers send text)."""
    parts = urlsplit(bot.events_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    started = time.perf_counter()
    try:
        connection.request("POST", parts.path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read().decode("utf-8", errors="replace")
        return HTTPResult(response.status, data, dict(response.getheaders()),
                          time.perf_counter() - started)
    finally:
        connection.close()


def signed_bytes(body: bytes, secret: str = SIGNING_SECRET) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest.hexdigest()}"}


def command_form(bot: Bot, text: str, *, user: str = PO, response: str = "") -> str:
    """``/outcome <text>`` as Slack sends it, answering to the fake's ``/response/<name>``."""
    return urlencode({
        "team_id": bot.team, "channel_id": CHANNEL, "user_id": user, "command": "/outcome",
        "text": text, "api_app_id": "A0FAKE", "response_url": bot.slack.response_url(response),
        "trigger_id": f"trigger-{time.monotonic_ns()}"})


def send(bot: Bot, text: str, *, user: str = PO, response: str = "") -> HTTPResult:
    return bot.post(command_form(bot, text, user=user, response=response), FORM)


def responses_to(slack: FakeSlack, name: str) -> list[str]:
    return [payload.get("text", "") for path, payload in list(slack.responses) if path == name]


def samples(engine: Engine) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(Sample)) or 0


JSON = "application/json"
JUNK = [(b"\xff\xfe\x00not utf-8", FORM), (b"payload=%7Bnot-json", FORM),
        (b"payload=%5B1%5D", FORM), (b"[1, 2]", JSON), (b"{broken", JSON),
        (b"command=/outcome&text=" + b"x" * 5000, FORM)]


# ---------------------------------------------------------------------------- signatures

@pytest.mark.parametrize(("body", "content_type"), JUNK, ids=range(len(JUNK)))
def test_unsigned_junk_gets_401_and_one_log_line_without_a_traceback(
        bot: Bot, body: bytes, content_type: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    result = post_bytes(bot, body, {"Content-Type": content_type})

    assert result.status == 401
    assert result.body == "This endpoint answers requests signed by Slack only."
    refused = [r for r in caplog.records if r.name == "bot.web.guard"]
    assert len(refused) == 1 and "unsigned" in refused[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def _now_stamp() -> str:
    return str(int(time.time()))


# Built when the test runs: a timestamp taken at collection would be stale in a long run.
BADLY_SIGNED: dict[str, tuple[Callable[[], dict[str, str]], str]] = {
    "wrong-secret": (lambda: signature_headers("junk", secret="not-ours"),
                     "signature does not match"),
    "stale": (lambda: signature_headers("junk", timestamp=int(time.time()) - 6 * 60),
              "more than five minutes"),
    "bad-timestamp": (lambda: {"X-Slack-Request-Timestamp": "soon",
                               "X-Slack-Signature": "v0=00"}, "not a number"),
    "non-ascii-signature": (lambda: {"X-Slack-Request-Timestamp": _now_stamp(),
                                     "X-Slack-Signature": "v0=\xe9"},
                            "signature does not match"),
}


@pytest.mark.parametrize("case", BADLY_SIGNED)
def test_a_badly_signed_or_stale_request_gets_401_and_one_warning(
        bot: Bot, case: str, caplog: pytest.LogCaptureFixture) -> None:
    make_headers, why = BADLY_SIGNED[case]
    caplog.set_level(logging.INFO)

    result = post_bytes(bot, b"junk", {"Content-Type": FORM, **make_headers()})

    assert result.status == 401
    refused = [r for r in caplog.records if r.name == "bot.web.guard"]
    assert [r.levelno for r in refused] == [logging.WARNING]
    assert why in refused[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize(("body", "content_type"), JUNK[:5], ids=range(5))
def test_signed_but_malformed_bodies_get_400_without_a_traceback(
        bot: Bot, body: bytes, content_type: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    result = post_bytes(bot, body, {"Content-Type": content_type, **signed_bytes(body)})

    assert (result.status, result.body) == (400, "malformed body")
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


# ---------------------------------------------------------------------------- replays

def test_the_same_signed_record_sent_twice_stores_the_value_once(
        bot: Bot, slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    seed_checkout(bot, samples=False)
    body = command_form(bot, "record checkout.deploy-time 31", response="record")
    headers = {"Content-Type": FORM, **signature_headers(body)}

    first = bot.post(body, FORM, headers, sign=False)
    caplog.set_level(logging.INFO)
    again = bot.post(body, FORM, headers, sign=False)
    bot.runtime.drain()  # every piece of work either request handed on is done

    assert first.status == 200
    assert (again.status, again.body) == (200, "")
    assert samples(bot.engine) == 1
    assert len(responses_to(slack, "record")) == 1
    assert any("sent again" in r.getMessage() for r in caplog.records)


def test_a_signed_request_replayed_to_another_replica_is_not_acted_on(
        bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot, samples=False)
    body = command_form(bot, "record checkout.deploy-time 31", response="record")
    headers = {"Content-Type": FORM, **signature_headers(body)}

    with serving(slack, bot.engine, token_config(slack)) as replica:
        bot.post(body, FORM, headers, sign=False)
        again = replica.post(body, FORM, headers, sign=False)
    bot.runtime.drain()

    assert (again.status, again.body) == (200, "")
    assert samples(bot.engine) == 1


def test_a_signature_is_taken_once_whichever_replica_sees_it(engine: Engine) -> None:
    replica_a, replica_b = (SignedRequests(session_factory(engine)) for _ in range(2))

    assert replica_a.first_use("v0=aa", NOW)
    assert not replica_b.first_use("v0=aa", NOW + timedelta(seconds=2))
    assert not replica_a.first_use("v0=aa", NOW + timedelta(minutes=4))
    assert replica_b.first_use("v0=bb", NOW)


def test_old_signatures_are_dropped_at_most_once_a_minute(engine: Engine) -> None:
    sessions = session_factory(engine)
    seen = SignedRequests(sessions)
    seen.first_use("v0=old", NOW)
    later = NOW + KEPT_FOR + timedelta(seconds=1)

    seen.first_use("v0=new", later)  # the first call since NOW + PURGE_EVERY purges
    seen.first_use("v0=newer", later + PURGE_EVERY / 2)  # too soon to purge again

    with sessions() as session:
        kept = set(session.scalars(select(SignedRequest.signature)))
    assert kept == {"v0=new", "v0=newer"}


# ---------------------------------------------------------------------------- text cap

def test_a_09_mb_command_is_answered_at_once_without_being_parsed(bot: Bot) -> None:
    seed_checkout(bot, samples=False)
    text = "record checkout.deploy-time " + "9" * 900_000

    result = send(bot, text)
    bot.runtime.drain()

    assert result.status == 200
    assert result.seconds < 1.5, f"the ack took {result.seconds:.2f} s"
    assert (f"That command is {len(text):,} characters; the longest the bot reads is 4,000"
            in result.text)
    assert samples(bot.engine) == 0


def test_a_command_of_the_longest_length_is_still_read() -> None:
    longest = "help " + " " * (MAX_TEXT - 5)

    assert "characters; the longest" not in plan(longest).text
    assert "characters; the longest" in plan(longest + "x").text


# ---------------------------------------------------------------------------- pulls

class SlowSource:
    """A test-only source kind whose reads wait until the test opens the gate."""

    kind = "slowtest"
    gate = threading.Event()
    reading = threading.Semaphore(0)  # released once per read that started

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def read(self, at: datetime) -> list[Reading]:
        SlowSource.reading.release()
        SlowSource.gate.wait(30)
        return [Reading(at, 7.0)]


@pytest.fixture
def slow_source(bot: Bot) -> Iterator[type[SlowSource]]:
    """``checkout.slow``, a metric of the slow kind; the gate opens when the test ends."""
    SlowSource.gate.clear()
    SlowSource.reading = threading.Semaphore(0)
    register("slowtest")(SlowSource)
    seed_checkout(bot, samples=False)
    bot.slack.add_user(OTHER, "otto")
    with transaction(bot.runtime.sessions) as session:
        initiative = session.scalars(select(Initiative).where(
            Initiative.workspace == bot.team, Initiative.key == "checkout")).one()
        session.add(Metric(initiative_id=initiative.id, key="slow", name="Slow",
                           source_kind="slowtest", source_config={}))
    try:
        yield SlowSource
    finally:
        SlowSource.gate.set()
        bot.runtime.drain()
        del SOURCES["slowtest"]


def test_a_second_pull_while_the_first_runs_waits_its_turn_and_a_third_is_refused(
        bot: Bot, slack: FakeSlack, slow_source: type[SlowSource]) -> None:
    first = send(bot, "pull checkout.slow", response="first")
    assert slow_source.reading.acquire(timeout=10)

    second = send(bot, "pull checkout.slow", response="second")
    third = send(bot, "pull checkout.slow", response="third")
    slow_source.gate.set()
    slack.wait_for(lambda: responses_to(slack, "second"))
    fourth = send(bot, "pull checkout.slow", response="fourth")

    assert (first.status, first.body) == (200, "")
    assert (second.status, second.body) == (200, "")  # stored: it runs after the first
    assert third.status == 200 and "You already have a pull waiting" in third.text
    assert "Pulled 1 of 1 metric(s)" in slack.wait_for(lambda: responses_to(slack, "first"))[0]
    assert "Pulled" in responses_to(slack, "second")[0]
    assert fourth.text == ""  # nothing of theirs waits any more: taken
    slack.wait_for(lambda: responses_to(slack, "fourth"))


def test_a_pull_someone_waits_for_gives_up_on_a_silent_source_at_its_deadline(
        bot: Bot, slack: FakeSlack, slow_source: type[SlowSource], monkeypatch) -> None:
    monkeypatch.setattr(commands, "PULL_NOW", PullPolicy(retries=1, deadline=0.5))
    started = time.perf_counter()
    send(bot, "pull checkout.slow", response="pull")

    answer = slack.wait_for(lambda: responses_to(slack, "pull"), timeout=10)[0]

    assert time.perf_counter() - started < 5  # the gate stays shut: the deadline answered
    assert "did not finish within 0.5 s" in answer
    assert samples(bot.engine) == 0


def test_eight_slow_pulls_from_one_user_do_not_delay_another_users_list(
        bot: Bot, slack: FakeSlack, slow_source: type[SlowSource]) -> None:
    acks = [send(bot, "pull", response=f"pull-{n}") for n in range(8)]
    assert slow_source.reading.acquire(timeout=10)

    started = time.perf_counter()
    send(bot, "list", user=OTHER, response="list")
    answer = slack.wait_for(lambda: responses_to(slack, "list"), timeout=5)[0]
    elapsed = time.perf_counter() - started

    assert "checkout" in answer
    assert elapsed < 1.0, f"list answered after {elapsed:.2f} s"
    assert max(ack.seconds for ack in acks) < 1.0
    refused = [ack for ack in acks if "You already have a pull waiting" in ack.text]
    assert len(refused) == 6  # one runs, one waits its turn


def test_slow_pulls_of_many_users_fill_their_own_pool_not_everyone_elses(
        bot: Bot, slack: FakeSlack, slow_source: type[SlowSource]) -> None:
    for n in range(8):
        slack.add_user(f"UPULL{n}", f"puller{n}")
    acks = [send(bot, "pull", user=f"UPULL{n}", response=f"pull-{n}") for n in range(8)]
    for _ in range(2):  # both pull threads are stuck in the source
        assert slow_source.reading.acquire(timeout=10)

    started = time.perf_counter()
    send(bot, "list", user=OTHER, response="list")
    slack.wait_for(lambda: responses_to(slack, "list"), timeout=5)
    elapsed = time.perf_counter() - started
    slow_source.gate.set()

    assert elapsed < 1.0, f"list answered after {elapsed:.2f} s"
    assert [ack.text for ack in acks] == [""] * 8
    slack.wait_for(lambda: all(responses_to(slack, f"pull-{n}") for n in range(8)), 20)


def test_a_pull_that_takes_long_says_it_is_still_pulling_then_answers(
        bot: Bot, slack: FakeSlack, slow_source: type[SlowSource]) -> None:
    bot.runtime.pull_wait = 0.2

    send(bot, "pull checkout.slow", response="slow")
    slack.wait_for(lambda: responses_to(slack, "slow"))
    slow_source.gate.set()
    slack.wait_for(lambda: len(responses_to(slack, "slow")) == 2)
    answers = responses_to(slack, "slow")

    assert answers[0].startswith(":hourglass_flowing_sand: Still pulling after 0.2 s")
    assert "Pulled 1 of 1 metric(s)" in answers[1]


def test_a_person_gets_a_few_pulls_a_minute_and_is_told_when_to_try_again() -> None:
    now = [NOW]
    limits = PullLimits(lambda: now[0], per_minute=2)
    ana = ("T1", "UANA")
    for seconds in (0, 10):
        now[0] = NOW + timedelta(seconds=seconds)
        assert limits.refusal(ana) is None
        limits.started(ana)

    now[0] = NOW + timedelta(seconds=20)
    refusal = limits.refusal(ana)
    now[0] = NOW + MINUTE
    allowed_again = limits.refusal(ana)

    assert refusal == ("You started 2 pulls in the last minute, the most there can be; try "
                       "again in 40 s.")
    assert allowed_again is None
    assert limits.refusal(("T2", "UANA")) is None  # the same user id in another workspace


def test_a_pull_refused_for_waiting_does_not_count_against_the_minute(
        bot: Bot, slack: FakeSlack, slow_source: type[SlowSource]) -> None:
    bot.runtime.limits.per_minute = 3
    send(bot, "pull checkout.slow", response="first")
    assert slow_source.reading.acquire(timeout=10)
    send(bot, "pull checkout.slow", response="second")  # waits its turn
    refused = [send(bot, "pull checkout.slow", response=f"more-{n}") for n in range(3)]
    slow_source.gate.set()
    slack.wait_for(lambda: responses_to(slack, "second"))
    third = send(bot, "pull checkout.slow", response="third")

    assert all("already have a pull waiting" in ack.text for ack in refused)
    assert third.text == ""  # the three refused did not count: this is the third
    assert "3 pulls in the last minute" in send(bot, "pull checkout.slow").text
