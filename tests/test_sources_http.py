"""HTTP/JSON and CSV sources against a local HTTP server that also misbehaves."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fake_api import Answer, FakeApi

from bot.core.errors import SourceError
from metrics.csv import CsvSource
from metrics.http import HttpSource
from metrics.kinds import get_source
from metrics.resources import Resources

AT = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi() as api:
        yield api


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def test_it_reads_a_github_style_search_count(api, client) -> None:
    url = api.route("/search/issues", json={"total_count": 17, "items": []})

    readings = HttpSource({"url": url + "?q=is:open", "value": "total_count"}, client).read(AT)

    assert [(r.segment, r.value) for r in readings] == [("", 17.0)]
    assert api.hits[0].path == "/search/issues?q=is:open"


def test_it_posts_a_jira_style_query_and_reads_the_count(api, client) -> None:
    url = api.route("/rest/api/3/search/approximate-count", json={"count": 5})
    config = {"url": url, "method": "POST", "json": {"jql": "project = OPS"},
              "value": "count"}

    assert HttpSource(config, client).read(AT)[0].value == 5
    assert api.hits[0].body == b'{"jql":"project = OPS"}'


def test_segments_come_from_an_object_or_from_pairs(api, client) -> None:
    url = api.route("/stats", json={"p95": {"eu": 210, "us": "180.5"},
                                    "rows": [{"r": "eu", "n": 3}, {"r": "us", "n": 4}]})

    by_object = HttpSource({"url": url, "segments": "p95", "by": "region",
                            "total": "max"}, client).read(AT)
    by_pairs = HttpSource({"url": url, "value": "sum(rows[].n)",
                           "segments": "rows[].[r, n]"}, client).read(AT)

    assert {r.segment: r.value for r in by_object} == {"": 210, "region=eu": 210,
                                                       "region=us": 180.5}
    assert {r.segment: r.value for r in by_pairs} == {"": 7, "segment=eu": 3,
                                                      "segment=us": 4}


def test_a_slow_answer_times_out_as_a_transient_error(api, client) -> None:
    url = api.route("/slow", json={"n": 1}, delay=2)
    started = time.monotonic()

    with pytest.raises(SourceError, match=r"did not answer within 0\.3 s") as caught:
        HttpSource({"url": url, "value": "n", "timeout": 0.3}, client).read(AT)

    assert time.monotonic() - started < 1.5
    assert not caught.value.permanent


@pytest.mark.parametrize(("answer", "permanent", "words"), [
    (Answer(500, body="oops", content_type="text/plain"), False, "HTTP 500"),
    (Answer(503, json={}), False, "HTTP 503"),
    (Answer(429, json={}), False, "HTTP 429"),
    (Answer(404, json={}), True, "not found"),
    (Answer(401, json={}), True, "credentials"),
    (Answer(body="{not json", content_type="application/json"), False, "JSON"),
    (Answer(body="<html>login</html>", content_type="text/html"), False, "an HTML page"),
    (Answer(json={"n": "many"}), True, "not a number"),
    (Answer(json={"n": True}), True, "not a number"),
    (Answer(json={"n": [1, 2]}), True, "not a number"),
    (Answer(json={"other": 1}), True, "matched nothing"),
])
def test_bad_answers_are_errors_that_say_whether_to_retry(
        api, client, answer, permanent, words) -> None:
    url = api.route("/v", answer)

    with pytest.raises(SourceError, match=words) as caught:
        HttpSource({"url": url, "value": "n"}, client).read(AT)

    assert caught.value.permanent is permanent


def test_a_bad_jmespath_expression_is_refused_when_built(client) -> None:
    with pytest.raises(SourceError, match="JMESPath") as caught:
        HttpSource({"url": "http://x", "value": "items[?"}, client)
    assert caught.value.permanent


def test_a_config_with_its_own_url_and_token_is_refused_saying_how_to_migrate(client) -> None:
    config = {"url": "https://api.github.com/search/issues", "value": "total_count",
              "headers": {"Authorization": "Bearer ghp_abcdefghijklmnopqrstuvwxyz0123"}}

    with pytest.raises(SourceError, match="OUTCOME_CONNECTIONS_FILE") as caught:
        get_source("http", config, Resources(http=client), metric="fleet.bugs")

    assert caught.value.permanent and "ghp_" not in caught.value.message
    assert "connection for api.github.com" in caught.value.message
    assert "metric add fleet bugs source-config=" in caught.value.message


# ---------------------------------------------------------------------------- CSV

SHEET = """Week,Region,Weekly active
2026-11-02,EU,100
2026-11-02,US,80
2026-11-02,,180
2026-11-09,EU,"1,120"
2026-11-09,US,90
2026-11-09,,"1,210"
2026-11-16,EU,
"""


def test_a_published_sheet_is_read_at_its_final_url(api, client) -> None:
    api.route("/sheet.csv", body=SHEET, content_type="text/csv")
    config = {"url": api.url("/sheet.csv"), "column": "Weekly active",
              "segment_column": "Region", "time_column": "Week"}

    readings = CsvSource(config, client).read(AT)

    assert {r.segment: (r.value, r.observed_at.day) for r in readings} == {
        "": (1210, 9), "Region=EU": (1120, 9), "Region=US": (90, 9)}


def test_a_sheets_redirect_is_refused_not_followed(api, client) -> None:
    api.route("/pub", Answer(302, body="", headers={"Location": api.url("/sheet.csv")}))
    api.route("/sheet.csv", body=SHEET, content_type="text/csv")

    with pytest.raises(SourceError, match="register the final URL") as caught:
        CsvSource({"url": api.url("/pub"), "column": "Weekly active"}, client).read(AT)

    assert caught.value.permanent and "sheet.csv" not in caught.value.message
    assert [hit.path for hit in api.hits] == ["/pub"]


def test_a_dated_csv_backfills_its_rows(api, client) -> None:
    url = api.route("/sheet.csv", body=SHEET, content_type="text/csv")
    source = CsvSource({"url": url, "column": "Weekly active", "time_column": "Week",
                        "segment_column": "Region"}, client)

    readings = source.history(datetime(2026, 11, 1, tzinfo=UTC), AT, step=None)  # type: ignore[arg-type]

    assert [(r.observed_at.day, r.segment, r.value) for r in readings if not r.segment] == [
        (2, "", 180), (9, "", 1210)]


def test_without_a_time_column_the_last_row_wins(api, client) -> None:
    url = api.route("/plain.csv", body="n\n3\n4\n\n", content_type="text/csv")

    assert CsvSource({"url": url, "column": "n"}, client).read(AT)[0].value == 4


def test_a_missing_column_is_named_and_the_columns_there_are_are_logged(
        api, client, caplog) -> None:
    url = api.route("/sheet.csv", body=SHEET, content_type="text/csv")

    with pytest.raises(SourceError, match=r"no column 'Active' \(it has 3 columns\)") as caught:
        CsvSource({"url": url, "column": "Active"}, client).read(AT)
    assert caught.value.permanent and "Region" not in caught.value.message
    assert "'Week', 'Region', 'Weekly active'" in caplog.text


def test_a_cell_that_is_not_a_number_names_its_row(api, client) -> None:
    url = api.route("/bad.csv", body="n\n3\nlots\n", content_type="text/csv")

    with pytest.raises(SourceError, match="Row 3, column 'n' is text") as caught:
        CsvSource({"url": url, "column": "n"}, client).read(AT)
    assert caught.value.permanent and "lots" not in caught.value.message


def test_local_files_are_read_only_inside_the_allowed_folder(tmp_path: Path) -> None:
    (tmp_path / "kpi.csv").write_text("n\n7\n")
    allowed = CsvSource({"path": "kpi.csv", "column": "n"}, files_dir=tmp_path)
    escaping = CsvSource({"path": "../kpi.csv", "column": "n"}, files_dir=tmp_path / "sub")
    nowhere = CsvSource({"path": "kpi.csv", "column": "n"})

    assert allowed.read(AT)[0].value == 7
    with pytest.raises(SourceError, match="outside the folder"):
        escaping.read(AT)
    with pytest.raises(SourceError, match="OUTCOME_FILES_DIR"):
        nowhere.read(AT)
