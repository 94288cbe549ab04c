"""The Alembic migrations build exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select

import bot.storage.ask_threads  # noqa: F401  (its table is in Base.metadata only once imported)
from bot.storage import db
from bot.storage.models import Base, Initiative


def _script(engine: Engine) -> ScriptDirectory:
    return ScriptDirectory.from_config(db.alembic_config(engine))


def _current_heads(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def _differences(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                              "include_name": db.is_ours})
        return compare_metadata(context, Base.metadata)


def _schema(engine: Engine) -> dict[str, Any]:
    """Everything a migration could change, in a form that compares with ==."""
    inspector = inspect(engine)
    schema: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        schema[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in inspector.get_columns(table)
            ],
            "pk": inspector.get_pk_constraint(table),
            "fks": sorted(inspector.get_foreign_keys(table), key=lambda fk: str(fk["name"])),
            # A partial index's WHERE comes back as a new clause object each time.
            "indexes": sorted(({**ix, "dialect_options": {
                                   k: str(v) for k, v in ix.get("dialect_options", {}).items()}}
                               for ix in inspector.get_indexes(table)),
                              key=lambda ix: str(ix["name"])),
            "unique": sorted(
                inspector.get_unique_constraints(table), key=lambda uq: str(uq["name"])
            ),
        }
    return schema


def test_migrations_have_a_single_head(sqlite_url: str) -> None:
    engine = db.make_engine(sqlite_url)
    try:
        assert len(_script(engine).get_heads()) == 1
    finally:
        engine.dispose()


def test_a_new_database_is_current_only_after_upgrade(database_url: str) -> None:
    engine = db.make_engine(database_url)
    try:
        assert not db.schema_is_current(engine)
        assert _current_heads(engine) == set()
        db.upgrade(engine)
        assert db.schema_is_current(engine)
        assert _current_heads(engine) == set(_script(engine).get_heads())
    finally:
        engine.dispose()


def test_upgraded_schema_matches_the_models(engine: Engine) -> None:
    assert _differences(engine) == []


def test_it_downgrades_to_base_and_upgrades_again(engine: Engine) -> None:
    command.downgrade(db.alembic_config(engine), "base")

    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert _current_heads(engine) == set()
    assert not db.schema_is_current(engine)

    db.upgrade(engine)

    assert db.schema_is_current(engine)
    assert _differences(engine) == []


def test_each_revision_downgrades_and_upgrades_again(database_url: str) -> None:
    """Stairway: every step down undoes its step up, so each can be retried after a fix."""
    engine = db.make_engine(database_url)
    config = db.alembic_config(engine)
    try:
        revisions = list(reversed(list(_script(engine).walk_revisions())))
        for revision in revisions:
            db.upgrade(engine, revision.revision)
            command.downgrade(config, revision.down_revision or "base")
            db.upgrade(engine, revision.revision)
        assert db.schema_is_current(engine)
    finally:
        engine.dispose()


def test_upgrading_a_current_database_changes_nothing(engine: Engine) -> None:
    with db.transaction(db.session_factory(engine)) as session:
        session.add(
            Initiative(
                workspace="T1",
                key="checkout",
                name="Faster checkout",
                sprint_anchor=date(2026, 1, 5),
            )
        )
    schema_before = _schema(engine)
    heads_before = _current_heads(engine)

    db.upgrade(engine)

    assert _current_heads(engine) == heads_before
    assert _schema(engine) == schema_before
    with db.session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Initiative)) == 1
