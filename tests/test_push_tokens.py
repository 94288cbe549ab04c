"""Push tokens per workspace: an admin creates one in Slack and sees it once; the bot keeps
its hash; a push finds its workspace from the token. Through the bot's real HTTP endpoints
(signed Slack commands, ``POST /api/v1/push``) and ``outcome push``."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

import pytest
from fake_slack import TEAM, FakeSlack
from slack_helpers import ENG, Bot, HTTPResult, http_request, seed_checkout
from sqlalchemy import func, select

from bot.app.commands import run
from bot.cli.sources import push_main
from bot.core.settings import Settings, load_settings
from bot.processes import push_handler
from bot.storage.models import AuditEvent, Initiative, Metric, PushToken, Sample
from bot.wiring import command_context
from metrics.push import PUSH_PATH

pytest_plugins = ("slack_fixtures",)  # the bot and fake Slack fixtures

ADMIN = "UADMIN"
SECOND = "T2"
LEGACY = "legacy-push-token-7f3a"
TOKEN = re.compile(r"otp_[A-Za-z0-9_-]{43}")


def _settings(tmp_path: Path, **environ: str) -> Settings:
    return load_settings({"XDG_DATA_HOME": str(tmp_path), "OUTCOME_WORKSPACE": TEAM,
                          **environ})


@pytest.fixture
def pushing(bot: Bot, slack: FakeSlack, tmp_path: Path) -> Bot:
    """The bot with its push endpoint, ``checkout`` in T1 and in T2, and one admin in T1."""
    slack.add_user(ADMIN, "ada")
    slack.users[ADMIN]["is_admin"] = True
    bot.server.push = push_handler(_settings(tmp_path), bot.runtime.sessions)
    seed_checkout(bot, samples=False)
    seed_checkout(bot, samples=False, team=SECOND)
    return bot


def _reply(bot: Bot, slack: FakeSlack, text: str, *, user: str = ADMIN) -> dict:
    before = len(slack.responses)
    assert bot.command(text, user=user).status == 200
    return slack.wait_for_response(before + 1)[before][1]


def _create(bot: Bot, slack: FakeSlack, name: str = "ci-pipeline") -> str:
    reply = _reply(bot, slack, f"push-token create {name}")
    match = TOKEN.search(reply["text"])
    assert match is not None, reply["text"]
    return match[0]


def _push(bot: Bot, token: str, body: object, query: str = "") -> HTTPResult:
    return http_request(f"{bot.server.url}{PUSH_PATH}{query}", "POST", json.dumps(body),
                        {"Authorization": f"Bearer {token}",
                         "Content-Type": "application/json"})


def _values(bot: Bot, workspace: str) -> list[float]:
    with bot.runtime.sessions() as session:
        return list(session.scalars(
            select(Sample.value).join(Metric, Sample.metric_id == Metric.id)
            .join(Initiative, Metric.initiative_id == Initiative.id)
            .where(Initiative.workspace == workspace, Metric.key == "deploy-time")))


DEPLOY = {"metric": "checkout.deploy-time", "value": 9.5}


def test_an_admin_creates_a_token_shown_once_with_how_to_push(pushing: Bot,
                                                              slack: FakeSlack) -> None:
    reply = _reply(pushing, slack, "push-token create ci-pipeline")

    assert reply["response_type"] == "ephemeral"
    token = TOKEN.search(reply["text"])[0]
    assert "shown only this once" in reply["text"]
    assert f'curl -X POST "$OUTCOME_URL{PUSH_PATH}"' in reply["text"]
    assert f"Authorization: Bearer {token}" in reply["text"]
    assert "/outcome push-token revoke ci-pipeline" in reply["text"]
    with pushing.runtime.sessions() as session:
        row = session.scalar(select(PushToken))
    assert (row.workspace, row.name, row.created_by) == (TEAM, "ci-pipeline", ADMIN)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token.startswith(row.hint) and len(row.hint) < 12


def test_the_database_keeps_only_the_tokens_hash(pushing: Bot, slack: FakeSlack) -> None:
    token = _create(pushing, slack)
    assert _push(pushing, token, DEPLOY).status == 200

    pushing.runtime.drain()
    pushing.engine.dispose()  # checkpoint SQLite's write-ahead log into the file
    database = Path(pushing.engine.url.database or "")
    stored = b"".join(path.read_bytes() for path in database.parent.glob(f"{database.name}*"))
    assert token.encode() not in stored
    assert hashlib.sha256(token.encode()).hexdigest().encode() in stored


def test_a_member_may_not_create_list_or_revoke_tokens(pushing: Bot, slack: FakeSlack) -> None:
    for text in ("push-token create mine", "push-token list", "push-token revoke mine"):
        reply = _reply(pushing, slack, text, user=ENG)

        assert reply["text"].startswith("Only a workspace admin"), reply["text"]
    with pushing.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PushToken)) == 0


def test_list_shows_names_hints_and_last_use_never_the_token(pushing: Bot,
                                                            slack: FakeSlack) -> None:
    token = _create(pushing, slack)
    unused = _reply(pushing, slack, "push-token list")["text"]
    _push(pushing, token, DEPLOY)

    used = _reply(pushing, slack, "push-token list")["text"]

    assert f"ci-pipeline ({token[:8]}…): created by {ADMIN}" in unused
    assert "last used never" in unused
    assert "last used never" not in used and "last used 20" in used
    assert TOKEN.search(unused) is None and TOKEN.search(used) is None


def test_a_push_with_a_workspaces_token_writes_into_that_workspace_only(
        pushing: Bot, slack: FakeSlack) -> None:
    token = _create(pushing, slack)

    result = _push(pushing, token, DEPLOY)

    assert (result.status, result.json()) == (200, {"ok": True, "stored": 1,
                                                    "duplicates": 0, "shipped": 0})
    assert (_values(pushing, TEAM), _values(pushing, SECOND)) == ([9.5], [])


def test_the_cli_creates_a_token_for_its_workspace_and_it_writes_there(
        pushing: Bot, tmp_path: Path) -> None:
    cli = command_context(_settings(tmp_path), pushing.runtime.sessions, SECOND)

    reply = run("push-token create nightly", cli)
    token = TOKEN.search(reply.text)[0]

    assert _push(pushing, token, DEPLOY).status == 200
    assert (_values(pushing, TEAM), _values(pushing, SECOND)) == ([], [9.5])


def test_a_push_naming_another_workspace_than_its_tokens_is_refused_403(
        pushing: Bot, slack: FakeSlack) -> None:
    token = _create(pushing, slack)

    refused = _push(pushing, token, DEPLOY, f"?workspace={SECOND}")
    same = _push(pushing, token, DEPLOY, f"?workspace={TEAM}")

    assert refused.status == 403
    assert refused.json()["error"].startswith(
        f"This push token belongs to workspace {TEAM}, not {SECOND}")
    assert same.status == 200
    assert (_values(pushing, TEAM), _values(pushing, SECOND)) == ([9.5], [])


def test_a_revoked_token_is_refused_401(pushing: Bot, slack: FakeSlack) -> None:
    token = _create(pushing, slack)

    reply = _reply(pushing, slack, "push-token revoke ci-pipeline")
    result = _push(pushing, token, DEPLOY)

    assert reply["text"].startswith("Revoked push token ci-pipeline")
    assert result.status == 401 and "was revoked (ci-pipeline)" in result.json()["error"]
    assert _values(pushing, TEAM) == []
    with pushing.runtime.sessions() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("push-token%")).order_by(AuditEvent.id)))
    assert actions == ["push-token created", "push-token revoked"]


@pytest.mark.parametrize("authorization", [None, "Bearer ", "Basic abc",
                                           "Bearer otp_never-issued"])
def test_a_push_without_a_valid_token_is_refused_401(pushing: Bot,
                                                     authorization: str | None) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization

    result = http_request(f"{pushing.server.url}{PUSH_PATH}", "POST", json.dumps(DEPLOY),
                          headers)

    assert result.status == 401 and "push-token create" in result.json()["error"]
    assert _values(pushing, TEAM) == []


def test_the_legacy_token_pushes_into_outcome_workspace_only(
        pushing: Bot, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.processes"):
        pushing.server.push = push_handler(_settings(tmp_path, OUTCOME_PUSH_TOKEN=LEGACY),
                                           pushing.runtime.sessions)

    stored = _push(pushing, LEGACY, DEPLOY)
    elsewhere = _push(pushing, LEGACY, DEPLOY, f"?workspace={SECOND}")

    assert stored.status == 200 and elsewhere.status == 403
    assert (_values(pushing, TEAM), _values(pushing, SECOND)) == ([9.5], [])
    assert any("OUTCOME_PUSH_TOKEN is deprecated" in r.getMessage() for r in caplog.records)
    assert all(LEGACY not in r.getMessage() for r in caplog.records)


def test_outcome_push_sends_with_a_workspace_token(pushing: Bot, slack: FakeSlack,
                                                   tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]
                                                   ) -> None:
    token = _create(pushing, slack)
    client = _settings(tmp_path, OUTCOME_PUSH_TOKEN=token)

    code = push_main(["checkout.deploy-time", "11", "--url", pushing.server.url], client)

    assert code == 0, capsys.readouterr()
    assert _values(pushing, TEAM) == [11.0]


def test_push_token_commands_are_checked_before_anything_runs(pushing: Bot,
                                                             slack: FakeSlack) -> None:
    result = pushing.command("push-token create", user=ADMIN)

    assert "Missing the token's name." in result.text
    assert "Usage: `/outcome push-token create" in result.text
    with pushing.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PushToken)) == 0
