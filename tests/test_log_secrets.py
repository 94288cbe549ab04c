"""No secret in the log at any level: the filter configure_logging installs scrubs tokens,
credentials and the bot's own secret settings from every record."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from fake_slack import FakeSlack
from oauth_helpers import CLIENT_ID, CLIENT_SECRET, KEY_A, install
from slack_helpers import CHANNEL, PO, SIGNING_SECRET, migrated_engine, serving
from sqlalchemy import Engine, text

from bot.app.context import Actor
from bot.app.metric_changes import define_metric
from bot.app.review_builder import build_review
from bot.app.services import define_initiative
from bot.cli.main import main as cli_main
from bot.core.logs import QUIET_LOGGERS, configure_logging, secret_values
from bot.core.periods import THIS_SPRINT
from bot.core.settings import load_settings
from bot.slack.config import SlackConfig
from bot.storage.crypto import Keyring
from bot.storage.db import session_factory, transaction
from bot.storage.models import PullAttempt
from metrics.attempts import safe_error
from metrics.secrets import Redactor

pytest_plugins = ("slack_fixtures",)  # the bot and fake Slack fixtures

TOKEN = "xoxb-5150-6160-Hk2mQw8rTz"
NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


@pytest.fixture
def process_logging() -> Iterator[None]:
    """Lets a test configure logging as a process does; puts pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    yield
    for handler in root.handlers[:]:
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, was in quiet.items():
        logging.getLogger(name).setLevel(was)


def test_an_oauth_install_at_debug_logs_no_token_and_no_secret_setting(
        slack: FakeSlack, database_url: str, process_logging: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings({
        "DATABASE_URL": database_url, "LOG_LEVEL": "DEBUG", "SLACK_API_URL": slack.api_url,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET, "OUTCOME_ENCRYPTION_KEYS": KEY_A})
    configure_logging(settings.log_level, secret_values(settings))
    engine = migrated_engine(database_url)
    try:
        with serving(slack, engine, SlackConfig.from_settings(settings)) as bot:
            install(bot, slack, "T2", TOKEN)
            bot.event({"type": "app_mention", "user": PO, "channel": CHANNEL,
                       "ts": "1700000009.000100", "text": "<@UBOTT1> what regressed?"},
                      team="T2")
            post = slack.wait_for(lambda: [c for c in slack.ok_calls_to("chat.postMessage")
                                           if c.args.get("thread_ts") == "1700000009.000100"])
        with engine.connect() as connection:
            stored = connection.execute(text(
                "select bot_token, bot_token_encrypted from slack_installations")).one()
    finally:
        engine.dispose()

    log = capsys.readouterr().err
    assert post[0].token == TOKEN  # the bot posts with the token it stored
    assert stored.bot_token is None
    assert Keyring.from_setting(KEY_A).decrypt(stored.bot_token_encrypted) == TOKEN
    assert "oauth.v2.access" in log and "DEBUG" in log  # the exchange was logged, scrubbed
    for secret in (TOKEN, CLIENT_SECRET, SIGNING_SECRET, KEY_A, stored.bot_token_encrypted):
        assert secret not in log


def test_every_record_is_scrubbed_in_message_arguments_and_exception(
        process_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("DEBUG", ["push-token-8d7c6b", f"{KEY_A},older-key-material"])
    log = logging.getLogger("outcome.test")

    log.debug("answer %s", {"ok": True, "access_token": "opaque-token-without-a-shape"})
    log.info("calling with Authorization: Bearer %s", "eyJhbGciOi.payload.signature")
    log.warning("pushed with %s; app token xapp-1-A0FAKE-1234-abcdef", "push-token-8d7c6b")
    log.warning("key %s", KEY_A)
    try:
        raise ConnectionError("postgresql+psycopg://reader:hunter2-pw@db.internal/app "
                              "refused; refresh xoxe-1-My0xLTI4NzE; user xoxp-11-22-abc")
    except ConnectionError:
        log.exception("pull failed")

    output = capsys.readouterr().err
    for secret in ("opaque-token-without-a-shape", "eyJhbGciOi.payload.signature",
                   "push-token-8d7c6b", "xapp-1-A0FAKE", KEY_A, "hunter2-pw",
                   "xoxe-1-My0xLTI4NzE", "xoxp-11-22-abc"):
        assert secret not in output
    assert "ConnectionError: postgresql+psycopg://reader:<redacted>@db.internal/app" in output
    assert "answer {'ok': True, 'access_token': '<redacted>'}" in output
    assert output.count("<redacted>") >= 8


def test_secret_values_are_the_values_of_the_secret_settings() -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1-2-3", "OUTCOME_PUSH_TOKEN": "pt-1",
                              "OUTCOME_ENCRYPTION_KEYS": f"{KEY_A}, other-key",
                              "DATABASE_URL": "sqlite:///x.db", "SLACK_CLIENT_ID": "99.1"})

    values = secret_values(settings)

    assert {"xoxb-1-2-3", "pt-1", KEY_A, "other-key", "sqlite:///x.db"} <= set(values)
    assert "99.1" not in values  # the client id is not a secret


def test_a_pull_error_keeps_neither_resolved_secrets_nor_credential_shapes() -> None:
    resolved = Redactor()
    resolved.values.add("s3cr3t-from-the-environment")

    error = safe_error("upstream said s3cr3t-from-the-environment; the query's value is "
                       f"'{TOKEN}', not a number (https://bi:pw-1234@bi.internal/q?api_key="
                       "k-999&region=eu)", resolved)

    assert error == ("upstream said ***; the query's value is '<redacted>', not a number "
                     "(https://bi:<redacted>@bi.internal/q?api_key=<redacted>&region=eu)")


def test_an_error_stored_by_the_previous_release_is_shown_without_its_token(
        engine: Engine) -> None:
    actor = Actor("T1", "eve", admin=True)
    with transaction(session_factory(engine)) as session:
        define_initiative(session, actor, "fleet", {"name": "Fleet",
                                                    "sprint_anchor": date(2026, 11, 16)},
                          now=NOW)
        metric, _ = define_metric(session, actor, "fleet", "deploys", {
            "name": "Deploys", "target_value": 10.0}, now=NOW)
        session.add(PullAttempt(metric_id=metric.id, started_at=NOW, duration_ms=5, ok=False,
                                permanent=True, trigger="schedule",
                                error=f"The query's value is '{TOKEN}', not a number."))

    with transaction(session_factory(engine)) as session:
        review = build_review(session, "T1", THIS_SPRINT, NOW)

    reason = review.initiatives[0].metrics[0].status_reason
    assert reason == ("no samples recorded yet; last pull failed (permanent: fix the "
                      "source): The query's value is '<redacted>', not a number.")


def test_a_terminal_command_scrubs_tokens_from_what_it_logs(caplog, capsys) -> None:
    token = "xoxb-123456789012-abcdefABCDEF"
    assert cli_main(["--help"]) == 0
    logging.getLogger("metrics.pulling").warning("the source answered %s", token)
    assert "the source answered <redacted>" in caplog.text
    assert token not in caplog.text
