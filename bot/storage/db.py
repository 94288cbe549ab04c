"""Engine, sessions and schema migrations (Alembic only, on SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.sqlite_writes import serial_writes_factory

log = logging.getLogger(__name__)
T = TypeVar("T")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL, a busy timeout, and writers that
    take turns within this process (:mod:`bot.storage.sqlite_writes`)."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        kwargs["connect_args"].setdefault("factory", serial_writes_factory())
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def dialect_insert(session: Session) -> Callable[..., Any]:
    """The ``insert`` of the session's dialect, which has ``on_conflict_do_nothing``."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert is None:
        raise RuntimeError(f"Unsupported database dialect {dialect!r}")
    return insert


def binary_rows(session: Session, sql: str, params: dict[str, Any]) -> list[Any]:
    """Rows of ``sql`` (psycopg's ``%(name)s`` placeholders) in the session's PostgreSQL
    transaction, through a binary cursor: numbers and times cross as bytes, not text the
    server formats and the driver parses (about half the cost of reading many)."""
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor(binary=True) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def in_transaction(factory: sessionmaker[Session], work: Callable[[Session], T], *,
                   attempts: int = 3) -> T:
    """Run ``work`` in one transaction, again from the start if the connection was lost.

    A lost connection (a database restart, a failover, a killed backend) rolls the whole
    unit back, so running it again is safe; any other error is raised at once.
    """
    for attempt in range(1, attempts + 1):
        try:
            with transaction(factory) as session:
                return work(session)
        except DBAPIError as exc:
            if not exc.connection_invalidated or attempt == attempts:
                raise
            log.warning("database connection lost (attempt %d of %d); retrying",
                        attempt, attempts)
            time.sleep(0.1 * attempt)
    raise AssertionError("unreachable")


# Tables that another library creates and owns (procrastinate's, made by migration 0010),
# and ours that only exist beside them (0012): the models do not describe them, so
# comparing the schema with the models skips them.
FOREIGN_TABLE_PREFIXES = ("procrastinate_",)
BESIDE_FOREIGN_TABLES = ("outcome_task_errors",)


def is_ours(name: str | None, type_: str, _parents: object = None) -> bool:
    """Alembic's ``include_name`` hook: False for another library's tables and for those
    that only exist beside them."""
    if type_ != "table":
        return True
    return not ((name or "").startswith(FOREIGN_TABLE_PREFIXES)
                or name in BESIDE_FOREIGN_TABLES)


def alembic_config(engine: Engine) -> Config:
    """Alembic configuration bound to ``engine``; migrations ship inside the package."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("migrations")))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Build or migrate the schema to ``revision``."""
    command.upgrade(alembic_config(engine), revision)


def current_revisions(engine: Engine) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return tuple(MigrationContext.configure(connection).get_current_heads())


def schema_is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    if not inspect(engine).has_table("alembic_version"):
        return False
    return set(current_revisions(engine)) == set(script.get_heads())
