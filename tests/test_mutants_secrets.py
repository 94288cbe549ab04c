"""Secret detection and redaction: what counts as a credential, and how it is scrubbed.

Written against surviving mutants of ``metrics/secrets.py`` (and the backfill path of
``metrics/pulling.py``, whose errors must leave the source redacted).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from bot.app.context import Actor
from bot.app.metric_changes import define_metric
from bot.app.services import define_initiative
from bot.core.errors import SourceError
from bot.storage.db import make_engine, session_factory, transaction, upgrade
from bot.storage.models import PullAttempt
from metrics.connection_file import parse_connections
from metrics.jobs import PullJob, pulled_metrics
from metrics.pulling import Puller, PullOutcome, PullPolicy
from metrics.resources import Resources
from metrics.secrets import (
    REDACTED,
    Redactor,
    is_secret_name,
    literal_secrets,
    path_text,
    redact_secrets,
    resolve,
    walk_secrets,
)

GITHUB = "ghp_" + "a1B2" * 6
SLACK = "xoxb-1234-5678-abcdefghij"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXZhbHVl"


# ------------------------------------------------------------------------- the redactor


def test_overlapping_secrets_are_redacted_longest_first_so_none_shows_through():
    redactor = Redactor()
    redactor.values.update({"abcd", "abcd-efgh", "efgh"})

    text = redactor("auth failed for abcd-efgh (user abcd, key efgh)")

    assert text == "auth failed for *** (user ***, key ***)"


def test_a_secret_inside_another_is_hidden_whichever_was_resolved_first():
    redactor = Redactor()
    resolve({"user": "${USER}", "password": "${PASSWORD}"},
            {"USER": "reader", "PASSWORD": "reader-s3cret"}, redactor)

    assert redactor("connect reader:reader-s3cret@db failed") == "connect ***:***@db failed"


def test_resolved_values_of_four_characters_or_more_are_redacted_shorter_ones_are_not():
    redactor = Redactor()
    resolve(["${SHORT}", "${FOUR}"], {"SHORT": "abc", "FOUR": "wxyz"}, redactor)

    assert redactor.values == {"wxyz"}
    assert redactor("abc wxyz") == "abc ***"


def test_resolving_without_a_redactor_only_substitutes():
    assert resolve("Bearer ${TOKEN}", {"TOKEN": "tok-12345"}) == "Bearer tok-12345"


# ------------------------------------------------------------------------- resolve


def test_references_are_resolved_at_any_depth_and_other_values_are_kept():
    config = {"url": "https://${HOST}/x", "headers": {"A": ["${TOKEN}", 3]}, "n": 2,
              "pair": ("${HOST}",), "off": None}

    resolved = resolve(config, {"HOST": "example.org", "TOKEN": "tok-12345"})

    assert resolved == {"url": "https://example.org/x", "headers": {"A": ["tok-12345", 3]},
                        "n": 2, "pair": ["example.org"], "off": None}


def test_a_missing_variable_is_a_permanent_error_naming_it_and_not_any_value():
    with pytest.raises(SourceError) as caught:
        resolve({"a": "${SET}", "b": "${MISSING}"}, {"SET": "visible-value"})

    assert caught.value.permanent
    assert caught.value.message == ("The source config references ${MISSING}, which is not "
                                    "set in the bot's environment; set it and pull again.")


def test_without_an_environment_the_process_environment_is_used(monkeypatch):
    monkeypatch.setenv("OUTCOME_TEST_SECRET", "from-the-process")

    assert resolve("${OUTCOME_TEST_SECRET}") == "from-the-process"


# ------------------------------------------------------------------------- secret names


@pytest.mark.parametrize("name", [
    "Authorization", "x-api-key", "API_KEY", "apikey", "private_key", "access-key",
    "credential", "credentials", "Cookie", "session_id", "auth", "PWD", "pass", "passwd",
    "db_password", "client_secret", "oauth_token",
])
def test_credential_names_are_secret_whatever_their_case(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["author", "passenger", "pwds", "url", "query", "by", "key"])
def test_ordinary_names_are_not_secret(name):
    assert not is_secret_name(name)


# ------------------------------------------------------------------------- literal secrets


def test_values_under_secret_names_are_literal_secrets_at_any_depth_and_type():
    config = {
        "url": "https://api.example.org",
        "headers": {"Authorization": "Bearer abc", "X-Trace": "1"},
        "auth": {"user": "me", "items": ["one", "${TWO}"]},
        "token": 12345,
        "password": True,
        "api_key": None,
        "secret": "   ",
        "session": "${SESSION}",
    }

    assert literal_secrets(config) == [("headers", "Authorization"), ("auth", "user"),
                                       ("auth", "items", 0), ("token",)]


@pytest.mark.parametrize(("text", "credential"), [
    (f"token is {GITHUB} ok", GITHUB),
    ("github_pat_" + "A" * 22, "github_pat_" + "A" * 22),
    (f"slack {SLACK}", SLACK),
    ("glpat-" + "x" * 20, "glpat-" + "x" * 20),
    ("AKIAABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNOP"),
    ("sk-" + "k" * 24, "sk-" + "k" * 24),
    (f"jwt {JWT}", JWT),
    ("Bearer abcdefgh123", "abcdefgh123"),
    ("postgresql://reader:hunter22@db/app", "hunter22"),
    ("dsn=postgresql://reader:hunter22@db/app (primary)", "hunter22"),
    ("https://x.org/q?a=1&api_key=k123456&b=2", "k123456"),
])
def test_credentials_embedded_in_text_are_found_and_only_they_are_replaced(text, credential):
    found: list[tuple[tuple, str]] = []

    def remember(path, value):
        found.append((path, value))
        return "<C>"

    replaced = walk_secrets({"note": text}, remember)

    assert found == [(("note",), credential)]
    assert replaced == {"note": text.replace(credential, "<C>")}


@pytest.mark.parametrize("text", [
    "https://x.org/q?page=2&by=region",
    "postgresql://reader:${DB_PASSWORD}@db/app",
    "https://x.org/q?token=${TOKEN}",
    "Bearer ${TOKEN}",
    "ghp_short",
])
def test_references_and_harmless_text_are_not_credentials(text):
    assert literal_secrets({"note": text}) == []
    assert redact_secrets({"note": text}) == {"note": text}


def test_redacting_a_config_replaces_each_credential_and_keeps_the_rest():
    config = {"url": "postgresql://reader:hunter22@db/app?sslmode=require",
              "headers": {"Authorization": "Bearer abcdefgh123"}, "values": [1, GITHUB],
              "query": "select 1"}

    assert redact_secrets(config) == {
        "url": f"postgresql://reader:{REDACTED}@db/app?sslmode=require",
        "headers": {"Authorization": REDACTED}, "values": [1, REDACTED], "query": "select 1"}


def test_a_value_under_a_secret_name_is_handed_to_the_callback_as_it_is():
    seen: dict[tuple, object] = {}

    def remember(path, value):
        seen[path] = value
        return value

    walk_secrets({"token": "abc123", "auth": {"pin": 4711}}, remember)

    assert seen == {("token",): "abc123", ("auth", "pin"): 4711}


def test_a_path_is_written_with_dots_for_keys_and_brackets_for_indexes():
    assert path_text(()) == "config"
    assert path_text(("headers", "Authorization")) == "config.headers.Authorization"
    assert path_text(("values", 2, "token"), root="source") == "source.values[2].token"


def test_a_literal_secret_found_twice_at_one_path_is_listed_once():
    assert literal_secrets({"note": f"{GITHUB} and {GITHUB}"}) == [("note",)]


# ------------------------------------------------------------------------- backfill errors


NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
PASSWORD = "prom-hunter2-secret"


def backfill_behind(tmp_path, answer) -> tuple[PullOutcome, list[PullAttempt]]:
    """Backfill a Prometheus metric whose connection's URL holds ${PROM_PASSWORD}, against a
    transport that answers with ``answer(request)``; returns the outcome and the recorded
    attempts."""
    engine = make_engine(f"sqlite:///{tmp_path / 'outcome.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    actor = Actor("T1", "eve", admin=True)
    with transaction(sessions) as session:
        define_initiative(session, actor, "fleet",
                          {"name": "Fleet", "sprint_anchor": date(2026, 11, 16)}, now=NOW)
        define_metric(session, actor, "fleet", "deploy", {
            "name": "Deploy", "target_value": 10.0, "source_kind": "prometheus",
            "source_config": {"connection": "prom", "query": "deploy_minutes"}}, now=NOW)
    with transaction(sessions) as session:
        (job,) = [PullJob.of(m) for m in pulled_metrics(session, "T1")]
    connections = parse_connections({"connections": {"prom": {
        "kind": "prometheus", "url": "http://reader:${PROM_PASSWORD}@prometheus.test"}}},
        environ={"PROM_PASSWORD": PASSWORD})
    resources = Resources(http=httpx.Client(), connections=connections,
                          client_factory=lambda _connection: httpx.Client(
                              transport=httpx.MockTransport(answer)))
    try:
        puller = Puller(sessions, resources, PullPolicy(retries=0), clock=lambda: NOW)
        outcome = puller.backfill(job, NOW - timedelta(days=2), NOW)
        with transaction(sessions) as session:
            attempts = list(session.scalars(select(PullAttempt)))
            session.expunge_all()
    finally:
        resources.close()
        engine.dispose()
    return outcome, attempts


def test_a_backfill_error_is_redacted_in_the_outcome_and_in_the_recorded_attempt(tmp_path):
    def unavailable(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text=f"upstream {request.url} is down")

    outcome, attempts = backfill_behind(tmp_path, unavailable)

    assert not outcome.ok and not outcome.permanent
    assert PASSWORD not in outcome.error
    assert outcome.error == "Prometheus at prometheus.test answered HTTP 503 Service Unavailable."
    assert [(a.error, a.trigger, a.ok) for a in attempts] == [(outcome.error, "backfill", False)]


def test_a_source_bug_during_a_backfill_is_recorded_and_its_secrets_stay_out_of_the_log(
        tmp_path, caplog):
    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError(f"bug while reading {request.url}")  # not an httpx error

    outcome, attempts = backfill_behind(tmp_path, broken)

    assert (outcome.ok, outcome.permanent) == (False, False)
    assert outcome.error == "unexpected RuntimeError in the source"
    assert [a.error for a in attempts] == [outcome.error]
    assert "bug while reading" in caplog.text and PASSWORD not in caplog.text
