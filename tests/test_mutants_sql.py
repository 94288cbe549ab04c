"""The read-only SQL guard in each of its layers, on SQLite and a real PostgreSQL.

Written against surviving mutants of ``metrics/sql.py``: the definition-time statement
check, the read-only engine, the per-transaction guard for any engine, and the shape rules.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sql_roles import roles_in
from sqlalchemy import Engine, create_engine, text

from bot.core.errors import SourceError
from metrics.sql import MAX_ROWS, SqlSource, check_select, read_only_engine

AT = datetime(2026, 11, 20, 12, tzinfo=UTC)
SLOW_SQLITE = ("with recursive c(x) as (select 1 union all select x + 1 from c "
               "where x < 500000000) select count(*) from c")


def fill(url: str) -> str:
    """``url`` with a `deploys` table of two rows, written through an ordinary engine."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("create table deploys (region varchar(8), minutes float)"))
        connection.execute(text("insert into deploys values ('eu', 30), ('us', 40)"))
    engine.dispose()
    return url


@pytest.fixture
def warehouse(database_url: str) -> str:
    return fill(database_url)


@pytest.fixture
def plain(warehouse: str) -> Iterator[Engine]:
    """An ordinary engine, not built by read_only_engine: read-write on SQLite, and on
    PostgreSQL as a role that may only read (the source refuses any other role)."""
    if not warehouse.startswith("postgresql"):
        engine = create_engine(warehouse)
        yield engine
        engine.dispose()
        return
    with roles_in(warehouse) as roles:
        engine = create_engine(roles.reader("deploys"))
        yield engine
        engine.dispose()


def sql(engine: Engine, query: str, **config: object) -> SqlSource:
    return SqlSource({"url": "(given)", "query": query, **config}, engine)


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("select count(*) from deploys")).scalar_one()


# ------------------------------------------------------------------------- definition time


@pytest.mark.parametrize("query", [
    "do $$ begin delete from deploys; end $$",
    "DO $body$ begin perform 1; end $body$",
    "  /* quiet */ do language plpgsql $$ begin null; end $$",
    "call refresh_everything()",
    "(call refresh_everything())",
    "CALL archive.rotate(1, 'x')",
])
def test_do_blocks_and_procedure_calls_fail_the_definition_time_check(query):
    with pytest.raises(SourceError) as caught:
        SqlSource.check_config({"url": "sqlite:////tmp/x.db", "query": query})

    assert caught.value.permanent
    assert caught.value.message == ("The SQL source only runs a SELECT (or WITH ... SELECT) "
                                    "statement; it never writes.")


@pytest.mark.parametrize(("query", "word"), [
    ("select 1 from deploys for update", "UPDATE"),
    ("with x as (select 1) select * from x where exists (select pg_notify('c', 'x'))", None),
    ("select * from t; ", None),
])
def test_a_write_keyword_is_named_in_the_refusal(query, word):
    if word is None:
        assert check_select(query) == query.strip().rstrip(";")
        return
    with pytest.raises(SourceError) as caught:
        check_select(query)
    assert caught.value.message == (
        f"The SQL source is read-only and refuses {word!r} in a query (a column with that "
        "name can be written in double quotes).")


def test_a_query_is_returned_without_surrounding_space_and_its_final_semicolon():
    assert check_select("  (select 1);  ") == "(select 1)"
    assert check_select('select "update" from t -- delete\n') == (
        'select "update" from t -- delete')


@pytest.mark.parametrize(("query", "message"), [
    ("", "The SQL query is empty."),
    (" ;; -- nothing\n", "The SQL query is empty."),
    ("select 1; select 2", "The SQL source runs a single statement; remove the ';' and what "
                           "follows it."),
])
def test_an_empty_or_multiple_statement_query_is_refused_saying_what_to_change(query, message):
    with pytest.raises(SourceError) as caught:
        check_select(query)
    assert caught.value.permanent
    assert caught.value.message == message


def test_a_semicolon_inside_a_string_or_dollar_quote_is_not_a_second_statement():
    assert check_select("select 'a;b', $$c;d$$, $t$e;f$t$") == "select 'a;b', $$c;d$$, $t$e;f$t$"


def test_a_config_without_a_query_is_left_to_the_pull_time_check():
    SqlSource.check_config({"url": "sqlite:////tmp/x.db"})
    SqlSource.check_config({"url": "sqlite:////tmp/x.db", "query": ""})
    with pytest.raises(SourceError):
        SqlSource.check_config({"query": "delete from t"})


# ------------------------------------------------------------------------- any engine


def test_the_read_only_guard_stays_in_force_for_an_engine_not_built_by_read_only_engine(
        plain) -> None:
    source = sql(plain, "select 1")
    source.query = "insert into deploys values ('xx', 1)"  # as if the check had a hole

    with pytest.raises(SourceError) as caught:
        source.read(AT)

    assert caught.value.permanent
    assert caught.value.message.startswith("The database refused a write; the SQL source is "
                                           "read-only (")
    assert count(plain) == 2


def test_an_ordinary_engine_can_still_write_after_the_source_has_read_through_it(
        sqlite_url) -> None:
    plain = create_engine(fill(sqlite_url))
    assert sql(plain, "select count(*) from deploys").read(AT)[0].value == 2

    with plain.begin() as connection:
        connection.execute(text("insert into deploys values ('ap', 12)"))

    assert count(plain) == 3
    plain.dispose()


def test_the_statement_timeout_holds_for_an_engine_not_built_by_read_only_engine(
        plain, warehouse) -> None:
    slow = "select pg_sleep(5)" if warehouse.startswith("postgresql") else SLOW_SQLITE
    started = time.monotonic()

    with pytest.raises(SourceError) as caught:
        sql(plain, slow, timeout=0.3).read(AT)

    assert time.monotonic() - started < 3
    assert not caught.value.permanent
    assert caught.value.message == "The query ran longer than its 0.3 s statement timeout."
    assert sql(plain, "select count(*) from deploys", timeout=0.3).read(AT)[0].value == 2


# ------------------------------------------------------------------------- read_only_engine


def test_a_read_only_sqlite_engine_opens_the_file_read_only(sqlite_url) -> None:
    warehouse = fill(sqlite_url)
    engine = read_only_engine(warehouse, 2.0)
    try:
        assert engine.url.query == {"mode": "ro", "uri": "true"}
        assert engine.url.database.startswith("file:")
        with engine.connect() as connection, pytest.raises(Exception, match="readonly"):
            connection.execute(text("insert into deploys values ('xx', 1)"))
    finally:
        engine.dispose()
    assert count(create_engine(warehouse)) == 2


@pytest.mark.postgres
def test_a_read_only_postgresql_engine_starts_every_session_read_only_with_a_timeout(
        postgres_url) -> None:
    engine = read_only_engine(postgres_url.replace("postgresql+psycopg", "postgresql"), 2.5)
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        with engine.connect() as connection:
            assert connection.execute(text("show default_transaction_read_only")).scalar() == "on"
            assert connection.execute(text("show statement_timeout")).scalar() == "2500ms"
    finally:
        engine.dispose()


@pytest.mark.parametrize(("url", "message"), [
    ("not a url", "The SQL source url is not a SQLAlchemy URL"),
    ("sqlite://", "The SQL source needs a SQLite file"),
    ("sqlite:///:memory:", "The SQL source needs a SQLite file"),
    ("nosuchdb://x/y", "The SQL source cannot use 'nosuchdb'"),
])
def test_an_unusable_url_is_a_permanent_error_saying_what_to_use(url, message) -> None:
    with pytest.raises(SourceError) as caught:
        read_only_engine(url, 1.0)
    assert caught.value.permanent
    assert caught.value.message.startswith(message)


# ------------------------------------------------------------------------- result shapes


def test_a_query_returning_more_columns_or_rows_than_allowed_is_permanent(plain) -> None:
    with pytest.raises(SourceError) as four:
        sql(plain, "select region, minutes, minutes, minutes from deploys").read(AT)
    assert four.value.permanent
    assert four.value.message.startswith("The query returns 4 columns;")
    with pytest.raises(SourceError) as unweighted:
        sql(plain, "select region, minutes, minutes from deploys").read(AT)
    assert unweighted.value.permanent
    assert unweighted.value.message.startswith("A third column weighs the segments")
    with pytest.raises(SourceError) as many:
        sql(plain, "select region from deploys").read(AT)
    assert many.value.permanent
    assert many.value.message.startswith("The query returns 2 rows of one column;")


def test_exactly_max_rows_is_accepted_and_one_more_is_refused(plain) -> None:
    rows = ("with recursive n(i) as (select 1 union all select i + 1 from n where i < {0}) "
            "select 's' || i, i from n")
    readings = sql(plain, rows.format(MAX_ROWS)).read(AT)
    assert len([r for r in readings if r.segment]) == MAX_ROWS
    with pytest.raises(SourceError) as caught:
        sql(plain, rows.format(MAX_ROWS + 1)).read(AT)
    assert caught.value.permanent
    assert caught.value.message == f"The query returns more than {MAX_ROWS} rows."


def test_no_rows_or_a_null_value_may_pass_on_the_next_pull(plain) -> None:
    with pytest.raises(SourceError) as empty:
        sql(plain, "select minutes from deploys where region = 'mars'").read(AT)
    assert (empty.value.message, empty.value.permanent) == ("The query returned no rows.", False)
    with pytest.raises(SourceError) as null:
        sql(plain, "select max(minutes) from deploys where region = 'mars'").read(AT)
    assert (null.value.message, null.value.permanent) == ("The query returned NULL.", False)


def test_segments_with_a_null_value_are_skipped_and_an_empty_name_is_the_total(plain) -> None:
    query = ("select region, minutes from deploys union all select 'ap', null "
             "union all select '', 99")

    readings = sql(plain, query, by="zone").read(AT)

    assert {r.segment: r.value for r in readings} == {"zone=eu": 30, "zone=us": 40, "": 99}


# ------------------------------------------------------------------------- database errors


def test_a_query_the_database_rejects_is_a_permanent_error_quoting_its_first_line(
        plain, warehouse) -> None:
    with pytest.raises(SourceError) as caught:
        sql(plain, "select nope from deploys").read(AT)

    assert caught.value.permanent
    first_line = ('column "nope" does not exist' if warehouse.startswith("postgresql")
                  else "no such column: nope")
    assert caught.value.message == f"The database refused the query: {first_line}"


@pytest.mark.postgres
def test_a_data_error_is_permanent_and_leaves_the_databases_words_to_the_log(
        postgres_url, caplog) -> None:
    caplog.set_level(logging.INFO, logger="metrics.sql")
    with roles_in(fill(postgres_url)) as roles:
        engine = create_engine(roles.reader("deploys"))
        with pytest.raises(SourceError) as caught:
            sql(engine, "select cast(region as int) from deploys limit 1").read(AT)
        engine.dispose()

    assert caught.value.permanent
    assert caught.value.message == (
        "The query failed on the data it read (SQLSTATE 22P02, e.g. a division by zero or a "
        "value its cast does not fit); the database's message is in the operator's log.")
    assert 'invalid input syntax for type integer: "eu"' in caplog.text


def test_a_syntax_error_is_a_permanent_refusal(plain) -> None:
    with pytest.raises(SourceError) as caught:
        sql(plain, "select from from deploys").read(AT)

    assert caught.value.permanent
    assert caught.value.message.startswith("The database refused the query: ")
    assert "syntax error" in caught.value.message


def test_a_fault_in_the_query_without_a_sqlstate_is_permanent(sqlite_url) -> None:
    engine = create_engine(fill(sqlite_url))
    source = sql(engine, "select 1")
    source.query = "select 1; select 2"  # sqlite3 refuses two statements: ProgrammingError

    with pytest.raises(SourceError) as caught:
        source.read(AT)

    engine.dispose()
    assert caught.value.permanent
    assert caught.value.message == ("The database refused the query: You can only execute "
                                    "one statement at a time.")


def test_a_sqlite_fault_of_the_moment_may_pass_on_the_next_pull(sqlite_url) -> None:
    engine = create_engine(fill(sqlite_url), connect_args={"timeout": 0})
    with engine.connect() as holder:
        holder.exec_driver_sql("begin exclusive")
        with pytest.raises(SourceError) as caught:
            sql(engine, "select count(*) from deploys").read(AT)
        holder.exec_driver_sql("rollback")
    engine.dispose()

    assert not caught.value.permanent
    assert caught.value.message == "The database could not run the query: database is locked"


def test_an_unreachable_database_may_answer_on_the_next_pull() -> None:
    engine = create_engine("postgresql+psycopg://reader@127.0.0.1:1/app",
                           connect_args={"connect_timeout": 2})

    with pytest.raises(SourceError) as caught:
        sql(engine, "select 1").read(AT)

    engine.dispose()
    assert not caught.value.permanent
    assert caught.value.message == ("The database could not run the query (OperationalError); "
                                    "the details are in the operator's log.")
