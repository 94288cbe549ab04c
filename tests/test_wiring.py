"""The composition root builds each process from the settings alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from bot import processes, wiring
from bot.core.errors import ConfigError
from bot.core.settings import Settings, load_settings
from bot.storage import db
from bot.tasks.local import LocalQueue
from bot.tasks.postgres import PostgresQueue


def settings_for(url: str, **environ: str) -> Settings:
    return load_settings({"DATABASE_URL": url, "OUTCOME_USER": "eve",
                          "OUTCOME_WORKSPACE": "T1", **environ})


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = wiring.open_database(settings_for(sqlite_url))
    try:
        yield engine
    finally:
        engine.dispose()


def test_the_embedded_sqlite_file_is_migrated_on_first_use(sqlite_engine: Engine) -> None:
    assert db.schema_is_current(sqlite_engine)


def test_a_postgresql_database_behind_the_migrations_is_refused(postgres_url: str) -> None:
    with pytest.raises(ConfigError, match="run `outcome db upgrade` first"):
        wiring.open_database(settings_for(postgres_url))


def test_without_slack_credentials_the_workers_pull_and_post_no_digests(
        sqlite_url: str, sqlite_engine: Engine) -> None:
    engine, runtime = processes.process_runtime(settings_for(sqlite_url), with_schedule=True)
    try:
        assert [p.task for p in runtime.registry.periodic] == ["pulls.due", "tasks.prune"]
        assert isinstance(runtime.tasks, LocalQueue) and runtime.run_tasks
    finally:
        engine.dispose()


def test_with_a_bot_token_the_workers_also_post_digests(sqlite_url: str,
                                                       sqlite_engine: Engine) -> None:
    settings = settings_for(sqlite_url, SLACK_BOT_TOKEN="xoxb-test",
                            SLACK_SIGNING_SECRET="secret")

    engine, runtime = processes.process_runtime(settings, with_schedule=True)
    try:
        assert sorted(p.task for p in runtime.registry.periodic) == [
            "digests.tick", "pulls.due", "tasks.prune"]
    finally:
        engine.dispose()


def test_on_postgresql_web_replicas_only_defer_and_workers_run_the_tasks(
        postgres_url: str) -> None:
    engine = db.make_engine(postgres_url)
    db.upgrade(engine)
    engine.dispose()
    engine, runtime = processes.process_runtime(settings_for(postgres_url),
                                                with_schedule=False)
    try:
        assert isinstance(runtime.tasks, PostgresQueue) and not runtime.run_tasks
        runtime.start_worker()
        assert runtime.worker is None
    finally:
        runtime.queue.close()  # type: ignore[attr-defined]
        engine.dispose()


def test_the_cli_acts_as_the_configured_user_with_the_configured_cadence(
        sqlite_url: str, sqlite_engine: Engine) -> None:
    settings = settings_for(sqlite_url, OUTCOME_TIMEZONE="Europe/Berlin",
                            OUTCOME_SPRINT_DAYS="7", OUTCOME_FISCAL_YEAR_START="4")

    ctx = wiring.command_context(settings, db.session_factory(sqlite_engine))

    assert (ctx.actor.workspace, ctx.actor.user, ctx.prefix) == ("T1", "eve", "outcome")
    assert (ctx.defaults.timezone, ctx.defaults.sprint_days,
            ctx.defaults.fiscal_year_start_month) == ("Europe/Berlin", 7, 4)
    assert ctx.now().tzinfo is not None
