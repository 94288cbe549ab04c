"""Every request acts in the workspace bolt authorised, never in one the body names: through
the bot's real HTTP endpoint with signed requests, with a bot token and with two workspaces
installed through OAuth."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fake_slack import TEAM, FakeSlack
from oauth_helpers import install, oauth_config
from slack_helpers import CHANNEL, PO, Bot, migrated_engine, seed_checkout, serving
from sqlalchemy import func, select

from bot.slack.posting import DISCUSSED_ACTION
from bot.storage.models import AuditEvent, Initiative
from handlers.modals import define_view
from handlers.tenancy import OTHER_WORKSPACE

pytest_plugins = ("slack_fixtures",)  # the bot and fake Slack fixtures

OTHER = "T0OTHER"


def _initiatives(bot: Bot) -> list[tuple[str, str]]:
    with bot.runtime.sessions() as session:
        return [(row.workspace, row.key) for row in session.execute(
            select(Initiative.workspace, Initiative.key))]


def _settled(bot: Bot) -> None:
    """Let every piece of work handed on after the acks finish (nothing more is sent)."""
    bot.runtime.drain()


def _define_submission(bot: Bot, *, team: str, installed: str | None) -> dict[str, Any]:
    view = {**define_view(bot.runtime, CHANNEL), "id": "V1", "team_id": team}
    if installed is not None:
        view["app_installed_team_id"] = installed
    values = {"key": {"type": "plain_text_input", "value": "checkout"},
              "name": {"type": "plain_text_input", "value": "Faster checkout"}}
    return {
        "type": "view_submission", "team": {"id": team, "domain": "acme"},
        "user": {"id": PO, "team_id": team}, "api_app_id": "A0FAKE",
        "trigger_id": f"trigger-{time.monotonic_ns()}",
        "view": {**view, "state": {"values": {
            block: {"value": state} for block, state in values.items()}}},
    }


def _mention(bot: Bot, text: str, *, envelope_team: str, installation: str,
             ts: str = "1699999999.000100") -> None:
    envelope = {
        "token": "legacy", "team_id": envelope_team, "api_app_id": "A0FAKE",
        "type": "event_callback", "event_id": f"Ev{time.monotonic_ns()}",
        "event_time": int(time.time()), "is_ext_shared_channel": envelope_team != installation,
        "event": {"type": "app_mention", "user": "UGUEST", "user_team": envelope_team,
                  "team": envelope_team, "channel": CHANNEL, "ts": ts,
                  "text": f"<@UBOT{installation}> {text}"},
        "authorizations": [{"team_id": installation, "user_id": f"UBOT{installation}",
                            "is_bot": True, "is_enterprise_install": False}],
    }
    assert bot.post(json.dumps(envelope), "application/json").status == 200


# ---------------------------------------------------------------------------- one bot token

def test_a_command_naming_another_workspace_is_refused_and_nothing_is_stored(
        bot: Bot, slack: FakeSlack) -> None:
    result = bot.command('define checkout "Faster checkout"', team=OTHER)

    assert result.status == 200
    assert result.json() == {"response_type": "ephemeral", "text": OTHER_WORKSPACE}
    _settled(bot)
    assert _initiatives(bot) == []
    assert slack.responses == []


def test_the_same_command_from_the_installed_workspace_is_stored_there(
        bot: Bot, slack: FakeSlack) -> None:
    bot.command('define checkout "Faster checkout"', team=TEAM)

    assert slack.wait_for_response(1)[0][1]["text"].startswith("Defined checkout")
    assert _initiatives(bot) == [(TEAM, "checkout")]


def test_a_button_naming_another_workspace_gets_an_ephemeral_refusal_and_records_nothing(
        bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot)

    result = bot.click({"action_id": DISCUSSED_ACTION, "type": "button",
                        "value": json.dumps({"i": "checkout", "p": "this sprint"})},
                       message={"ts": "1700000000.000001", "text": "Review", "blocks": []},
                       team=OTHER)

    assert result.status == 200
    reply = slack.wait_for_response(1)[0][1]
    assert (reply["text"], reply["response_type"]) == (OTHER_WORKSPACE, "ephemeral")
    _settled(bot)
    with bot.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "discussed")) == 0
    assert slack.calls_to("chat.update") == []


def test_a_modal_whose_installation_is_another_workspace_is_refused_in_the_modal(
        bot: Bot, slack: FakeSlack) -> None:
    result = bot.interaction(_define_submission(bot, team=TEAM, installed=OTHER))

    answer = result.json()
    assert answer["response_action"] == "update"
    assert answer["view"]["blocks"][0]["text"]["text"] == OTHER_WORKSPACE
    _settled(bot)
    assert _initiatives(bot) == []


def test_a_modal_opened_through_a_slack_connect_channel_acts_in_the_installed_workspace(
        bot: Bot, slack: FakeSlack) -> None:
    # Slack Connect: the modal was opened in the partner's workspace (team.id), for the
    # installation in ours (app_installed_team_id): not a mismatch.
    result = bot.interaction(_define_submission(bot, team=OTHER, installed=TEAM))

    assert result.status == 200 and result.body == ""
    assert _initiatives(bot) == [(TEAM, "checkout")]


def test_an_event_for_another_installation_is_dropped_with_a_log_line(
        bot: Bot, slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    seed_checkout(bot)

    with caplog.at_level(logging.WARNING, logger="handlers.tenancy"):
        _mention(bot, "how is checkout doing?", envelope_team=OTHER, installation=OTHER)
        _settled(bot)

    assert slack.calls_to("chat.postMessage") == []
    assert any(OTHER in record.getMessage() and "refused" in record.getMessage()
               for record in caplog.records)


def test_a_mention_in_a_shared_channel_is_answered_from_the_installed_workspace(
        bot: Bot, slack: FakeSlack) -> None:
    # The event happened in the partner's workspace (the envelope's team_id, the user's
    # team) and was delivered to our installation (authorizations): it is ours to answer.
    seed_checkout(bot)

    _mention(bot, "how is checkout doing?", envelope_team=OTHER, installation=TEAM)

    answer = slack.wait_for(lambda: slack.thread(CHANNEL, "1699999999.000100"))[0]
    assert "Faster checkout" in answer.text


# ---------------------------------------------------------------------------- OAuth

@pytest.fixture
def two_workspaces(slack: FakeSlack, database_url: str) -> Iterator[Bot]:
    """Workspaces T1 and T2 installed through OAuth; T1 has the initiative ``checkout``."""
    engine = migrated_engine(database_url)
    try:
        with serving(slack, engine, oauth_config(slack)) as running:
            install(running, slack, "T1", "xoxb-fake-T1")
            install(running, slack, "T2", "xoxb-fake-T2")
            seed_checkout(running, team="T1")
            yield running
    finally:
        engine.dispose()


def test_each_installed_workspace_sees_only_its_own_initiatives(
        two_workspaces: Bot, slack: FakeSlack) -> None:
    two_workspaces.command("list", team="T2")
    two_workspaces.command("show checkout", team="T1")

    replies = {payload["text"].split("\n")[0] for _, payload in slack.wait_for_response(2)}
    assert any(line.startswith("No initiatives yet") for line in replies)
    assert any(line.startswith("Faster checkout (checkout)") for line in replies)


def test_an_event_delivered_to_the_second_workspace_is_answered_with_its_rows_and_token(
        two_workspaces: Bot, slack: FakeSlack) -> None:
    # The envelope's team_id says T1 while the installation is T2: the answer is T2's,
    # with T2's token, and says nothing of T1's initiative.
    _mention(two_workspaces, "how is checkout doing?", envelope_team="T1", installation="T2")

    answer = slack.wait_for(lambda: slack.ok_calls_to("chat.postMessage"))[0]
    assert answer.token == "xoxb-fake-T2"
    assert "Faster checkout" not in answer.args["text"]
    assert "checkout" in answer.args["text"]  # "There is no initiative checkout ..."


def test_a_modal_opened_in_one_workspace_for_the_others_installation_stays_in_that_one(
        two_workspaces: Bot, slack: FakeSlack) -> None:
    # Opened in T1 (team.id) through a channel shared with T2, for T2's installation: bolt
    # authorises T2, and T2 is where it is stored; T1's initiative is untouched.
    result = two_workspaces.interaction(
        _define_submission(two_workspaces, team="T1", installed="T2"))

    assert result.status == 200 and result.body == ""
    assert sorted(_initiatives(two_workspaces)) == [("T1", "checkout"), ("T2", "checkout")]
    with two_workspaces.runtime.sessions() as session:
        why = {row.workspace: row.why for row in session.execute(
            select(Initiative.workspace, Initiative.why))}
    assert why["T1"] == "More completed orders" and not why["T2"]


def test_a_button_whose_payload_names_two_installed_workspaces_is_refused(
        two_workspaces: Bot, slack: FakeSlack) -> None:
    result = two_workspaces.interaction({
        "type": "block_actions", "team": {"id": "T2"}, "user": {"id": PO, "team_id": "T2"},
        "authorizations": [{"team_id": "T1", "is_bot": True}], "api_app_id": "A0FAKE",
        "channel": {"id": CHANNEL}, "container": {"type": "message"},
        "response_url": slack.response_url(),
        "message": {"ts": "1700000000.000001", "text": "Review", "blocks": []},
        "actions": [{"action_id": DISCUSSED_ACTION, "type": "button",
                     "value": json.dumps({"i": "checkout", "p": "this sprint"})}]})

    assert result.status == 200
    assert slack.wait_for_response(1)[0][1]["text"] == OTHER_WORKSPACE
    _settled(two_workspaces)
    with two_workspaces.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "discussed")) == 0
