"""Who may do what: the permission table, enforced for every transport.

The table's rules run through the command layer every transport shares (the CLI grammar
and ``bot.app.commands.run``), each as a member, an owner, an admin and the operator; the
Slack side runs through the bot's real endpoint with signed requests against the fake
Slack Web API: admins from ``users.info`` (cached) and ``OUTCOME_ADMINS``, ephemeral
refusals, announcements of owner and channel changes, and the owner-swap attack.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fake_slack import FakeSlack
from slack_helpers import CHANNEL, ENG, OTHER, PO, Bot, seed_checkout
from slack_sdk import WebClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import criteria
from bot.app.commands import execute, run
from bot.app.context import Actor, Context
from bot.app.failed_work import failed_work
from bot.app.permissions import (
    TABLE,
    Action,
    Who,
    allows,
    permission_table_markdown,
    require,
)
from bot.app.signoff import OwnershipChanged, SignoffRequested, events_after_change, take_snapshot
from bot.cli import main as cli
from bot.core.clock import system_clock
from bot.core.errors import Forbidden
from bot.core.settings import load_settings
from bot.grammar import commands as g
from bot.processes import slack_runtime
from bot.slack.admins import CACHE_FOR, RETRY_AFTER, WorkspaceAdmins, parse_admins
from bot.storage.db import session_factory, transaction
from bot.storage.models import AuditEvent, Initiative
from bot.tasks.local import LocalQueue
from handlers.modals import ADD_METRIC_ACTION, DEFINE_VIEW

pytest_plugins = ("slack_fixtures",)  # the bot and fake Slack fixtures

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
PEOPLE = {
    "member": Actor("T1", "mia"),
    "owner": Actor("T1", "ana"),  # the product owner of fleet
    "admin": Actor("T1", "ada", admin=True),
    "operator": Actor("T1", "op", operator=True),
}
MAY = {
    Who.MEMBER: {"member", "owner", "admin", "operator"},
    Who.OWNERS: {"owner", "admin", "operator"},
    Who.ADMIN: {"admin", "operator"},
    Who.SIGNER: {"owner"},  # nobody signs for an owner, admins included
}
REFUSAL = {
    Who.OWNERS: "Only the owners of fleet (product ana, engineering ben) or a workspace "
                "admin can ",
    Who.ADMIN: "Only a workspace admin (a Slack admin or owner, or someone the operator "
               "named in OUTCOME_ADMINS) can ",
    Who.SIGNER: "Only the product owner of fleet (ana) can sign as product.",
}
FLEET = (
    'define fleet "Fleet update" po=@ana eng=@ben channel=#C1 anchor=2026-11-16',
    'metric add fleet deploy "Deploy time" unit=min direction=down baseline=40 target=12 '
    "by=2027-03-31",
)
# Each action of the table: what the operator does first, then the command tried.
CASES: dict[Action, tuple[tuple[str, ...], str]] = {
    Action.DEFINE: ((), 'define solo "Solo"'),
    Action.CHANGE: ((), 'define fleet why="Fewer truck rolls"'),
    Action.METRIC: ((), "metric add fleet deploy target=10"),
    Action.SOURCE: ((), "metric add fleet deploy source=demo source-config='{\"seed\": \"f\"}'"),
    Action.ARCHIVE: ((), "archive fleet"),
    Action.UNARCHIVE: (("archive fleet",), "unarchive fleet"),
    Action.SIGN: (("metric add fleet deploy target=11",), "agree fleet as=product"),
    Action.SCHEDULE: ((), "schedule fleet retro=fri@15:00"),
    Action.SCHEDULE_CHANNEL: ((), "schedule #C9 retro=fri@15:00"),
    Action.RECORD: ((), "record fleet.deploy 20 at=2026-11-20"),
    Action.SHIP: ((), 'shipped fleet "Rollback" at=2026-11-20'),
    Action.DELIVERABLE: ((), 'deliverable fleet "Rollback" moves=deploy'),
    Action.PULL: ((), "pull fleet"),
    Action.READ: ((), "show fleet"),
    Action.EXPORT: ((), "export fleet"),
    Action.EXPORT_ALL: ((), "export all"),
    Action.PUSH_TOKENS: ((), "push-token list"),
    Action.FAILED_WORK: ((), ""),  # no command: the App Home's failed tasks (see attempt)
}


def attempt(sessions: sessionmaker[Session], actor: Actor, action: Action
            ) -> tuple[bool, str]:
    """Try ``action`` as ``actor``: (refused, what they were told)."""
    if action is Action.FAILED_WORK:
        try:
            failed_work(actor, LocalQueue(sessions, lambda: NOW))
        except Forbidden as exc:
            return True, exc.message
        return False, ""
    reply = run(CASES[action][1], ctx(sessions, actor))
    return reply.error, reply.text


def ctx(sessions: sessionmaker[Session], actor: Actor) -> Context:
    return Context(actor, sessions, now=lambda: NOW)


def ok(sessions: sessionmaker[Session], actor: Actor, *texts: str) -> None:
    for text in texts:
        reply = run(text, ctx(sessions, actor))
        assert not reply.error, f"{text}: {reply.text}"


def agreed_fleet(sessions: sessionmaker[Session]) -> None:
    """fleet, set up by the operator for its owners Ana and Ben, who agreed to it."""
    ok(sessions, PEOPLE["operator"], *FLEET)
    ok(sessions, Actor("T1", "ana"), "agree fleet")
    ok(sessions, Actor("T1", "ben"), "agree fleet")


def fleet_row(sessions: sessionmaker[Session], key: str = "fleet") -> Initiative:
    with sessions() as session:
        row = session.scalar(select(Initiative).where(Initiative.key == key))
        assert row is not None
        session.expunge(row)
        return row


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


# ---------------------------------------------------------------------------- the table

def test_every_action_of_the_table_is_tried_below() -> None:
    assert set(CASES) == set(Action) == set(TABLE)


@pytest.mark.parametrize("person", sorted(PEOPLE))
@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.value.replace(" ", "-"))
def test_each_rule_lets_exactly_its_people_act_and_tells_the_others_who_may(
        copied_sessions: sessionmaker[Session], action: Action, person: str) -> None:
    agreed_fleet(copied_sessions)
    setup, _ = CASES[action]
    ok(copied_sessions, PEOPLE["operator"], *setup)
    before = fleet_row(copied_sessions)

    refused, told = attempt(copied_sessions, PEOPLE[person], action)

    rule = TABLE[action]
    if person in MAY[rule.who]:
        assert not refused, told
    else:
        assert refused
        assert told.startswith(REFUSAL[rule.who]), told
        after = fleet_row(copied_sessions)
        assert (after.status, after.revision, after.why) == (
            before.status, before.revision, before.why)


def test_a_refusal_names_what_was_refused_and_who_may_do_it() -> None:
    initiative = Initiative(key="fleet", product_owner="ana", engineering_owner="ben")
    with pytest.raises(Forbidden) as refused:
        require(Actor("T1", "mia"), Action.CHANGE, initiative, does="change its target")
    assert refused.value.message == ("Only the owners of fleet (product ana, engineering ben) "
                                     "or a workspace admin can change its target.")
    assert allows(Actor("T1", "ben"), Action.CHANGE, initiative)


def test_until_both_owners_are_named_the_creator_may_change_a_draft(
        sessions: sessionmaker[Session]) -> None:
    carl, mia = Actor("T1", "carl"), Actor("T1", "mia")
    ok(sessions, carl, 'define solo "Solo"')

    refused = run('define solo why="Mine now"', ctx(sessions, mia))
    assert refused.error and refused.text == (
        "Until both owners of solo are named, only its creator carl or a workspace admin "
        "can change its criteria.")

    ok(sessions, carl, 'define solo why="Faster"', "define solo po=@ana")
    refused = run('metric add solo x "X" target=1', ctx(sessions, mia))
    assert refused.text == ("Until both owners of solo are named, only its creator carl and "
                            "its product owner ana or a workspace admin can add a metric to "
                            "it.")
    ok(sessions, carl, "define solo eng=@ben")

    locked_out = run('define solo why="Back to mine"', ctx(sessions, carl))
    assert locked_out.error and locked_out.text.startswith(
        "Only the owners of solo (product ana, engineering ben) or a workspace admin")
    ok(sessions, Actor("T1", "ben"), 'define solo why="Fewer visits"')


def test_a_non_owner_repeating_the_current_values_is_refused_too(
        sessions: sessionmaker[Session]) -> None:
    agreed_fleet(sessions)
    reply = run("define fleet po=@ana eng=@ben", ctx(sessions, Actor("T1", "mia")))
    assert reply.error and reply.text.startswith(REFUSAL[Who.OWNERS])


def test_the_table_renders_as_markdown_for_the_docs() -> None:
    table = permission_table_markdown()
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert rows[0] == "| Action | Member | Owner of the initiative | Admin | Operator (CLI) |"
    assert len(rows) == 1 + len(TABLE)
    assert "| Give a metric a pulled source (any kind but manual and push) | — | — | yes | " \
           "yes |" in rows
    assert "OUTCOME_ADMINS" in table and "nobody signs for an owner" in table


def test_the_cli_says_it_acts_as_the_operator(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    assert "The CLI acts as the operator" in capsys.readouterr().out


# ---------------------------------------------------------------------------- two owners

def test_one_person_cannot_be_both_owners(sessions: sessionmaker[Session]) -> None:
    ana = Actor("T1", "ana")
    refused = run('define solo "Solo" po=@ana eng=@ana', ctx(sessions, ana))
    assert refused.error and refused.text.startswith(
        "The product owner and the engineering owner must be two different people (ana is "
        "named as both)")

    agreed_fleet(sessions)
    refused = run("define fleet eng=@ana", ctx(sessions, ana))
    assert refused.error and "two different people" in refused.text
    assert fleet_row(sessions).engineering_owner == "ben"


def test_a_criteria_file_naming_one_person_as_both_owners_is_refused(
        sessions: sessionmaker[Session]) -> None:
    text = ("version: 1\ninitiatives:\n- key: solo\n  name: Solo\n  owners:\n"
            "    product: ana\n    engineering: ana\n")
    with pytest.raises(criteria.CriteriaInvalid, match="two different people"):
        criteria.apply(sessions, PEOPLE["operator"], criteria.load(text, "criteria.yaml"),
                       now=NOW)


def test_the_define_modal_refuses_one_person_as_both_owners(bot: Bot,
                                                            slack: FakeSlack) -> None:
    view = {"type": "modal", "callback_id": DEFINE_VIEW, "private_metadata": "{}"}
    values = {"key": {"type": "plain_text_input", "value": "solo"},
              "name": {"type": "plain_text_input", "value": "Solo"},
              "po": {"type": "users_select", "selected_user": PO},
              "eng": {"type": "users_select", "selected_user": PO}}

    answer = bot.submit(view, values).json()

    assert answer["response_action"] == "errors"
    assert "two different people" in answer["errors"]["eng"]
    with bot.runtime.sessions() as session:
        assert session.scalar(select(Initiative)) is None


# ---------------------------------------------------------------------------- swaps

def test_the_owner_swap_attack_fails_through_the_cli_grammar(
        sessions: sessionmaker[Session]) -> None:
    agreed_fleet(sessions)
    mia = ctx(sessions, Actor("T1", "mia"))
    for step in ("define fleet po=@mia eng=@mia", "define fleet po=@mia",
                 "define fleet eng=@mia", "metric add fleet deploy target=99",
                 "agree fleet", "define fleet po=@ana eng=@ben", "archive fleet",
                 "define fleet channel=#elsewhere"):
        assert run(step, mia).error, step
    fleet = fleet_row(sessions)
    assert (fleet.status, fleet.revision, fleet.product_owner, fleet.engineering_owner,
            fleet.channel) == ("agreed", 1, "ana", "ben", "C1")
    with sessions() as session:
        assert not session.scalars(select(AuditEvent).where(AuditEvent.actor == "mia")).all()


def test_an_owner_replacing_the_other_reopens_and_tells_everyone(
        sessions: sessionmaker[Session]) -> None:
    agreed_fleet(sessions)
    ana = Actor("T1", "ana")
    with sessions() as session:
        before = take_snapshot(session, "T1", "fleet")

    ok(sessions, ana, "define fleet eng=@sock channel=#C2")

    with transaction(sessions) as session:
        events = events_after_change(session, ana, "fleet", before)
    moved = next(e for e in events if isinstance(e, OwnershipChanged))
    assert moved.channels == ("C1", "C2")
    assert moved.owners == ("ben", "sock")  # old and new, not Ana who did it
    assert moved.moves == (("engineering owner", "ben", "sock"),
                           ("review channel", "C1", "C2"))
    assert moved.reopened and (moved.from_revision, moved.to_revision) == (1, 2)
    request = next(e for e in events if isinstance(e, SignoffRequested))
    assert request.channel == "C2" and request.request.revision == 2


def test_naming_the_first_owner_tells_nobody(sessions: sessionmaker[Session]) -> None:
    carl = Actor("T1", "carl")
    ok(sessions, carl, 'define solo "Solo" channel=#C1')
    with sessions() as session:
        before = take_snapshot(session, "T1", "solo")
    ok(sessions, carl, "define solo po=@ana")
    with transaction(sessions) as session:
        assert events_after_change(session, carl, "solo", before) == []


# ---------------------------------------------------------------------------- unarchive

def test_unarchive_brings_an_initiative_back_as_a_draft_to_sign_again(
        sessions: sessionmaker[Session]) -> None:
    agreed_fleet(sessions)
    ana = Actor("T1", "ana")
    ok(sessions, ana, "archive fleet")
    refused = run("metric add fleet deploy target=10", ctx(sessions, ana))
    assert refused.error and "archived" in refused.text
    assert run("unarchive fleet", ctx(sessions, Actor("T1", "mia"))).text.startswith(
        REFUSAL[Who.OWNERS])
    with sessions() as session:
        before = take_snapshot(session, "T1", "fleet")

    reply = run("unarchive fleet", ctx(sessions, ana))

    assert reply.text == ("Unarchived fleet: a draft again at revision 2; both owners need "
                          "to agree to its criteria again.")
    fleet = fleet_row(sessions)
    assert (fleet.status, fleet.revision, fleet.agreed_at) == ("draft", 2, None)
    with transaction(sessions) as session:
        row = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "unarchived")).one()
        assert (row.actor, row.before, row.after) == (
            "ana", {"status": "archived", "revision": 1}, {"status": "draft", "revision": 2})
        events = events_after_change(session, ana, "fleet", before)
    assert [type(e) for e in events] == [SignoffRequested]
    again = run("unarchive fleet", ctx(sessions, ana))
    assert again.error and again.text == "Initiative 'fleet' is draft, not archived."


# ---------------------------------------------------------------------------- admins

def test_outcome_admins_names_extra_admins_of_every_workspace(engine: Engine) -> None:
    settings = load_settings({"OUTCOME_ADMINS": "U0OPS1, U0OPS2"})
    sessions = session_factory(engine)
    runtime = slack_runtime(settings, sessions, LocalQueue(sessions, system_clock),
                            run_tasks=False)
    try:
        assert runtime.context("T1", "U0OPS2").actor.admin
        assert runtime.context("T9", "U0OPS1").actor.admin
        assert not runtime.context("T1", "U0ELSE").actor.admin
    finally:
        runtime.drain()
    assert parse_admins(" U1,U2  U3,") == frozenset({"U1", "U2", "U3"})


def _client(slack: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-fake-T1", base_url=slack.api_url)


def _users_info_calls(slack: FakeSlack, user: str) -> int:
    return len([c for c in slack.calls_to("users.info") if c.args.get("user") == user])


def test_slack_admins_and_owners_are_admins_and_the_answer_is_cached(
        slack: FakeSlack) -> None:
    for user, flags in (("UADM", {"is_admin": True}), ("UOWN", {"is_owner": True}),
                        ("UPRI", {"is_primary_owner": True}),
                        ("UGONE", {"is_admin": True, "deleted": True})):
        slack.users[user] = {"id": user, "name": user.lower(), **flags}
    admins, client = WorkspaceAdmins(), _client(slack)

    assert [admins.is_admin(client, "T1", user, now=NOW)
            for user in ("UADM", "UOWN", "UPRI", "UGONE", PO)] == [
        True, True, True, False, False]
    assert admins.is_admin(client, "T1", "UADM", now=NOW + CACHE_FOR - timedelta(seconds=1))
    assert _users_info_calls(slack, "UADM") == 1

    slack.users["UADM"]["is_admin"] = False  # demoted: noticed once the cache expires
    assert not admins.is_admin(client, "T1", "UADM", now=NOW + CACHE_FOR)
    assert _users_info_calls(slack, "UADM") == 2


def test_a_failed_users_info_means_not_an_admin_logged_and_asked_again_soon(
        slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    admins, client = WorkspaceAdmins(), _client(slack)
    with caplog.at_level(logging.WARNING, logger="bot.slack.admins"):
        assert not admins.is_admin(client, "T1", "UNOBODY", now=NOW)
    assert "users.info for UNOBODY in T1 failed (user_not_found)" in caplog.text
    slack.users["UNOBODY"] = {"id": "UNOBODY", "is_admin": True}
    assert not admins.is_admin(client, "T1", "UNOBODY", now=NOW + timedelta(seconds=30))
    assert admins.is_admin(client, "T1", "UNOBODY", now=NOW + RETRY_AFTER)
    assert _users_info_calls(slack, "UNOBODY") == 2


# ---------------------------------------------------------------------------- over Slack

def _answer(bot: Bot, slack: FakeSlack, text: str, user: str) -> dict[str, Any]:
    """The first response to ``/outcome <text>`` sent by ``user``."""
    seen = len(slack.responses)
    bot.command(text, user=user)
    return slack.wait_for_response(seen + 1)[seen][1]


def _agreed_checkout(bot: Bot) -> None:
    seed_checkout(bot, samples=False)
    execute(g.Agree("checkout"), bot.runtime.context("T1", PO))
    execute(g.Agree("checkout"), bot.runtime.context("T1", ENG))


def _checkout(bot: Bot) -> Initiative:
    with bot.runtime.sessions() as session:
        row = session.scalar(select(Initiative).where(Initiative.key == "checkout"))
        assert row is not None
        session.expunge(row)
        return row


def test_a_member_swapping_in_themselves_is_refused_privately_over_slack(
        bot: Bot, slack: FakeSlack) -> None:
    _agreed_checkout(bot)
    steps = (f"define checkout po=<@{OTHER}|mal> eng=<@{OTHER}|mal>",
             f"define checkout eng=<@{OTHER}|mal>",
             "metric add checkout deploy-time target=99", "agree checkout",
             f"define checkout po=<@{PO}|ana> eng=<@{ENG}|eli>", "archive checkout",
             "define checkout channel=<#C0ELSE|else>")
    answers = [_answer(bot, slack, step, OTHER) for step in steps]

    assert all(a["response_type"] == "ephemeral" for a in answers)
    assert answers[0]["text"] == (
        "Only the owners of checkout (product UPO, engineering UENG) or a workspace admin "
        "can change its owners.")
    assert answers[2]["text"].endswith("can change the target of its metric deploy-time.")
    checkout = _checkout(bot)
    assert (checkout.status, checkout.revision, checkout.product_owner,
            checkout.engineering_owner, checkout.channel) == ("agreed", 1, PO, ENG, CHANNEL)
    assert slack.channel_messages(CHANNEL) == []


def test_an_owner_cannot_swap_the_other_owner_out_unseen_over_slack(
        bot: Bot, slack: FakeSlack) -> None:
    _agreed_checkout(bot)
    sock = "USOCK"

    same = _answer(bot, slack, f"define checkout eng=<@{PO}|ana>", PO)
    assert "two different people" in same["text"] and same["response_type"] == "ephemeral"
    _answer(bot, slack, f"define checkout eng=<@{sock}|sock>", PO)
    first = slack.wait_for(lambda: slack.channel_messages(ENG))[0]
    _answer(bot, slack, "metric add checkout deploy-time target=99", PO)
    _answer(bot, slack, "agree checkout", PO)
    _answer(bot, slack, "agree checkout", sock)
    slack.wait_for(lambda: _checkout(bot).status == "agreed")
    _answer(bot, slack, f"define checkout eng=<@{ENG}|eli>", PO)
    second = slack.wait_for(lambda: slack.channel_messages(ENG)[1:])[0]

    assert f"engineering owner: <@{ENG}> → <@{sock}>" in first.text
    assert "back to draft at revision 2" in first.text
    assert f"engineering owner: <@{sock}> → <@{ENG}>" in second.text
    told = slack.wait_for(lambda: [m for m in slack.channel_messages(CHANNEL)
                                   if "changed the owners" in m.text][1:])
    assert told and f"<@{PO}> changed the owners or the review channel" in told[0].text
    checkout = _checkout(bot)
    assert (checkout.status, checkout.revision, checkout.engineering_owner) == (
        "draft", 3, ENG)  # the target Ben never agreed to is a draft again


def test_an_admin_moving_owners_and_channel_tells_the_old_and_the_new(
        bot: Bot, slack: FakeSlack) -> None:
    _agreed_checkout(bot)
    bot.runtime.admins = WorkspaceAdmins({"UADMIN"})  # as OUTCOME_ADMINS=UADMIN
    new_po, new_channel = "UNINA", "C0NEW"

    answer = _answer(bot, slack, f"define checkout po=<@{new_po}|nina> "
                                 f"channel=<#{new_channel}|new>", "UADMIN")
    assert answer["response_type"] == "in_channel", answer

    for where in (CHANNEL, new_channel, PO, ENG, new_po):
        notice = slack.wait_for(lambda w=where: [
            m for m in slack.channel_messages(w) if "changed the owners" in m.text])[0]
        assert f"product owner: <@{PO}> → <@{new_po}>" in notice.text
        assert f"review channel: <#{CHANNEL}> → <#{new_channel}>" in notice.text
        assert "back to draft at revision 2" in notice.text
    assert not slack.channel_messages("UADMIN")
    request = slack.wait_for(lambda: [m for m in slack.channel_messages(new_channel)
                                      if m.text.startswith("Success criteria")])[0]
    assert request.text.endswith("(revision 2)")
    assert _checkout(bot).status == "draft"


def test_a_slack_admin_from_users_info_may_act_and_is_asked_once(
        bot: Bot, slack: FakeSlack) -> None:
    _agreed_checkout(bot)
    slack.users[OTHER] = {"id": OTHER, "name": "ola", "is_admin": True}

    archived = _answer(bot, slack, "archive checkout", OTHER)
    restored = _answer(bot, slack, "unarchive checkout", OTHER)

    assert archived["text"].startswith("Archived checkout")
    assert restored["text"].startswith("Unarchived checkout: a draft again at revision 2")
    assert _users_info_calls(slack, OTHER) == 1
    request = slack.wait_for(lambda: [m for m in slack.channel_messages(CHANNEL)
                                      if m.text.startswith("Success criteria")])[0]
    assert request.text.endswith("(revision 2)")


def test_a_member_may_not_schedule_channel_digests_or_export_everything_over_slack(
        bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot, samples=False)
    schedule = _answer(bot, slack, f"schedule <#{CHANNEL}|reviews> retro=fri@15:00", OTHER)
    export = _answer(bot, slack, "export all", OTHER)
    assert schedule["text"].startswith("Only a workspace admin")
    assert export["text"].startswith("Only a workspace admin")
    assert {schedule["response_type"], export["response_type"]} == {"ephemeral"}
    assert not slack.calls_to("files.getUploadURLExternal")


def test_the_metric_modal_opens_only_for_those_who_may_add_metrics(
        bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot, samples=False)

    refused = _answer(bot, slack, "metric add checkout", OTHER)

    assert refused["text"] == ("Only the owners of checkout (product UPO, engineering UENG) "
                               "or a workspace admin can add a metric to it.")
    assert not slack.calls_to("views.open")
    bot.command("metric add checkout", user=ENG)
    slack.wait_for(lambda: slack.ok_calls_to("views.open"))


def test_the_app_home_offers_add_metric_only_to_owners(bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot, samples=False)

    def buttons(user: str) -> list[str]:
        slack.home_views.pop(user, None)
        bot.event({"type": "app_home_opened", "user": user, "tab": "home"})
        view = slack.wait_for(lambda: slack.home_views.get(user))
        return [b["accessory"]["action_id"] for b in view["blocks"] if "accessory" in b]

    assert buttons(PO) == [ADD_METRIC_ACTION]
    assert buttons(OTHER) == []
