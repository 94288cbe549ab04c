"""Pulls: concurrent, bounded, retried, recorded; failures shown in reviews; commands."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from fake_api import Answer, FakeApi
from plugins import installed_plugin
from prometheus_server import PrometheusServer, serve
from sqlalchemy import Engine, func, select

from bot.app.commands import execute, run
from bot.app.context import Actor, Context
from bot.app.metric_changes import define_metric
from bot.app.review_builder import build_review
from bot.app.services import define_initiative
from bot.core.periods import THIS_SPRINT
from bot.core.review import Status
from bot.grammar import commands as g
from bot.storage.db import session_factory, transaction
from bot.storage.models import Metric, PullAttempt, Sample
from metrics.connection_file import parse_connections
from metrics.connections import BUILTIN_KINDS, Connections
from metrics.jobs import PullJob, due_jobs, pulled_metrics
from metrics.pulling import Puller, PullPolicy
from metrics.resources import Resources, open_resources

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
ACTOR = Actor("T1", "eve", admin=True)  # an admin may give metrics pulled sources
FAST = PullPolicy(concurrency=8, retries=2, backoff=0.01, deadline=5)


def loopback(kinds: tuple[str, ...] = BUILTIN_KINDS, **entries: dict[str, str]
             ) -> Connections:
    """Connections an operator registered for the local test servers (loopback allowed)."""
    return parse_connections(
        {"connections": {name: {**entry, "allow_private": ["127.0.0.1/32"]}
                         for name, entry in entries.items()}},
        environ={"API_TOKEN": "tok-12345"}, kinds=kinds)


def via(url: str) -> dict[str, str]:
    """The config of an http metric reading ``url``'s path through the `api` connection."""
    return {"connection": "api", "path": urlsplit(url).path}


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi() as api:
        yield api


@pytest.fixture
def resources(api: FakeApi) -> Iterator[Resources]:
    resources = open_resources(connections=loopback(api={"kind": "http", "url": api.url()}))
    yield resources
    resources.close()


def add_metrics(engine: Engine, configs: dict[str, tuple[str, dict]]) -> dict[str, int]:
    """An initiative `fleet` with one metric per (kind, config); returns key -> id."""
    with transaction(session_factory(engine)) as session:
        define_initiative(session, ACTOR, "fleet", {"name": "Fleet",
                                                    "sprint_anchor": date(2026, 11, 16)}, now=NOW)
        ids = {}
        for key, (kind, config) in configs.items():
            metric, _ = define_metric(session, ACTOR, "fleet", key, {
                "name": key.title(), "target_value": 1000.0, "source_kind": kind,
                "source_config": config}, now=NOW)
            ids[key] = metric.id
    return ids


def jobs(engine: Engine) -> list[PullJob]:
    with transaction(session_factory(engine)) as session:
        return [PullJob.of(m) for m in pulled_metrics(session, "T1")]


def attempts(engine: Engine) -> dict[int, list[PullAttempt]]:
    with transaction(session_factory(engine)) as session:
        found: dict[int, list[PullAttempt]] = {}
        for row in session.scalars(select(PullAttempt).order_by(PullAttempt.id)):
            found.setdefault(row.metric_id, []).append(row)
        return found


def puller(engine: Engine, resources: Resources, policy: PullPolicy = FAST) -> Puller:
    return Puller(session_factory(engine), resources, policy, clock=lambda: NOW)


def test_a_pull_stores_values_and_records_every_attempt(engine, api, resources) -> None:
    ids = add_metrics(engine, {
        "bugs": ("http", {**via(api.route("/bugs", json={"total_count": 7})),
                          "value": "total_count"}),
        "gone": ("http", {**via(api.url("/nowhere")), "value": "n"}),
        "flaky": ("http", {**via(api.route("/flaky", Answer(500), Answer(503),
                                            Answer(json={"n": 3}))), "value": "n"}),
        "notes": ("manual", {}),
    })

    report = puller(engine, resources).pull(jobs(engine))

    assert report.stored == 2 and len(report.outcomes) == 3
    log = attempts(engine)
    assert ids["notes"] not in log
    bugs, gone, flaky = log[ids["bugs"]][0], log[ids["gone"]][0], log[ids["flaky"]][0]
    assert (bugs.ok, bugs.samples_stored, bugs.tries, bugs.error) == (True, 1, 1, "")
    assert (gone.ok, gone.permanent, gone.tries) == (False, True, 1)
    assert "404" in gone.error
    assert (flaky.ok, flaky.tries, flaky.samples_stored) == (True, 3, 1)
    assert bugs.started_at == NOW and bugs.trigger == "now"
    assert "fleet.gone" in report.text() and "permanent" in report.text()


def test_a_transient_failure_is_given_up_after_the_retries(sqlite_url, api, resources) -> None:
    from bot.storage.db import make_engine, upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    add_metrics(engine, {"down": ("http", {**via(api.route("/down", status=502, json={})),
                                           "value": "n"})})

    outcome = puller(engine, resources).pull(jobs(engine)).outcomes[0]

    assert (outcome.ok, outcome.permanent, outcome.tries) == (False, False, 3)
    assert len(api.hits_of("/down")) == 3


def test_one_hanging_source_delays_and_breaks_nothing_else(sqlite_url, api, resources) -> None:
    from bot.storage.db import make_engine, upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    configs = {f"m{i}": ("http", {**via(api.route(f"/m{i}", json={"n": i})), "value": "n"})
               for i in range(30)}
    configs["hang"] = ("http", {**via(api.route("/hang", json={"n": 1}, delay=4)),
                                "value": "n", "timeout": 30})
    add_metrics(engine, configs)
    policy = PullPolicy(concurrency=4, retries=0, deadline=0.3)
    started = time.monotonic()

    report = puller(engine, resources, policy).pull(jobs(engine))

    elapsed = time.monotonic() - started
    failed = {o.job.name: o.error for o in report.failed}
    assert failed == {"fleet.hang": "the source did not finish within 0.3 s"}
    assert report.stored == 30
    assert elapsed < 2.5


def test_pulling_the_same_moment_again_stores_nothing_twice(sqlite_url, api, resources) -> None:
    from bot.storage.db import make_engine, upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    add_metrics(engine, {"bugs": ("http", {**via(api.route("/b", json={"n": 1})),
                                           "value": "n"})})
    pull = puller(engine, resources)

    first, second = pull.pull(jobs(engine)), pull.pull(jobs(engine))

    assert (first.stored, second.stored) == (1, 0)
    with transaction(session_factory(engine)) as session:
        assert session.scalar(select(func.count()).select_from(Sample)) == 1


LEAKY = """
from bot.core.errors import SourceError


class Source:
    \"\"\"A plugin source whose error message carries the resolved secret.\"\"\"

    kind = "leaky"

    def __init__(self, config):
        self.token = config["headers"]["X-Token"]

    def read(self, at):
        raise SourceError(f"upstream said: bad token {self.token}", permanent=True)
"""


def test_a_plugins_errors_have_its_secrets_redacted(sqlite_url, tmp_path) -> None:
    from bot.storage.db import make_engine, upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    add_metrics(engine, {"leak": ("leaky", {"connection": "upstream"})})

    with installed_plugin(tmp_path, "leaky", "outcome_leaky", LEAKY):
        resources = open_resources(connections=loopback(("leaky",), upstream={
            "kind": "leaky", "url": "https://upstream.example",
            "headers": {"X-Token": "${API_TOKEN}"}}))
        try:
            outcome = puller(engine, resources).pull(jobs(engine)).outcomes[0]
        finally:
            resources.close()

    assert outcome.error == "upstream said: bad token ***"
    assert "tok-12345" not in str(attempts(engine))


def test_a_metric_is_due_once_per_slot_and_a_transient_failure_again_later(
        sqlite_url, api, resources) -> None:
    from bot.storage.db import make_engine, upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    add_metrics(engine, {
        "ok": ("http", {**via(api.route("/ok", json={"n": 1})), "value": "n", "every": "15m"}),
        "flaky": ("http", {**via(api.route("/f", status=500, json={})), "value": "n"}),
        "bad": ("http", {**via(api.url("/missing")), "value": "n"}),
    })
    sessions = session_factory(engine)
    at = datetime(2026, 11, 29, 12, 7, tzinfo=UTC)
    pull = Puller(sessions, resources, PullPolicy(retries=0), clock=lambda: at)

    first = pull.pull_due(at)

    assert {o.job.name: o.started_at for o in first.outcomes} == {
        "fleet.ok": at, "fleet.flaky": at, "fleet.bad": at}
    with transaction(sessions) as session:
        assert session.scalar(select(Sample.observed_at)) == datetime(2026, 11, 29, 12, 0,
                                                                     tzinfo=UTC)

    def due(moment: datetime) -> set[str]:
        with transaction(sessions) as session:
            return {job.name for job, _ in due_jobs(session, moment)}

    assert due(at + timedelta(minutes=2)) == set()
    assert due(at + timedelta(minutes=6)) == {"fleet.flaky"}
    assert due(at + timedelta(minutes=9)) == {"fleet.ok", "fleet.flaky"}
    assert due(at + timedelta(minutes=54)) == {"fleet.ok", "fleet.flaky", "fleet.bad"}


def test_a_metric_without_data_shows_why_its_pull_failed_in_reviews(engine, api) -> None:
    add_metrics(engine, {"gone": ("http", {**via(api.url("/nowhere")), "value": "n"})})
    ctx = Context(ACTOR, session_factory(engine), now=lambda: NOW, open_resources=lambda:
                  open_resources(connections=loopback(api={"kind": "http", "url": api.url()})))

    reply = run("pull fleet", ctx)
    with transaction(session_factory(engine)) as session:
        review = build_review(session, "T1", THIS_SPRINT, NOW)

    metric = review.initiatives[0].metrics[0]
    assert "Pulled 0 of 1" in reply.text and "404" in reply.text
    assert metric.status is Status.NO_DATA
    assert "last pull failed (permanent: fix the source): " in metric.status_reason
    assert "404" in metric.status_reason
    assert "404" in execute(g.MissingData(), ctx).text


def test_the_pull_command_names_what_it_pulls(sqlite_url, api) -> None:
    from bot.storage.db import make_engine, upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    add_metrics(engine, {"bugs": ("http", {**via(api.route("/b", json={"n": 4})),
                                           "value": "n"}),
                         "notes": ("manual", {})})
    ctx = Context(ACTOR, session_factory(engine), now=lambda: NOW, open_resources=lambda:
                  open_resources(connections=loopback(api={"kind": "http", "url": api.url()})))

    assert g.parse("pull fleet.bugs") == g.Pull("fleet", "bugs")
    assert run("pull fleet.bugs", ctx).text.startswith("Pulled 1 of 1 metric(s); 1 new")
    assert "manual metric: nothing to pull" in run("pull fleet.notes", ctx).text
    assert run("pull nope", ctx).error


# ---------------------------------------------------------------------------- Prometheus


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    yield from serve(tmp_path_factory)


@pytest.fixture
def prom_resources(prometheus: PrometheusServer) -> Iterator[Resources]:
    resources = open_resources(connections=loopback(
        prom={"kind": "prometheus", "url": prometheus.url}))
    yield resources
    resources.close()


def test_backfill_stores_weeks_of_history_with_progress(sqlite_url, prometheus,
                                                        prom_resources) -> None:
    from bot.storage.db import make_engine, upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    ids = add_metrics(engine, {"deploy": ("prometheus", {
        "connection": "prom", "query": "deploy_duration_minutes", "by": "region",
        "total": "mean"})})
    history = prometheus.history
    seen: list[tuple[int, int, int]] = []

    outcome = puller(engine, prom_resources).backfill(
        jobs(engine)[0], history.start, history.end, step=timedelta(hours=1),
        progress=lambda *p: seen.append(p))

    hours = history.hours() + 1
    assert outcome.ok and outcome.stored == hours * 4
    assert seen[0] == (0, 4, 0) and seen[-1] == (4, 4, hours * 4)
    with transaction(session_factory(engine)) as session:
        count = session.scalar(select(func.count()).where(Sample.metric_id == ids["deploy"]))
        assert count == hours * 4
    assert attempts(engine)[ids["deploy"]][0].trigger == "backfill"


def test_a_baseline_can_be_read_as_of_a_past_date(sqlite_url, prometheus,
                                                 prom_resources) -> None:
    from bot.storage.db import make_engine, upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    add_metrics(engine, {"eu": ("prometheus", {
        "connection": "prom", "query": 'deploy_duration_minutes{region="eu"}'})})
    at = prometheus.history.start + timedelta(days=2)

    value = puller(engine, prom_resources).value_at(jobs(engine)[0], at)

    assert value == pytest.approx(prometheus.history.value("eu", at))


def test_a_source_without_history_cannot_be_backfilled(sqlite_url, api, resources) -> None:
    from bot.storage.db import make_engine, upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    add_metrics(engine, {"bugs": ("http", {**via(api.url("/b")), "value": "n"})})

    outcome = puller(engine, resources).backfill(jobs(engine)[0], NOW - timedelta(days=3), NOW)

    assert outcome.permanent and "no history" in outcome.error


def test_deleting_a_metric_while_it_is_pulled_loses_nothing_else(engine, api,
                                                                  resources) -> None:
    ids = add_metrics(engine, {"a": ("http", {**via(api.route("/a", json={"n": 1})),
                                              "value": "n"})})
    pending = jobs(engine)
    with transaction(session_factory(engine)) as session:
        session.delete(session.get(Metric, ids["a"]))

    report = puller(engine, resources).pull(pending)

    assert report.outcomes == []


def test_the_due_pulls_tick_defers_one_task_per_due_metric_and_each_pulls_once(
        sqlite_url, api, resources) -> None:
    from bot.clock import PULL_METRIC, defer_due_pulls, pull_metric
    from bot.storage.db import make_engine, upgrade
    from bot.tasks.local import LocalQueue

    engine = make_engine(sqlite_url)
    upgrade(engine)
    ids = add_metrics(engine, {
        "bugs": ("http", {**via(api.route("/b", json={"n": 2})), "value": "n"}),
        "leads": ("http", {**via(api.route("/l", json={"n": 5})), "value": "n"})})
    pull = Puller(session_factory(engine), resources, FAST, clock=lambda: NOW)
    queue = LocalQueue(session_factory(engine), lambda: NOW)

    first, again = defer_due_pulls(queue, pull), defer_due_pulls(queue, pull)
    tasks = {job.args["metric_id"] for job in queue.jobs(["todo"])}
    for metric_id in sorted(tasks):
        pull_metric(pull, metric_id)
        pull_metric(pull, metric_id)  # a late duplicate finds the slot pulled

    assert (first, again) == (2, 0)  # one waiting task per metric
    assert tasks == set(ids.values())
    assert {job.task for job in queue.jobs(["todo"])} == {PULL_METRIC}
    assert sorted(len(rows) for rows in attempts(engine).values()) == [1, 1]
    assert defer_due_pulls(LocalQueue(session_factory(engine), lambda: NOW), pull) == 0


def test_outcome_backfill_and_push_from_the_command_line(sqlite_url, prometheus, monkeypatch,
                                                          capsys, tmp_path) -> None:
    from bot.cli.main import main
    from bot.storage.db import make_engine, upgrade

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("OUTCOME_WORKSPACE", "T1")
    connections = tmp_path / "connections.yaml"
    connections.write_text(f"connections:\n  prom: {{kind: prometheus, url: '{prometheus.url}', "
                           "allow_private: [127.0.0.1/32]}\n", encoding="utf-8")
    monkeypatch.setenv("OUTCOME_CONNECTIONS_FILE", str(connections))
    engine = make_engine(sqlite_url)
    upgrade(engine)
    add_metrics(engine, {"signups": ("prometheus", {"connection": "prom",
                                                    "query": "signups_total"}),
                         "notes": ("push", {})})
    since = prometheus.history.start + timedelta(days=1)

    code = main(["backfill", "fleet.signups", "--since", since.isoformat(), "--until",
                 (since + timedelta(days=1)).isoformat(), "--set-baseline"])
    pushed = main(["push", "fleet.notes", "3.5", "--at", "2026-11-01T10:00:00Z"])
    again = main(["push", "fleet.notes", "3.5", "--at", "2026-11-01T10:00:00Z"])

    out = capsys.readouterr()
    assert (code, pushed, again) == (0, 0, 0), out.err
    assert "25 new values" in out.out and "Baseline of fleet.signups set to 250" in out.out
    assert "nothing changed" in out.out
    bad = main(["backfill", "fleet.notes", "--since", "2026-11-01"])
    assert bad == 1 and "keeps no history" in capsys.readouterr().err
