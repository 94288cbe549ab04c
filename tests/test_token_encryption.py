"""Slack tokens at rest: encrypted under OUTCOME_ENCRYPTION_KEYS, rotated to a new key,
migrated from plain text while the previous release keeps reading them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fake_slack import FakeSlack
from oauth_helpers import CLIENT_ID, CLIENT_SECRET, KEY_A, KEY_B, install, oauth_config
from slack_helpers import CHANNEL, PO, SIGNING_SECRET, Bot, migrated_engine, serving
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine, inspect, text

from bot.cli.main import main
from bot.core.errors import ConfigError
from bot.slack.installations import CIPHERTEXT_LENGTH, EncryptedInstallationStore, rotate_tokens
from bot.slack.posters import posters_for
from bot.slack.runtime import Runtime
from bot.storage import db
from bot.storage.crypto import Keyring
from handlers.app import build_app

pytest_plugins = ("slack_fixtures",)  # the bot and fake Slack fixtures

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "xoxb-7001-8002-Zq3kVb9sLmN4"
NOW = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


def _answer_token(bot: Bot, slack: FakeSlack, team: str, ts: str) -> str:
    """The token the bot posts with in ``team``: it answers a mention there."""
    result = bot.event({"type": "app_mention", "user": PO, "channel": CHANNEL, "ts": ts,
                        "text": "<@UBOTT1> what regressed?"}, team=team)
    assert result.status == 200
    post = slack.wait_for(lambda: [c for c in slack.ok_calls_to("chat.postMessage")
                                   if c.args.get("thread_ts") == ts])[0]
    return str(post.token)


def _bots_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(text(
            "select team_id, bot_token, bot_token_encrypted from slack_bots "
            "order by id")).mappings()]


def _installation(team: str, token: str) -> Installation:
    return Installation(app_id="A0FAKE", team_id=team, team_name=f"Team {team}",
                        bot_token=token, bot_id=f"B{team}", bot_user_id=f"UBOT{team}",
                        bot_scopes="commands,chat:write", user_id="UINSTALLER",
                        installed_at=NOW.timestamp())


def _store(engine: Engine, keys: str = KEY_A) -> EncryptedInstallationStore:
    return EncryptedInstallationStore(CLIENT_ID, engine, Keyring.from_setting(keys))


def _previous_release(engine: Engine) -> SQLAlchemyInstallationStore:
    """The store the previous release reads and writes installations with."""
    return SQLAlchemyInstallationStore(client_id=CLIENT_ID, engine=engine)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(slack: FakeSlack, engine: Engine, keys: str) -> None:
    build_app(oauth_config(slack, keys), Runtime(db.session_factory(engine), lambda: NOW),
              engine)


def test_an_installed_token_is_stored_encrypted_and_the_bot_posts_with_it(
        slack: FakeSlack, database_url: str) -> None:
    engine = migrated_engine(database_url)
    try:
        with serving(slack, engine, oauth_config(slack)) as bot:
            install(bot, slack, "T2", TOKEN)

            assert _answer_token(bot, slack, "T2", "1700000001.000100") == TOKEN
        [row] = _bots_rows(engine)
        assert row["bot_token"] is None
        assert TOKEN not in row["bot_token_encrypted"]
        assert Keyring.from_setting(KEY_A).decrypt(row["bot_token_encrypted"]) == TOKEN
        with engine.connect() as connection:
            assert connection.scalar(text(
                "select count(*) from slack_installations where bot_token is not null "
                "or bot_token_encrypted is null")) == 0
    finally:
        engine.dispose()


def test_rotating_to_a_new_key_leaves_the_old_one_unneeded(
        slack: FakeSlack, sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    engine = migrated_engine(sqlite_url)
    with serving(slack, engine, oauth_config(slack, KEY_A)) as bot:
        install(bot, slack, "T2", TOKEN)
    with serving(slack, engine, oauth_config(slack, f"{KEY_B},{KEY_A}")) as bot:
        assert _answer_token(bot, slack, "T2", "1700000002.000100") == TOKEN
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("OUTCOME_ENCRYPTION_KEYS", f"{KEY_B},{KEY_A}")

    assert main(["keys", "rotate"]) == 0

    assert "Encrypted 2 stored Slack token(s) with the newest key" in capsys.readouterr().out
    with serving(slack, engine, oauth_config(slack, KEY_B)) as bot:
        assert _answer_token(bot, slack, "T2", "1700000003.000100") == TOKEN
    with pytest.raises(ConfigError, match="cannot decrypt the bot_token of workspace T2"):
        _start(slack, engine, KEY_A)
    engine.dispose()


def test_a_key_that_cannot_decrypt_the_stored_tokens_stops_the_bot_at_start(
        slack: FakeSlack, sqlite_url: str) -> None:
    engine = migrated_engine(sqlite_url)
    _store(engine, KEY_A).save(_installation("T2", TOKEN))

    with pytest.raises(ConfigError) as refused:
        _start(slack, engine, KEY_B)
    with pytest.raises(ConfigError) as clock_refused:
        posters_for(oauth_config(slack, KEY_B), engine)

    assert refused.value.message == clock_refused.value.message == (
        "OUTCOME_ENCRYPTION_KEYS cannot decrypt the bot_token of workspace T2: the key that "
        "encrypted it is not in the list. Put that key back (after the newest one) and run "
        "`outcome keys rotate` before removing it.")
    assert not slack.calls_to("auth.test")
    engine.dispose()


@pytest.mark.parametrize(("keys", "message"), [
    ("", "SLACK_CLIENT_ID is set but OUTCOME_ENCRYPTION_KEYS is not"),
    ("not-a-key", "OUTCOME_ENCRYPTION_KEYS: key 1 of 1 is not a Fernet key"),
    (f"{KEY_B}, 12345", "OUTCOME_ENCRYPTION_KEYS: key 2 of 2 is not a Fernet key"),
])
def test_an_oauth_install_without_a_usable_key_refuses_to_start(
        slack: FakeSlack, sqlite_url: str, keys: str, message: str) -> None:
    engine = migrated_engine(sqlite_url)

    with pytest.raises(ConfigError) as refused:
        _start(slack, engine, keys)

    assert refused.value.message.startswith(message)
    assert "`outcome keys new`" in refused.value.message
    assert "12345" not in refused.value.message
    engine.dispose()


@pytest.mark.parametrize(("keys", "message"), [
    (None, "SLACK_CLIENT_ID is set but OUTCOME_ENCRYPTION_KEYS is not"),
    (KEY_B, "OUTCOME_ENCRYPTION_KEYS cannot decrypt the bot_token of workspace T2"),
])
def test_outcome_serve_says_what_to_fix_about_the_key_without_a_traceback(
        slack: FakeSlack, sqlite_url: str, keys: str | None, message: str) -> None:
    engine = migrated_engine(sqlite_url)
    _store(engine, KEY_A).save(_installation("T2", TOKEN))
    engine.dispose()
    environ = {name: value for name, value in os.environ.items()
               if not name.startswith(("SLACK_", "OUTCOME_"))}
    environ.update(DATABASE_URL=sqlite_url, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                   SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET,
                   SLACK_API_URL=slack.api_url, PORT=str(_free_port()),
                   OUTCOME_CHART_WORKERS="0")
    if keys is not None:
        environ["OUTCOME_ENCRYPTION_KEYS"] = keys

    done = subprocess.run([sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=120)

    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].startswith(message), done.stderr
    assert "Traceback" not in done.stderr
    assert TOKEN not in done.stderr + done.stdout


def test_outcome_keys_new_prints_a_fresh_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "new"]) == 0
    assert main(["keys", "new"]) == 0

    first, second = capsys.readouterr().out.split()
    assert first != second
    keyring = Keyring.from_setting(f"{first},{second}")
    assert keyring.decrypt(Keyring.from_setting(second).encrypt(TOKEN)) == TOKEN


def test_a_token_longer_than_the_plain_columns_fits_encrypted(engine: Engine) -> None:
    # A rotating token (xoxe.xoxb-...) of 300 characters: more than the plain columns'
    # 200, and its Fernet token within CIPHERTEXT_LENGTH.
    long_token = "xoxe.xoxb-1-" + "M" * 288
    store = _store(engine)

    store.save(_installation("T3", long_token))

    [row] = _bots_rows(engine)
    assert len(row["bot_token_encrypted"]) <= CIPHERTEXT_LENGTH
    bot = store.find_bot(enterprise_id=None, team_id="T3")
    assert bot is not None and bot.bot_token == long_token
    found = store.find_installation(enterprise_id=None, team_id="T3")
    assert found is not None and found.bot_token == long_token


def _plain_install_at_0008(engine: Engine, team: str, token: str) -> None:
    """An installation as the previous release stored it, written with SQL."""
    values = {"client_id": CLIENT_ID, "app_id": "A0FAKE", "team": team, "token": token,
              "bot_id": f"B{team}", "bot_user": f"UBOT{team}", "scopes": "commands",
              "no": False, "at": datetime(2026, 11, 30, 8, 0)}
    with engine.begin() as connection:
        connection.execute(text(
            "insert into slack_installations (client_id, app_id, team_id, bot_token, bot_id, "
            "bot_user_id, bot_scopes, user_id, is_enterprise_install, token_type, "
            "installed_at) values (:client_id, :app_id, :team, :token, :bot_id, :bot_user, "
            ":scopes, 'UINSTALLER', :no, 'bot', :at)"), values)
        connection.execute(text(
            "insert into slack_bots (client_id, app_id, team_id, bot_token, bot_id, "
            "bot_user_id, bot_scopes, is_enterprise_install, installed_at) values "
            "(:client_id, :app_id, :team, :token, :bot_id, :bot_user, :scopes, :no, :at)"),
            values)


def test_migration_0009_encrypts_stored_tokens_and_keeps_the_previous_releases_copy(
        database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine, "0008")
    _plain_install_at_0008(engine, "T7", TOKEN)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("OUTCOME_ENCRYPTION_KEYS", raising=False)
    monkeypatch.delenv("OUTCOME_ENCRYPTION_KEYS_FILE", raising=False)

    with pytest.raises(ConfigError, match=r"OUTCOME_ENCRYPTION_KEYS is not set\. Make a key "
                                          r"with `outcome keys new`"):
        db.upgrade(engine)

    assert db.current_revisions(engine) == ("0008",)
    assert "bot_token_encrypted" not in {c["name"] for c in inspect(engine)
                                         .get_columns("slack_bots")}
    key_file = tmp_path / "encryption-keys"
    key_file.write_text(KEY_A + "\n", encoding="utf-8")
    monkeypatch.setenv("OUTCOME_ENCRYPTION_KEYS_FILE", str(key_file))

    db.upgrade(engine)

    try:
        [row] = _bots_rows(engine)
        assert row["bot_token"] == TOKEN  # what the previous release still reads
        assert TOKEN not in row["bot_token_encrypted"]
        for release in (_store(engine), _previous_release(engine)):
            bot = release.find_bot(enterprise_id=None, team_id="T7")
            installation = release.find_installation(enterprise_id=None, team_id="T7")
            assert bot is not None and bot.bot_token == TOKEN
            assert installation is not None and installation.bot_token == TOKEN
        with engine.begin() as connection:  # only the ciphertext is read from now on
            connection.execute(text("update slack_bots set bot_token = 'xoxb-stale'"))
        bot = _store(engine).find_bot(enterprise_id=None, team_id="T7")
        assert bot is not None and bot.bot_token == TOKEN
    finally:
        engine.dispose()


def test_both_releases_find_every_installation_until_rotation_clears_the_plain_copies(
        engine: Engine) -> None:
    _previous_release(engine).save(_installation("T8", "xoxb-8-written-by-the-old-release"))
    _store(engine).save(_installation("T9", TOKEN))

    old = _store(engine).find_bot(enterprise_id=None, team_id="T8")
    assert old is not None and old.bot_token == "xoxb-8-written-by-the-old-release"

    rotation = rotate_tokens(engine, Keyring.from_setting(f"{KEY_B},{KEY_A}"))

    assert (rotation.encrypted, rotation.cleared) == (4, 2)
    assert [(r["team_id"], r["bot_token"]) for r in _bots_rows(engine)] == [("T8", None),
                                                                              ("T9", None)]
    for team, token in (("T8", "xoxb-8-written-by-the-old-release"), ("T9", TOKEN)):
        bot = _store(engine, KEY_B).find_bot(enterprise_id=None, team_id=team)
        assert bot is not None and bot.bot_token == token
        assert _previous_release(engine).find_bot(enterprise_id=None, team_id=team) is None


def test_downgrading_0009_writes_encrypted_only_tokens_back_in_plain_text(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = migrated_engine(sqlite_url)
    _store(engine).save(_installation("T4", TOKEN))
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("OUTCOME_ENCRYPTION_KEYS", KEY_A)

    command.downgrade(db.alembic_config(engine), "0008")

    bot = _previous_release(engine).find_bot(enterprise_id=None, team_id="T4")
    assert bot is not None and bot.bot_token == TOKEN
    engine.dispose()
