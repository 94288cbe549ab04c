"""What a member's own source config may hold, and how a legacy config is moved onto a
connection: the public functions of ``metrics.member_configs``.

Written against surviving mutants of ``metrics/member_configs.py``: exact reasons and
messages, list traversal, the de-duplication of literal credentials, the fields a legacy
config keeps, and the edges of ``check_path`` / ``join_path``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.core.errors import SourceError
from metrics.member_configs import (
    check_path,
    join_path,
    legacy_message,
    legacy_target,
    member_config_message,
    member_config_problems,
    refuse_member_config,
    suggested_member_config,
)

TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123"
NOT_ALLOWED = "is not allowed in a metric's source config"
HOW = ("sources name a connection an operator registered (connection=<name>), which holds "
       "the URL and credentials")
PATH_RULE = ("`path` must be a path on the connection's host, starting with one / (e.g. "
             "/search/issues), without a scheme, host, '//', '..' or '#'.")


# ------------------------------------------------------------------ member_config_problems


def test_each_kind_of_problem_is_found_once_at_its_path_with_its_reason() -> None:
    config = {"URL": "https://api.example.com", "api_token": "abc", "${NAME}": 1,
              "params": {"q": ["is:pr", "${QUERY}"]}, "query": f"sum(x) {TOKEN}",
              "value": "n"}

    assert member_config_problems(config) == [
        (("URL",), NOT_ALLOWED),
        (("api_token",), "looks like a credential"),
        (("${NAME}",), "names an environment variable"),
        (("params", "q", 1), "names an environment variable"),
        (("query",), "looks like a literal credential"),
    ]


@pytest.mark.parametrize(("config", "expected"), [
    ({"url": f"https://u:{TOKEN}@api.example.com/x"}, [(("url",), NOT_ALLOWED)]),
    ({"api_token": TOKEN}, [(("api_token",), "looks like a credential")]),
    ({"headers": {"Authorization": f"Bearer {TOKEN}"}, "segments": [TOKEN]},
     [(("headers",), NOT_ALLOWED), (("segments", 0), "looks like a literal credential")]),
])
def test_a_literal_credential_is_reported_only_where_nothing_above_it_was(
        config, expected) -> None:
    assert member_config_problems(config) == expected


def test_a_clean_config_has_no_problems_and_is_not_refused() -> None:
    config = {"connection": "prom", "query": "sum(up)", "params": {"q": ["is:pr"]}}

    assert member_config_problems(config) == []
    refuse_member_config(config)  # raises for any problem


# ----------------------------------------------------------------------------- messages


def test_a_refusal_names_the_field_says_why_and_what_to_do_instead() -> None:
    assert member_config_message(("params", "q", 1), "names an environment variable") == (
        f"config.params.q[1] names an environment variable: {HOW}; an operator registers "
        "them in OUTCOME_CONNECTIONS_FILE.")
    assert member_config_message(("url",), NOT_ALLOWED, "known connections: prom") == (
        f"config.url {NOT_ALLOWED}: {HOW}; known connections: prom.")


@pytest.mark.parametrize("known", ["", "known connections: prom, gh"])
def test_refuse_member_config_raises_the_first_problem_permanently(known) -> None:
    config = {"value": "n", "headers": {"Accept": "json"}, "api_key": "k"}

    with pytest.raises(SourceError) as caught:
        if known:
            refuse_member_config(config, known)
        else:
            refuse_member_config(config)

    assert caught.value.permanent is True
    assert caught.value.message == member_config_message(("headers",), NOT_ALLOWED, known)
    assert caught.value.message.endswith(
        f"; {known or 'an operator registers them in OUTCOME_CONNECTIONS_FILE'}.")


# ------------------------------------------------------------------------ legacy configs


def test_a_legacy_http_config_is_answered_with_its_host_and_the_config_to_use() -> None:
    config = {"url": "https://api.example.com/search?q=is:pr", "value": "n",
              "headers": {"Authorization": f"Bearer {TOKEN}"}}

    assert legacy_message("http", config) == (
        "This source config holds a url, which metrics no longer carry. An operator adds a "
        "connection for api.example.com to OUTCOME_CONNECTIONS_FILE (`outcome connections "
        "check` suggests one); then: metric add <initiative> <metric> source-config='"
        '{"connection": "<name>", "path": "/search?q=is:pr", "value": "n"}\'')


def test_a_legacy_sql_config_names_the_database_never_its_password() -> None:
    config = {"url": "postgresql://reader:s3cr3t-pw@db.internal:5432/wh", "query": "select 1"}

    message = legacy_message("sql", config, "growth.signups")

    assert "connection for postgresql at db.internal:5432/wh to" in message
    assert message.endswith('then: metric add growth signups source-config=\''
                            '{"connection": "<name>", "query": "select 1"}\'')
    assert "s3cr3t-pw" not in message and "reader" not in message


def test_a_metric_name_without_a_key_leaves_the_key_to_fill_in() -> None:
    assert "then: metric add growth <metric> source-config=" in legacy_message(
        "http", {"url": "https://api.example.com", "value": "n"}, "growth")


def test_a_suggestion_is_shown_up_to_160_characters_and_elided_beyond() -> None:
    def suggestion(padding: int) -> str:
        return json.dumps({"connection": "<name>", "value": "x" * padding})

    fits = 160 - len(suggestion(0))
    assert len(suggestion(fits)) == 160

    def shown(padding: int) -> str:
        message = legacy_message("http", {"url": "https://api.example.com",
                                          "value": "x" * padding})
        return message.split("source-config='", 1)[1].removesuffix("'")

    assert shown(fits) == suggestion(fits)
    assert shown(fits + 1) == '{"connection": "<name>", ...its other fields...}'


@pytest.mark.parametrize(("kind", "config", "target"), [
    ("sql", {"url": "postgresql://u:pw@db.internal:5432/wh"}, "postgresql at db.internal:5432/wh"),
    ("sql", {"url": "sqlite:////data/app.db"}, "the SQLite file app.db"),
    ("http", {"url": "https://API.example.com:8443/x"}, "api.example.com"),
    ("http", {"headers": {"Accept": "json"}}, "its host"),
    ("csv", {"url": "http://[::1/x"}, "its host"),
])
def test_the_target_of_a_legacy_config_is_its_host_or_database(kind, config, target) -> None:
    assert legacy_target(kind, config) == target


@pytest.mark.parametrize(("kind", "config", "kept"), [
    ("http", {"url": "https://api.example.com/search?q=is:pr", "connection": "old",
              "value": "n"}, {"path": "/search?q=is:pr", "value": "n"}),
    ("http", {"url": "https://api.example.com/search", "value": "n"},
     {"path": "/search", "value": "n"}),
    ("http", {"url": "https://api.example.com/?q=1", "value": "n"},
     {"path": "/?q=1", "value": "n"}),
    ("http", {"url": "https://api.example.com/", "value": "n"}, {"value": "n"}),
    ("http", {"url": "https://api.example.com", "value": "n"}, {"value": "n"}),
    ("http", {"headers": {"Accept": "json"}, "value": "n"}, {"value": "n"}),
    ("http", {"url": "https://${API_HOST}/search", "value": "n"}, {"value": "n"}),
    ("csv", {"url": "https://sheets.example/export.csv", "column": "n"},
     {"path": "/export.csv", "column": "n"}),
    ("sql", {"url": "postgresql://u:pw@db.internal/wh", "query": "select 1"},
     {"query": "select 1"}),
    ("http", {"url": "https://api.example.com/x", "api_key": "k", "value": "n",
              "params": {"token": "t", "q": "is:pr"}}, {"path": "/x", "value": "n"}),
])
def test_a_legacy_config_keeps_only_what_a_member_may_write(
        kind: str, config: dict[str, Any], kept: dict[str, Any]) -> None:
    suggested = suggested_member_config(kind, config)

    assert suggested == kept
    assert member_config_problems(suggested) == []


# ------------------------------------------------------------------------------- paths


@pytest.mark.parametrize("path", ["/http://evil.example/x", "/a b", "/a\x01b", "search",
                                  "//evil.example/x", "/a/../admin", "/a#b", "/a\\b"])
def test_a_path_that_is_not_a_plain_path_on_the_host_is_refused(path) -> None:
    with pytest.raises(SourceError) as caught:
        check_path(path)

    assert caught.value.permanent is True
    assert caught.value.message == PATH_RULE


def test_dots_in_the_query_are_not_path_segments() -> None:
    assert check_path("/search?q=docs/../x") == "/search?q=docs/../x"


@pytest.mark.parametrize(("base", "path", "joined"), [
    ("https://api.example.com/api/?a=1", "/search?q=2",
     "https://api.example.com/api/search?a=1&q=2"),
    ("https://api.example.com", "/search", "https://api.example.com/search"),
    ("https://search.example/INDEX/", "/x", "https://search.example/INDEX/x"),
    ("https://api.example.com/api?a=1", "", "https://api.example.com/api?a=1"),
    ("https://api.example.com/api?a=1", None, "https://api.example.com/api?a=1"),
])
def test_a_path_is_appended_below_the_connections_url_keeping_both_queries(
        base, path, joined) -> None:
    assert join_path(base, path) == joined
