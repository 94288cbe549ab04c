"""Fixtures for the Slack tests: the fake Slack Web API and the bot serving HTTP against it.

Load them with ``pytest_plugins = ("slack_fixtures",)`` in a test module.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_slack import FakeSlack
from slack_helpers import ENG, PO, Bot, migrated_engine, serving, token_config
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.db import make_engine, session_factory


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(PO, "ana")
        fake.add_user(ENG, "eli")
        yield fake


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated by Alembic; each test gets a copy (migrating takes ~0.5 s)."""
    path = tmp_path_factory.mktemp("slack-template") / "outcome.db"
    engine = migrated_engine(f"sqlite:///{path}")
    engine.dispose()
    return path


@pytest.fixture
def copied_sessions(migrated_sqlite: Path, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """Sessions on this test's own copy of the migrated SQLite template."""
    shutil.copyfile(migrated_sqlite, tmp_path / "outcome.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'outcome.db'}")
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def bot(slack: FakeSlack, migrated_sqlite: Path, tmp_path: Path) -> Iterator[Bot]:
    copy = tmp_path / "outcome.db"
    shutil.copyfile(migrated_sqlite, copy)
    engine = make_engine(f"sqlite:///{copy}")
    try:
        with serving(slack, engine, token_config(slack)) as running:
            yield running
    finally:
        engine.dispose()
