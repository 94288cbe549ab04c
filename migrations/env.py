"""Alembic environment: the engine comes from the caller or from DATABASE_URL."""

from __future__ import annotations

from alembic import context

# Imported for their tables: each adds its own to Base.metadata.
import bot.slack.tables
import bot.storage.ask_threads  # noqa: F401
from bot.core.settings import load_settings
from bot.storage.db import is_ours, make_engine
from bot.storage.models import Base

config = context.config


def _engine():
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine
    return make_engine(load_settings().database_url)


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_name=is_ours,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run `outcome db upgrade`.")
run_migrations_online()
