"""Bad input gets a clear refusal and leaves the database exactly as it was.

Every case goes through the bot's real HTTP endpoint (signed like Slack, fake Slack behind
it) and compares a snapshot of the database before and after: the row count of every
table, and a dump of the criteria (initiatives, metrics with their source configs,
sign-offs) and of the samples.
"""

from __future__ import annotations

import functools
import json
import string
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from fake_slack import FakeSlack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_helpers import CHANNEL, PO, Bot, seed_checkout, signature_headers
from sqlalchemy import Engine, create_engine, inspect, select, text

from bot.grammar import commands as g
from bot.storage.db import session_factory, transaction
from bot.storage.models import Metric, PullAttempt
from handlers import modals
from handlers.commands import plan
from metrics.connection_file import parse_connections
from metrics.jobs import PullJob
from metrics.pulling import Puller, PullPolicy
from metrics.resources import open_resources

pytest_plugins = ("slack_fixtures",)  # the bot and fake Slack fixtures

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded"
CRITERIA = {
    "initiatives": "key, name, why, who, how, what, status, revision, channel, "
                   "product_owner, engineering_owner, sprint_days, timezone",
    "metrics": "initiative_id, key, name, unit, direction, baseline_value, target_value, "
               "target_date, source_kind, source_config",
    "signoffs": "*",
    "samples": "metric_id, segment, observed_at, value",
}


def snapshot(engine: Engine) -> dict[str, Any]:
    """Row counts of every table, and the criteria and samples row by row."""
    tables = _tables(str(engine.url))
    counts = " union all ".join(f"select '{name}', count(*) from {name}" for name in tables)
    with engine.connect() as connection:
        rows = {name: sorted(map(repr, connection.execute(text(f"select {columns} from {name}"))))
                for name, columns in CRITERIA.items()}
        return {"counts": dict(connection.execute(text(counts)).all()), "rows": rows}


def quiet_snapshot(engine: Engine) -> dict[str, Any]:
    """A snapshot once the work after an ack (sign-off requests, audit) has finished."""
    previous = snapshot(engine)
    for _ in range(50):
        time.sleep(0.1)
        current = snapshot(engine)
        if current == previous:
            return current
        previous = current
    raise AssertionError("the database kept changing")


@functools.cache
def _tables(url: str) -> tuple[str, ...]:
    engine = create_engine(url)
    try:
        # signed_requests keeps the signature of every request taken (replay guard): it
        # grows with each request, refused or not, and holds no user data; local_tasks
        # holds a request's work until it has answered, a moment after the answer.
        return tuple(sorted(set(inspect(engine).get_table_names())
                            - {"signed_requests", "local_tasks"}))
    finally:
        engine.dispose()


@pytest.fixture
def seeded(bot: Bot) -> Bot:
    seed_checkout(bot)
    return bot


def wait_for_answer(slack: FakeSlack, before: int) -> str:
    """The text of the next response-URL answer after ``before`` answers."""
    answers = slack.wait_for(lambda: slack.responses[before:], 10)
    return str(answers[0][1].get("text", ""))


# ---------------------------------------------------------------------------- slash texts

_MALFORMED = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=string.printable, max_size=120),
    st.lists(st.sampled_from([
        *g.COMMANDS, "checkout", "checkout.deploy-time", "checkout.nope", "nope.x", "add",
        "record", "metric", "define", "archive", "agree", "as=nobody", "target=", "target=x",
        "baseline=1e999", "by=2026-02-30", "at=yesterday", "segment==", "sprint=0d",
        "tz=Mars/Olympus", "source=bogus", "source-config={", "'", '"', "=", "-1e999",
        "nan", "inf", "x" * 300, "<@U1|a>", "<#C1|c>", "DROP", ";", "--",
    ]), min_size=1, max_size=6).map(" ".join),
)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text_=_MALFORMED)
def test_a_text_refused_in_the_ack_changes_nothing(seeded: Bot, text_: str) -> None:
    if plan(text_).kind != "reply" or text_.split()[:1] == ["help"]:
        return  # parsed (or help): the scenario tests cover what valid commands do
    before = snapshot(seeded.engine)

    result = seeded.command(text_)

    assert result.status == 200 and "Traceback" not in result.body
    assert len(result.text) > 10, result.body
    assert snapshot(seeded.engine) == before


@pytest.mark.parametrize(("command", "says"), [
    ("record checkout.deploy-time forty", "must be a number"),
    ("record checkout.deploy-time 1e999", "finite"),
    ("record checkout.nope 5", "nope"),
    ("record nowhere.deploy-time 5", "nowhere"),
    ("record checkout.deploy-time 5 at=2026-02-30", "date"),
    ("metric add checkout lat \"Latency\" target=abc", "must be a number"),
    ("metric add checkout lat \"Latency\"", "target"),
    (f"metric add checkout lat \"{'L' * 300}\" target=1", "limit is 200"),
    (f"metric add checkout lat \"{'L' * 10_000}\" target=1", "longest the bot reads is 4,000"),
    ("metric add checkout lat \"Latency\" target=1 by=tomorrow-ish", "date"),
    ("metric add checkout lat \"Latency\" target=1 source=bogus", "source kind"),
    ("define checkout tz=Mars/Olympus", "Mars/Olympus"),
    ("define checkout sprint=100d", "1d and 91d"),
    ("define THIS \"Bad key\"", "key"),
    ("agree checkout as=nobody", "product or engineering"),
    ("agree nowhere", "nowhere"),
    ("archive nowhere", "nowhere"),
], ids=lambda value: value[:40] if isinstance(value, str) else None)
def test_a_malformed_command_gets_a_specific_refusal_and_changes_nothing(
        seeded: Bot, slack: FakeSlack, command: str, says: str) -> None:
    before = snapshot(seeded.engine)
    answered = len(slack.responses)

    ack = seeded.command(command)
    reply = ack.text or wait_for_answer(slack, answered)

    assert ack.status == 200
    assert says.lower() in reply.lower(), reply
    assert "Traceback" not in reply and "went wrong" not in reply
    assert snapshot(seeded.engine) == before


# ---------------------------------------------------------------------------- source configs

def _metric_with_config(config: dict[str, Any], kind: str = "sql") -> str:
    quoted = json.dumps(config).replace("'", "\\'")
    return f"metric add checkout leads \"Leads\" target=10 source={kind} source-config='{quoted}'"


INJECTED_SQL = [
    "select 1; drop table samples",
    "select count(*) from samples; delete from samples",
    "update samples set value = 0",
    "with x as (delete from samples returning 1) select count(*) from x",
    "select * into stolen from samples",
    "/* harmless */ drop table samples",
]


@pytest.fixture
def admin(slack: FakeSlack) -> None:
    """The product owner is a workspace admin (users.info says so): pulled sources are
    an admin's to define."""
    slack.users[PO]["is_admin"] = True


@pytest.mark.parametrize("query", INJECTED_SQL)
def test_a_sql_source_that_writes_is_refused_when_the_metric_is_defined(
        seeded: Bot, slack: FakeSlack, admin: None, query: str) -> None:
    before = snapshot(seeded.engine)
    answered = len(slack.responses)
    config = {"connection": "warehouse", "query": query}

    assert seeded.command(_metric_with_config(config)).status == 200
    reply = wait_for_answer(slack, answered)

    assert "SQL source" in reply and ("read-only" in reply or "single statement" in reply
                                      or "only runs a SELECT" in reply), reply
    assert snapshot(seeded.engine) == before


def test_changing_a_metric_to_a_query_that_writes_is_refused_too(
        seeded: Bot, slack: FakeSlack, admin: None) -> None:
    answered = len(slack.responses)
    seeded.command(_metric_with_config({"connection": "warehouse",
                                        "query": "select count(*) from samples"}))
    assert "Added metric" in wait_for_answer(slack, answered)
    slack.wait_for(lambda: slack.ok_calls_to("chat.postMessage"))  # the sign-off request
    before = quiet_snapshot(seeded.engine)
    answered = len(slack.responses)

    change = json.dumps({"connection": "warehouse", "query": "select 1; drop table samples"})
    seeded.command(f"metric add checkout leads source-config='{change}'")

    assert "single statement" in wait_for_answer(slack, answered)
    assert snapshot(seeded.engine) == before


def test_a_query_that_writes_in_a_stored_config_is_refused_at_pull_and_the_table_stays(
        seeded: Bot, tmp_path) -> None:
    """A config stored before the define-time check (or written straight into the
    database) is refused again by the source itself: the warehouse's table survives."""
    warehouse = create_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    with warehouse.begin() as connection:
        connection.execute(text("create table samples (value float)"))
        connection.execute(text("insert into samples values (1.5)"))
    with transaction(seeded.runtime.sessions) as session:
        metric = session.scalars(select(Metric).where(Metric.key == "errors")).one()
        metric.source_kind = "sql"
        metric.source_config = {"connection": "warehouse",
                                "query": "select 1; drop table samples"}
        session.flush()
        job = PullJob.of(metric)
    samples_before = snapshot(seeded.engine)["rows"]["samples"]
    resources = open_resources(connections=parse_connections({"connections": {"warehouse": {
        "kind": "sql", "url": str(warehouse.url)}}}, own_database=str(seeded.engine.url)))
    try:
        report = Puller(session_factory(seeded.engine), resources,
                        PullPolicy(retries=0), clock=lambda: NOW).pull([job])
    finally:
        resources.close()

    (outcome,) = report.outcomes
    assert outcome.permanent and "single statement" in outcome.error
    assert snapshot(seeded.engine)["rows"]["samples"] == samples_before
    with warehouse.connect() as connection:
        assert connection.scalar(text("select value from samples")) == 1.5
    warehouse.dispose()
    with seeded.runtime.sessions() as session:
        attempt = session.scalars(select(PullAttempt)).one()
    assert not attempt.ok and attempt.permanent and attempt.samples_stored == 0


LITERAL_SECRETS = [
    ("http", {"url": "https://api.github.com/search/issues?q=repo:acme/app", "value": "x",
              "headers": {"Authorization": "Bearer ghp_0123456789abcdefghijABCDEFGHIJ"}}),
    ("http", {"url": "https://slack.com/api/x", "value": "x",
              "headers": {"X-Token": "xoxb-1234567890-abcdefghijkl"}}),
    ("http", {"url": "https://api.example.com/stats?api_key=s3cr3tvalue", "value": "n"}),
    ("sql", {"url": "postgresql://reader:hunter2@db.internal/app", "query": "select 1"}),
    ("prometheus", {"url": "https://admin:pa55word@prometheus.internal", "query": "up"}),
    ("http", {"url": "https://api.example.com", "value": "n", "token": "plain-text-token"}),
]


@pytest.mark.parametrize(("kind", "config"), LITERAL_SECRETS,
                         ids=["github", "slack", "query-key", "sql-password",
                              "prometheus-password", "token-field"])
def test_a_config_holding_a_literal_secret_is_refused_saying_sources_name_a_connection(
        seeded: Bot, slack: FakeSlack, kind: str, config: dict[str, Any]) -> None:
    before = snapshot(seeded.engine)
    answered = len(slack.responses)

    ack = seeded.command(_metric_with_config(config, kind))
    reply = ack.text or wait_for_answer(slack, answered)

    assert "config.url is not allowed" in reply and "(connection=" in reply, reply
    for secret in ("ghp_0123456789", "xoxb-1234567890", "s3cr3tvalue", "hunter2",
                   "pa55word", "plain-text-token"):
        assert secret not in reply  # the refusal never repeats the secret
    assert snapshot(seeded.engine) == before


# ---------------------------------------------------------------------------- modals

def _text(value: Any) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def _metric_values(**overrides: Any) -> dict[str, Any]:
    values = {
        "key": _text("latency"), "name": _text("Latency"), "question": _text(""),
        "source": {"type": "static_select", "selected_option": {"value": "manual"}},
        "config": _text(""), "unit": _text("ms"),
        "direction": {"type": "static_select", "selected_option": {"value": "down"}},
        "baseline": _text("40"), "target": _text("12"),
        "by": {"type": "datepicker", "selected_date": "2027-06-30"},
    }
    return {key: value for key, value in (values | overrides).items() if value is not None}


def _metric_view(bot: Bot) -> dict[str, Any]:
    return modals.metric_view("checkout", [("checkout", "Faster checkout")], CHANNEL)


@pytest.mark.parametrize(("overrides", "block"), [
    ({"baseline": _text("forty")}, "baseline"),
    ({"target": _text("1e999")}, "target"),
    ({"target": None}, "target"),
    ({"name": _text("N" * 10_000)}, "name"),
    ({"key": _text("k" * 10_000)}, "key"),
    ({"question": _text("?" * 10_000)}, "question"),
    ({"unit": _text("u" * 1_000)}, "unit"),
    ({"by": {"type": "datepicker", "selected_date": "not-a-date"}}, "by"),
    ({"direction": {"type": "static_select", "selected_option": {"value": "sideways"}}},
     "direction"),
    ({"source": {"type": "static_select", "selected_option": {"value": "sql"}},
      "config": _text('{"connection": "warehouse", "query": "select 1; drop table samples"}')},
     "config"),
    ({"source": {"type": "static_select", "selected_option": {"value": "http"}},
      "config": _text('{"connection": "gh", "value": "n", '
                      '"headers": {"Authorization": "Bearer ghp_0123456789abcdefghijABCD"}}')},
     "config"),
    ({"source": {"type": "static_select", "selected_option": {"value": "sql"}},
      "config": _text("[1, 2]")}, "config"),
    ({"source": {"type": "static_select", "selected_option": {"value": "sql"}},
      "config": _text("{not json")}, "config"),
], ids=["baseline-word", "target-infinite", "target-missing", "name-10k", "key-10k",
        "question-10k", "unit-1k", "date-word", "direction-word", "sql-injection",
        "literal-token", "config-list", "config-not-json"])
def test_a_bad_metric_modal_field_is_answered_inline_and_nothing_is_saved(
        seeded: Bot, overrides: dict[str, Any], block: str) -> None:
    before = snapshot(seeded.engine)

    result = seeded.submit(_metric_view(seeded), _metric_values(**overrides))

    assert result.status == 200, result.body
    answer = result.json()
    assert answer["response_action"] == "errors"
    assert block in answer["errors"], answer
    assert all(10 < len(message) <= 300 for message in answer["errors"].values())
    assert snapshot(seeded.engine) == before


@pytest.mark.parametrize("values", [
    {},
    {"unknown_block": _text("x"), "another": {"type": "mystery_element", "value": "y"}},
    {"key": {"type": "plain_text_input", "value": None}},
], ids=["no-blocks", "unknown-blocks", "null-value"])
def test_a_metric_submission_without_its_required_blocks_is_refused(
        seeded: Bot, values: dict[str, Any]) -> None:
    before = snapshot(seeded.engine)

    result = seeded.submit(_metric_view(seeded), values)

    assert result.status == 200
    errors = result.json()["errors"]
    assert {"key", "name", "target"} <= set(errors), errors
    assert snapshot(seeded.engine) == before


@pytest.mark.parametrize(("values", "block"), [
    ({"key": _text("checkout2"), "name": _text("X" * 10_000)}, "name"),
    ({"key": _text("checkout2"), "name": _text("Ok"), "tz": _text("Mars/Olympus")}, "tz"),
    ({"key": _text("checkout2"), "name": _text("Ok"), "sprint": _text("0d")}, "sprint"),
    ({"key": _text("Not A Key"), "name": _text("Ok")}, "key"),
    ({"key": _text("checkout2"), "why": _text("w" * 10_000), "name": _text("Ok")}, "why"),
    ({"name": _text("Ok")}, "key"),
], ids=["name-10k", "bad-zone", "zero-sprint", "bad-key", "why-10k", "no-key"])
def test_a_bad_define_modal_field_is_answered_inline_and_nothing_is_saved(
        seeded: Bot, values: dict[str, Any], block: str) -> None:
    before = snapshot(seeded.engine)
    view = modals.define_view(seeded.runtime, CHANNEL)

    result = seeded.submit(view, values)

    assert result.status == 200
    answer = result.json()
    assert answer["response_action"] == "errors" and block in answer["errors"], answer
    assert snapshot(seeded.engine) == before


@pytest.mark.parametrize("value", [42, ["a", "list"], {"an": "object"}, True],
                         ids=["number", "list", "object", "bool"])
def test_a_forged_field_of_the_wrong_json_type_never_gets_a_500(
        seeded: Bot, value: Any) -> None:
    """Slack only sends strings; a forged payload with another type still gets the modal
    answered (an inline error), and nothing is saved."""
    before = snapshot(seeded.engine)

    result = seeded.submit(_metric_view(seeded), _metric_values(baseline=_text(value)))

    assert result.status == 200
    assert result.json()["response_action"] == "errors"
    assert snapshot(seeded.engine) == before


# ---------------------------------------------------------------------------- signatures

def _command_form(bot: Bot, text_: str) -> str:
    return urlencode({"team_id": bot.team, "user_id": PO, "channel_id": CHANNEL,
                      "command": "/outcome", "text": text_, "trigger_id": "t",
                      "response_url": bot.slack.response_url()})


def _settled() -> None:
    """Give a lazy listener that had wrongly started the time to write or answer."""
    time.sleep(0.2)


@pytest.mark.parametrize("forgery", ["wrong-secret", "stale", "future", "no-signature",
                                     "body-changed", "garbage-signature"])
@pytest.mark.parametrize("command", ["record checkout.deploy-time 5", "archive checkout"])
def test_a_forged_or_replayed_request_gets_401_and_nothing_runs(
        seeded: Bot, slack: FakeSlack, forgery: str, command: str) -> None:
    body = _command_form(seeded, command)
    now = int(time.time())
    headers = {
        "wrong-secret": lambda: signature_headers(body, secret="not-the-signing-secret"),
        "stale": lambda: signature_headers(body, timestamp=now - 6 * 60),
        "future": lambda: signature_headers(body, timestamp=now + 6 * 60),
        "no-signature": lambda: {},
        "body-changed": lambda: signature_headers(_command_form(seeded, "help")),
        "garbage-signature": lambda: {"X-Slack-Request-Timestamp": str(now),
                                      "X-Slack-Signature": "v0=" + "0" * 64},
    }[forgery]()
    before = snapshot(seeded.engine)
    calls, answers = len(slack.calls), len(slack.responses)

    result = seeded.post(body, FORM, headers, sign=False)
    _settled()

    assert result.status == 401
    assert snapshot(seeded.engine) == before
    assert (len(slack.calls), len(slack.responses)) == (calls, answers)  # nothing ran
