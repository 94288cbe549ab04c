"""The composition root: from the settings, the database, clock and source clients.

Every process gets its engine, sessions, clock and source clients here, and nowhere else:
code below is handed them. :mod:`bot.processes` adds what only the long-running processes
need (Slack, the scheduler, chart workers), so a terminal command never loads them.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.app.context import Actor, Context, Defaults
from bot.core.clock import system_clock
from bot.core.errors import ConfigError
from bot.core.settings import SETTINGS, Settings
from bot.storage import db
from metrics.connection_file import load_connections
from metrics.connections import Connections
from metrics.kinds import connection_kinds
from metrics.resources import Resources, open_resources


def open_database(settings: Settings) -> Engine:
    """The configured engine; the embedded SQLite default migrates itself on first use."""
    engine = db.make_engine(settings.database_url)
    if not db.schema_is_current(engine):
        if engine.dialect.name != "sqlite":
            raise ConfigError(
                "The database schema is not up to date: run `outcome db upgrade` first "
                "(the Procfile's release step does this)."
            )
        db.upgrade(engine)
    return engine


def source_connections(settings: Settings) -> Connections:
    """The operator's ``OUTCOME_CONNECTIONS_FILE``, checked: no connection may reference
    one of the bot's own settings or read the bot's own database (``ConfigError``)."""
    return load_connections(settings.outcome_connections_file,
                            own_database=settings.database_url,
                            forbidden=[setting.name for setting in SETTINGS],
                            kinds=connection_kinds())


def source_resources(settings: Settings, connections: Connections | None = None
                     ) -> Resources:
    """Clients for metric sources and the connections they use (loaded from the settings
    unless given); ``OUTCOME_FILES_DIR`` is the one folder CSV files may be read from."""
    files_dir = settings.outcome_files_dir
    return open_resources(Path(files_dir) if files_dir else None,
                          connections=(source_connections(settings) if connections is None
                                       else connections))


def command_context(settings: Settings, sessions: sessionmaker[Session],
                    workspace: str | None = None) -> Context:
    """The CLI's context: acting as ``OUTCOME_USER`` in ``OUTCOME_WORKSPACE``, as the
    operator (whoever runs the bot's CLI may do everything an admin may)."""
    connections = source_connections(settings)
    return Context(Actor(workspace or settings.outcome_workspace, settings.cli_user,
                         operator=True),
                   sessions, system_clock, "outcome", Defaults.from_settings(settings),
                   lambda: source_resources(settings, connections), connections)
