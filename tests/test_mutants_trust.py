"""Who may act, which requests count as Slack's, and whose push tokens are whose.

Written against surviving mutants of ``bot/app/permissions.py``, ``bot/web/guard.py`` and
``bot/app/push_tokens.py``. Commands go through ``bot.app.commands.run`` with real actors
on a migrated SQLite copy; the request guard gets bodies signed as Slack signs them, on a
fixed clock so the five-minute window can be tried to the second.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.app.commands import run
from bot.app.context import Actor, Context, Reply
from bot.app.permissions import Action, allows
from bot.app.push import handle_push
from bot.app.push_tokens import LegacyToken, TokenOwner, authenticate
from bot.core.errors import ConfigError
from bot.slack.ack_priority import AckPriority
from bot.storage.db import make_engine, session_factory, transaction
from bot.storage.models import AuditEvent, Initiative, Sample
from bot.web.guard import REPLAYED, UNSIGNED, RequestGuard

pytest_plugins = ("slack_fixtures",)  # migrated_sqlite

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
SECRET = "a3c1f0e9d8b7a6c5d4e3f2a1b0c9d8e7"
CLIENT = "10.0.0.7"
OPERATOR = Actor("T1", "op", operator=True)
MEMBER = Actor("T1", "mia")
ADA = Actor("T1", "ada", admin=True)  # an admin of T1
TESS = Actor("T2", "tess", admin=True)  # an admin of T2
FLEET = (
    'define fleet "Fleet update" po=@ana eng=@ben channel=#C1 anchor=2026-11-16',
    'metric add fleet deploy "Deploy time" unit=min direction=down baseline=40 target=12 '
    "by=2027-03-31",
)
ONLY_ADMINS = ("Only a workspace admin (a Slack admin or owner, or someone the operator "
               "named in OUTCOME_ADMINS) can ")
TOKEN = re.compile(r"otp_[A-Za-z0-9_-]{43}")


@pytest.fixture
def sessions(copied_sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    return copied_sessions


def say(sessions: sessionmaker[Session], actor: Actor, text: str,
        now: datetime = NOW) -> Reply:
    return run(text, Context(actor, sessions, now=lambda: now))


def ok(sessions: sessionmaker[Session], actor: Actor, *texts: str) -> list[Reply]:
    replies = [say(sessions, actor, text) for text in texts]
    for text, reply in zip(texts, replies, strict=True):
        assert not reply.error, f"{text}: {reply.text}"
    return replies


def refused(sessions: sessionmaker[Session], actor: Actor, text: str) -> str:
    reply = say(sessions, actor, text)
    assert reply.error, reply.text
    return reply.text


# ---------------------------------------------------------------------------- permissions

def test_an_admin_only_refusal_ends_with_its_hint_or_with_nothing(
        sessions: sessionmaker[Session]) -> None:
    ok(sessions, OPERATOR, *FLEET)

    assert refused(sessions, MEMBER, "metric add fleet deploy source=demo "
                   "source-config='{\"seed\": \"f\"}'") == (
        f"{ONLY_ADMINS}give metric fleet.deploy a pulled source (demo). An owner can use "
        "source=manual (record values) or source=push (a pipeline pushes them).")
    assert refused(sessions, MEMBER, "push-token list") == f"{ONLY_ADMINS}manage push tokens."


def test_until_both_owners_are_named_a_refusal_names_the_engineering_owner_as_such(
        sessions: sessionmaker[Session]) -> None:
    ok(sessions, Actor("T1", "carl"), 'define solo "Solo" eng=@ben')

    assert refused(sessions, MEMBER, 'define solo why="Mine"') == (
        "Until both owners of solo are named, only its creator carl and its engineering "
        "owner ben or a workspace admin can change its criteria.")


def test_signing_as_engineering_for_ben_names_ben_not_the_product_owner(
        sessions: sessionmaker[Session]) -> None:
    ok(sessions, OPERATOR, *FLEET)

    assert refused(sessions, Actor("T1", "ana"), "agree fleet as=engineering") == (
        "Only the engineering owner of fleet (ben) can sign as engineering.")


def test_allows_signing_only_for_an_owner_never_for_an_admin_or_the_operator(
        sessions: sessionmaker[Session]) -> None:
    ok(sessions, OPERATOR, *FLEET)
    with sessions() as session:
        fleet = session.scalar(select(Initiative).where(Initiative.key == "fleet"))
        assert fleet is not None

        who = {actor.user: allows(actor, Action.SIGN, fleet)
               for actor in (Actor("T1", "ana"), Actor("T1", "ben"), MEMBER, ADA, OPERATOR)}

    assert who == {"ana": True, "ben": True, "mia": False, "ada": False, "op": False}


# ---------------------------------------------------------------------------- request guard

def signed(body: bytes, at: datetime, secret: str = SECRET) -> tuple[str, str]:
    """(timestamp, signature) as Slack would send them for ``body`` at ``at``."""
    stamp = str(int(at.timestamp()))
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return stamp, f"v0={digest.hexdigest()}"


def guard_messages(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "bot.web.guard"]


def test_a_blank_signing_secret_is_refused_saying_where_to_find_it(
        sessions: sessionmaker[Session]) -> None:
    with pytest.raises(ConfigError) as error:
        RequestGuard("  ", sessions, lambda: NOW)

    assert error.value.message == (
        "SLACK_SIGNING_SECRET is not set: the HTTP endpoint needs it to tell Slack's "
        "requests from anyone else's (copy it from your Slack app's Basic Information page).")


@pytest.mark.parametrize("offset", [-300, 300, 0], ids=["300s-old", "300s-ahead", "now"])
def test_a_signature_up_to_five_minutes_off_the_guards_clock_is_accepted(
        sessions: sessionmaker[Session], offset: int) -> None:
    guard = RequestGuard(SECRET, sessions, lambda: NOW)  # days away from the real time
    body = b"command=/outcome&text=help"

    assert guard.unsigned(body, *signed(body, NOW + timedelta(seconds=offset)), CLIENT) is None


@pytest.mark.parametrize("offset", [-301, 301])
def test_a_signature_301_seconds_off_is_refused(
        sessions: sessionmaker[Session], offset: int, caplog: pytest.LogCaptureFixture) -> None:
    guard = RequestGuard(SECRET, sessions, lambda: NOW)
    body = b"command=/outcome&text=help"
    caplog.set_level(logging.INFO)

    refusal = guard.unsigned(body, *signed(body, NOW + timedelta(seconds=offset)), CLIENT)

    assert refusal is UNSIGNED
    assert guard_messages(caplog) == [(
        logging.WARNING, f"refused a request to the Slack endpoint from {CLIENT}: its "
        "timestamp is more than five minutes off (a replay, or a clock is wrong)")]


HALF_SIGNED: dict[str, Callable[[str, str], tuple[str | None, str | None]]] = {
    "timestamp-only": lambda stamp, sig: (stamp, None),
    "signature-only": lambda stamp, sig: (None, sig),
    "empty-signature": lambda stamp, sig: (stamp, ""),
}


@pytest.mark.parametrize("case", HALF_SIGNED)
def test_a_request_with_only_one_of_the_two_headers_is_unsigned(
        sessions: sessionmaker[Session], case: str, caplog: pytest.LogCaptureFixture) -> None:
    guard = RequestGuard(SECRET, sessions, lambda: NOW)
    body = b"command=/outcome&text=help"
    stamp, sig = HALF_SIGNED[case](*signed(body, NOW))
    caplog.set_level(logging.INFO)

    assert guard.unsigned(body, stamp, sig, CLIENT) is UNSIGNED
    assert guard_messages(caplog) == [
        (logging.INFO, f"refused an unsigned request to the Slack endpoint from {CLIENT}")]


BAD: dict[str, tuple[Callable[[bytes], tuple[str, str]], str]] = {
    "not-a-number": (lambda body: ("soon", signed(body, NOW)[1]),
                     "its timestamp is not a number"),
    "wrong-secret": (lambda body: signed(body, NOW, secret="another-apps-secret"),
                     "its signature does not match (another app's request, or a wrong "
                     "SLACK_SIGNING_SECRET)"),
}


@pytest.mark.parametrize("case", BAD)
def test_a_refused_signature_is_logged_once_with_the_client_and_the_whole_reason(
        sessions: sessionmaker[Session], case: str, caplog: pytest.LogCaptureFixture) -> None:
    guard = RequestGuard(SECRET, sessions, lambda: NOW)
    body = b"command=/outcome&text=help"
    make, why = BAD[case]
    caplog.set_level(logging.INFO)

    assert guard.unsigned(body, *make(body), CLIENT) is UNSIGNED
    assert guard_messages(caplog) == [
        (logging.WARNING, f"refused a request to the Slack endpoint from {CLIENT}: {why}")]


class CountingPriority(AckPriority):
    """An AckPriority that keeps what each piece of work it counted returned."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[Any] = []

    def middleware(self, next_: Callable[[], Any]) -> Any:
        answer = super().middleware(next_)
        self.answers.append(answer)
        return answer


def test_the_replay_check_counts_as_an_ack_and_a_replay_is_logged_with_its_client(
        sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture) -> None:
    priority = CountingPriority()
    guard = RequestGuard(SECRET, sessions, lambda: NOW, priority)
    _, sig = signed(b"command=/outcome&text=help", NOW)
    caplog.set_level(logging.INFO)

    assert guard.replayed(sig, CLIENT) is None
    assert guard.replayed(sig, CLIENT) is REPLAYED

    assert priority.answers == [True, False]  # first use, then seen before
    assert guard_messages(caplog) == [
        (logging.INFO, f"a signed request from {CLIENT} was sent again; not acted on twice")]


def test_without_the_replay_table_the_warning_names_the_client_and_the_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    unmigrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        guard = RequestGuard(SECRET, session_factory(unmigrated), lambda: NOW)
        caplog.set_level(logging.INFO)

        assert guard.replayed(signed(b"x", NOW)[1], CLIENT) is None
    finally:
        unmigrated.dispose()

    assert guard_messages(caplog) == [
        (logging.WARNING, f"could not check a signed request from {CLIENT} for a replay: "
                          "OperationalError")]


# ---------------------------------------------------------------------------- push tokens

def create(sessions: sessionmaker[Session], actor: Actor, name: str) -> str:
    (reply,) = ok(sessions, actor, f"push-token create {name}")
    match = TOKEN.search(reply.text)
    assert match is not None, reply.text
    return match[0]


def owner_of(sessions: sessionmaker[Session], token: str, now: datetime = NOW
             ) -> TokenOwner | None:
    with transaction(sessions) as session:
        return authenticate(session, token, now=now)


def test_the_same_name_in_two_workspaces_is_two_tokens_each_revoked_apart(
        sessions: sessionmaker[Session]) -> None:
    ours = create(sessions, ADA, "ci")
    theirs = create(sessions, TESS, "ci")

    assert say(sessions, TESS, "push-token list").text.count("• ") == 1
    ok(sessions, TESS, "push-token revoke ci")
    assert refused(sessions, TESS, "push-token revoke ci") == (
        "There is no push token named ci in this workspace; `push-token list` shows them.")

    assert owner_of(sessions, ours) == TokenOwner("T1", "ci")
    assert owner_of(sessions, theirs) == TokenOwner("T2", "ci", revoked=True)


def test_a_name_is_taken_once_until_revoked_and_other_names_stay_free(
        sessions: sessionmaker[Session]) -> None:
    first = create(sessions, ADA, "ci")
    nightly = create(sessions, ADA, "nightly")

    assert refused(sessions, ADA, "push-token create ci") == (
        "There is already a push token named ci: revoke it first, or choose another name.")

    (revoked,) = ok(sessions, ADA, "push-token revoke nightly")
    assert revoked.text == (f"Revoked push token nightly ({nightly[:8]}…): pushes with it "
                            "are refused from now on.")
    create(sessions, ADA, "nightly")  # the name is free again
    assert owner_of(sessions, first) == TokenOwner("T1", "ci")


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The host's local time is UTC+5:30 (a POSIX TZ string: no zone database needed)."""
    monkeypatch.setenv("TZ", "IST-5:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("far_from_utc")
def test_the_list_is_sorted_by_name_in_utc_without_revoked_or_other_workspaces_tokens(
        sessions: sessionmaker[Session]) -> None:
    assert say(sessions, ADA, "push-token list").text == (
        "No push tokens in this workspace. Create one with /outcome push-token create "
        "<name>.")
    zeta = create(sessions, ADA, "zeta")
    alpha = create(sessions, ADA, "alpha")
    create(sessions, ADA, "gone")
    ok(sessions, ADA, "push-token revoke gone")
    create(sessions, TESS, "beta")
    assert owner_of(sessions, zeta, NOW + timedelta(hours=1, minutes=5)) is not None

    assert say(sessions, ADA, "push-token list").text == (
        "Push tokens (each shown only when it was created):\n"
        f"• alpha ({alpha[:8]}…): created by ada on 2026-11-29 12:00 UTC, last used never\n"
        f"• zeta ({zeta[:8]}…): created by ada on 2026-11-29 12:00 UTC, last used "
        "2026-11-29 13:05 UTC")


def test_creating_and_revoking_a_token_are_audited_at_the_commands_time(
        sessions: sessionmaker[Session]) -> None:
    token = create(sessions, ADA, "ci")
    later = NOW + timedelta(minutes=7)
    assert not say(sessions, ADA, "push-token revoke ci", now=later).error

    with sessions() as session:
        events = [(e.workspace, e.actor, e.action, e.before, e.after, e.at)
                  for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    hint = {"name": "ci", "hint": token[:8]}
    assert events == [("T1", "ada", "push-token created", None, hint, NOW),
                      ("T1", "ada", "push-token revoked", hint, None, later)]


def test_a_push_with_the_legacy_token_is_recorded_as_by_outcome_push_token(
        sessions: sessionmaker[Session]) -> None:
    ok(sessions, OPERATOR, *FLEET)
    legacy = LegacyToken("legacy-push-token-7f3a", "T1")

    status, answer = handle_push(
        sessions, workspace=None, authorization=f"Bearer {legacy.token}",
        body=json.dumps({"metric": "fleet.deploy", "value": 14.5}).encode(), now=NOW,
        legacy=legacy)

    assert (status, answer) == (200, {"ok": True, "stored": 1, "duplicates": 0, "shipped": 0})
    with sessions() as session:
        assert list(session.scalars(select(Sample.recorded_by))) == [
            "push:OUTCOME_PUSH_TOKEN"]
