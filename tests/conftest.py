"""Shared fixtures: real databases on both backends, schema built by Alembic only.

- ``postgres_cluster`` (session): one throwaway PostgreSQL server for the whole run.
- ``postgres_url``: a fresh, empty PostgreSQL database for one test.
- ``sqlite_url``: a fresh, empty SQLite file for one test.
- ``database_url``: parametrized over both, ids ``sqlite`` and ``postgresql``.
- ``engine``: an engine on ``database_url`` with the schema migrated to head.

Without PostgreSQL server binaries the PostgreSQL cases are skipped, except in CI
(``CI`` set) or with ``OUTCOME_REQUIRE_POSTGRES=1``, where they fail instead.
Deselect them with ``-m "not postgres"``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from pg import PostgresCluster, PostgresUnavailable, find_bindir
from sqlalchemy import Engine

from bot.storage.db import make_engine, upgrade


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server (started by tests)")


def postgres_required() -> bool:
    """True in CI, where a missing PostgreSQL must fail the run rather than skip tests."""
    ci = os.environ.get("CI", "").strip().lower()
    return ci not in {"", "0", "false", "no"} or os.environ.get("OUTCOME_REQUIRE_POSTGRES") == "1"


def _unavailable(reason: str) -> NoReturn:
    if postgres_required():
        pytest.fail(
            f"PostgreSQL is required (CI or OUTCOME_REQUIRE_POSTGRES=1) but {reason}",
            pytrace=False,
        )
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL server on a free loopback port, stopped after the run."""
    bindir = find_bindir()
    if bindir is None:
        _unavailable(
            "no server binaries (initdb, pg_ctl, postgres) were found via "
            "$OUTCOME_PG_BINDIR, `pg_config --bindir`, /usr/lib/postgresql/*/bin or PATH; "
            "install the 'postgresql' package"
        )
    try:
        cluster = PostgresCluster.start(bindir)
    except PostgresUnavailable as exc:
        _unavailable(str(exc))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(
    postgres_cluster: PostgresCluster, request: pytest.FixtureRequest
) -> Iterator[str]:
    """URL of a new, empty PostgreSQL database of this test's own, dropped afterwards."""
    name = postgres_cluster.create_database(hint=request.node.name)
    yield postgres_cluster.url(name)
    postgres_cluster.drop_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a new, empty SQLite file of this test's own."""
    return f"sqlite:///{tmp_path / 'outcome.db'}"


_URL_FIXTURES = {"sqlite": "sqlite_url", "postgresql": "postgres_url"}


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each backend in turn: the same test runs on both."""
    return request.getfixturevalue(_URL_FIXTURES[request.param])


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on ``database_url`` whose schema Alembic has migrated to head."""
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
