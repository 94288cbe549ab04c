"""The Prometheus source against a real Prometheus filled with four weeks of history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fake_api import Answer, FakeApi
from prometheus_server import REGIONS, PrometheusServer, history_window, serve

import metrics.prometheus
from bot.core.errors import SourceError
from metrics.connection_file import parse_connections
from metrics.kinds import get_source
from metrics.prometheus import PrometheusSource
from metrics.resources import Resources


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    yield from serve(tmp_path_factory)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def source(server: PrometheusServer, client: httpx.Client, query: str,
           **config: object) -> PrometheusSource:
    return PrometheusSource({"url": server.url, "query": query, **config}, client)


def test_it_reads_an_instant_value_as_of_a_past_time(prometheus, client) -> None:
    at = prometheus.history.start + timedelta(hours=100)

    readings = source(prometheus, client, "sum(deploy_duration_minutes)").read(at)

    expected = sum(prometheus.history.value(region, at) for region in REGIONS)
    assert [(r.observed_at, r.segment) for r in readings] == [(at, "")]
    assert readings[0].value == pytest.approx(expected)


def test_it_stores_one_sample_per_label_value_with_by(prometheus, client) -> None:
    at = prometheus.history.start + timedelta(days=10)

    readings = source(prometheus, client, "deploy_duration_minutes", by="region",
                      total="mean").read(at)

    values = {r.segment: r.value for r in readings}
    assert set(values) == {"", "region=apac", "region=eu", "region=us"}
    assert values["region=eu"] == pytest.approx(prometheus.history.value("eu", at))
    assert values[""] == pytest.approx(
        sum(prometheus.history.value(r, at) for r in REGIONS) / 3)


def test_a_series_without_the_by_label_is_the_total(prometheus, client) -> None:
    at = prometheus.history.start + timedelta(days=3)
    query = ("max by (region) (deploy_duration_minutes) "
             "or max(deploy_duration_minutes)")

    readings = source(prometheus, client, query, by="region").read(at)

    values = {r.segment: r.value for r in readings}
    assert values[""] == pytest.approx(prometheus.history.value("apac", at))
    assert len(values) == 4


def test_a_range_query_backfills_every_step_with_segments(prometheus, client) -> None:
    start = prometheus.history.start + timedelta(days=1)
    end = start + timedelta(days=2)

    readings = source(prometheus, client, "deploy_duration_minutes", by="region",
                      total="none").history(start, end, timedelta(hours=1))

    assert len(readings) == 49 * 3
    assert {r.segment for r in readings} == {"region=apac", "region=eu", "region=us"}
    for reading in readings[:12]:
        region = reading.segment.split("=")[1]
        assert reading.value == pytest.approx(
            prometheus.history.value(region, reading.observed_at))


def test_a_long_backfill_is_split_into_queries_prometheus_accepts(
        prometheus, client, monkeypatch) -> None:
    monkeypatch.setattr(metrics.prometheus, "MAX_POINTS_PER_QUERY", 10)
    start = prometheus.history.start
    end = start + timedelta(hours=47)

    readings = source(prometheus, client, "signups_total").history(
        start, end, timedelta(hours=1))

    times = [r.observed_at for r in readings]
    assert times == [start + timedelta(hours=h) for h in range(48)]
    assert [r.value for r in readings[:3]] == [10, 20, 30]


def test_a_bad_query_is_a_permanent_error_the_servers_reason_goes_to_the_log(
        prometheus, client, caplog) -> None:
    with pytest.raises(SourceError) as caught:
        source(prometheus, client, "sum(deploy_duration_minutes").read(
            prometheus.history.end)

    assert caught.value.permanent
    assert "bad_data: the PromQL does not parse" in caught.value.message
    assert "parenthesis" not in caught.value.message and "parenthesis" in caplog.text


def test_several_series_without_by_is_a_permanent_error(prometheus, client) -> None:
    with pytest.raises(SourceError, match="returned 3 series") as caught:
        source(prometheus, client, "deploy_duration_minutes").read(prometheus.history.end)
    assert caught.value.permanent


def test_no_series_yet_is_a_transient_error_that_says_what_to_check(prometheus, client) -> None:
    at = prometheus.history.end + timedelta(hours=3)

    with pytest.raises(SourceError, match="last_over_time") as caught:
        source(prometheus, client, "deploy_duration_minutes{region='mars'}").read(at)
    assert not caught.value.permanent


def test_a_wrong_base_url_is_permanent(prometheus, client) -> None:
    wrong = PrometheusSource({"url": prometheus.url + "/prometheus", "query": "up"}, client)

    with pytest.raises(SourceError, match="404") as caught:
        wrong.read(prometheus.history.end)
    assert caught.value.permanent


def test_a_server_that_is_down_is_a_transient_error(client) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = PrometheusSource({"url": f"http://127.0.0.1:{port}", "query": "up"}, client)

    with pytest.raises(SourceError, match="could not be reached") as caught:
        down.read(history_window().end)
    assert not caught.value.permanent


def test_it_sends_the_referenced_auth_header_and_never_shows_the_token() -> None:
    with FakeApi() as api, httpx.Client() as client:
        api.route("/api/v1/query", Answer(401, body="unauthorized", content_type="text/plain"))
        connections = parse_connections({"connections": {"prom": {
            "kind": "prometheus", "url": api.url(), "allow_private": ["127.0.0.1/32"],
            "headers": {"Authorization": "Bearer ${PROM_TOKEN}"}}}},
            environ={"PROM_TOKEN": "s3cret-value"})
        resources = Resources(http=client, connections=connections)
        config = {"connection": "prom", "query": "up"}

        try:
            with pytest.raises(SourceError) as caught:
                get_source("prometheus", config, resources).read(history_window().end)
        finally:
            resources.close()

    assert api.hits[0].headers["Authorization"] == "Bearer s3cret-value"
    assert caught.value.permanent and "401" in caught.value.message
    assert "s3cret" not in caught.value.message
    assert config == {"connection": "prom", "query": "up"}
    assert connections.by_name["prom"].headers["Authorization"] == "Bearer ${PROM_TOKEN}"


def test_a_weighted_total_is_the_segments_mean_by_the_weights_query(prometheus,
                                                                     client) -> None:
    at = prometheus.history.start + timedelta(days=5)

    readings = source(prometheus, client, "deploy_duration_minutes", by="region",
                      total="weighted", weights="deploy_duration_minutes * 2").read(at)

    values = {r.segment: r.value for r in readings}
    minutes = {region: prometheus.history.value(region, at) for region in REGIONS}
    assert values[""] == pytest.approx(sum(m * m for m in minutes.values())
                                       / sum(minutes.values()))
    assert values["weight:region=eu"] == pytest.approx(2 * minutes["eu"])
    assert len(values) == 1 + 2 * len(REGIONS)


def test_a_weighted_backfill_stores_the_weights_of_every_step(prometheus, client) -> None:
    start = prometheus.history.start + timedelta(days=1)

    readings = source(prometheus, client, "deploy_duration_minutes", by="region",
                      total="weighted", weights="deploy_duration_minutes"
                      ).history(start, start + timedelta(hours=2), timedelta(hours=1))

    assert len([r for r in readings if r.segment.startswith("weight:")]) == 3 * 3
    assert len([r for r in readings if r.segment == ""]) == 3


def test_weights_without_by_or_a_weighted_total_without_weights_is_refused(client) -> None:
    with pytest.raises(SourceError, match="needs by=<label> too"):
        PrometheusSource({"url": "http://127.0.0.1:9", "query": "x", "weights": "y"}, client)
    with pytest.raises(SourceError, match="reads no weights"):
        PrometheusSource({"url": "http://127.0.0.1:9", "query": "x", "by": "region",
                          "total": "weighted"}, client)
