"""The SQL source is read-only because the database says so, not because of its text check.

Each server-side layer is proven on its own: the text check is replaced by the identity
(``no_text_check``) and, where a layer below the role check is under test, the role check
too (``no_role_check``) with a role that could write. The table's rows are compared after
every attempt. PostgreSQL is a real server (tests/pg.py); SQLite a real file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from sql_roles import PASSWORD, Roles, roles_in
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bot.core.errors import SourceError
from bot.core.points import Reading
from metrics import sql
from metrics.sql import SqlSource, check_reader, check_select, read_only_engine

AT = datetime(2026, 11, 20, 12, tzinfo=UTC)
ROWS = [("eu", 30.0), ("us", 40.0)]
SECRET = "xoxb-guard-5ecret"
READER_FIX = ("connect as a role that can only SELECT, e.g. `create role outcome_reader login "
              "password '…'; grant select on all tables in schema public to outcome_reader`.")
ONE_STATEMENT = ("The database refused the query: cannot insert multiple commands into a "
                 "prepared statement")
# The checker takes E'\' for a whole literal and everything up to the final ' for a
# second one; PostgreSQL reads E'\'' as one quote and runs the rest as statements.
E_STRING_BYPASS = "select E'\\''; commit; begin read write; update deploys set minutes = 0; --'"
postgres = pytest.mark.postgres


def fill(url: str) -> str:
    """``url`` with a `deploys` table and a `secrets` table holding one token."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("create table deploys (region varchar(8), minutes float)"))
        connection.execute(text("insert into deploys values ('eu', 30), ('us', 40)"))
        connection.execute(text("create table secrets (token varchar(40))"))
        connection.execute(text(f"insert into secrets values ('{SECRET}')"))
    engine.dispose()
    return url


def rows(url: str) -> list[tuple[str, float]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        result = connection.execute(text("select region, minutes from deploys order by 1"))
        found = [(region, minutes) for region, minutes in result]
    engine.dispose()
    return found


def pull(engine_or_url: Engine | str, query: str) -> list[Reading]:
    engine = (read_only_engine(engine_or_url, 2.0) if isinstance(engine_or_url, str)
              else engine_or_url)
    try:
        return SqlSource({"url": "(the connection's)", "query": query}, engine).read(AT)
    finally:
        if isinstance(engine_or_url, str):
            engine.dispose()


def refusal(engine_or_url: Engine | str, query: str) -> SourceError:
    with pytest.raises(SourceError) as caught:
        pull(engine_or_url, query)
    assert caught.value.permanent
    assert PASSWORD not in caught.value.message
    return caught.value


@pytest.fixture
def admin(postgres_url: str) -> str:
    """A superuser's URL of a database holding the tables."""
    return fill(postgres_url)


@pytest.fixture
def roles(admin: str) -> Iterator[Roles]:
    with roles_in(admin) as roles:
        yield roles


@pytest.fixture
def reader(roles: Roles) -> str:
    return roles.reader("deploys", "secrets")


@pytest.fixture
def writer(roles: Roles) -> str:
    return roles.create("writer", "grant select, insert, update, delete on deploys to {role}")


@pytest.fixture
def no_text_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql, "check_select", lambda query: query)


@pytest.fixture
def no_role_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql, "check_role", lambda connection: None)


# ------------------------------------------------------------------------- the role


@postgres
def test_a_reader_role_passes_the_check_and_reads_a_value(reader) -> None:
    engine = read_only_engine(reader, 2.0)
    try:
        check_reader(engine)
        assert [r.value for r in pull(engine, "select sum(minutes) from deploys")] == [70.0]
    finally:
        engine.dispose()


@postgres
def test_a_superuser_connection_is_refused_when_registered_and_at_each_pull(admin) -> None:
    engine = read_only_engine(admin, 2.0)
    try:
        with pytest.raises(SourceError) as registered:
            check_reader(engine)
        pulled = refusal(engine, "select count(*) from deploys")
    finally:
        engine.dispose()

    assert registered.value.permanent
    assert registered.value.message.startswith("The SQL connection's role is a superuser, ")
    assert registered.value.message.endswith(READER_FIX)
    assert pulled.message == registered.value.message


@postgres
def test_a_role_that_can_write_a_table_is_refused_naming_the_table_and_the_fix(writer) -> None:
    engine = read_only_engine(writer, 2.0)
    try:
        with pytest.raises(SourceError) as caught:
            check_reader(engine)
    finally:
        engine.dispose()

    assert caught.value.message == (
        f"The SQL connection's role can write to table public.deploys; {READER_FIX}")
    assert PASSWORD not in caught.value.message


@postgres
@pytest.mark.parametrize(("grants", "attributes", "problem"), [
    ((), "createdb", "can create databases"),
    ((), "createrole", "can create roles"),
    ((), "replication", "can start replication"),
    ((), "bypassrls", "bypasses row-level security"),
    (("grant pg_read_server_files to {role}",), "", "is a member of pg_read_server_files"),
    (("grant pg_write_server_files to {role}",), "", "is a member of pg_write_server_files"),
    (("grant pg_execute_server_program to {role}",), "",
     "is a member of pg_execute_server_program"),
    (("grant pg_write_all_data to {role}",), "", "is a member of pg_write_all_data"),
    (("grant select, update (minutes) on deploys to {role}",), "",
     "can write to table public.deploys"),
    (("grant truncate on deploys to {role}",), "", "can write to table public.deploys"),
    (("create table mine (x int)", "alter table mine owner to {role}"), "",
     "can write to table public.mine"),
    (("create view v as select * from deploys", "grant update on v to {role}"), "",
     "can write to view public.v"),
    (("create sequence s", "grant usage on sequence s to {role}"), "",
     "can write to sequence public.s"),
    (("grant create on schema public to {role}",), "", "can create objects in schema public"),
    (("grant create on database {database} to {role}",), "",
     "can create objects in database test_"),
], ids=["createdb", "createrole", "replication", "bypassrls", "read-files", "write-files",
        "program", "write-all", "column-update", "truncate", "owner", "view", "sequence",
        "schema-create", "database-create"])
def test_a_role_that_can_do_more_than_read_is_refused_saying_what(
        roles, grants, attributes, problem) -> None:
    engine = read_only_engine(roles.create("odd", *grants, attributes=attributes), 2.0)
    try:
        with pytest.raises(SourceError) as caught:
            check_reader(engine)
    finally:
        engine.dispose()

    assert caught.value.permanent
    assert caught.value.message.startswith(f"The SQL connection's role {problem}")
    assert caught.value.message.endswith(READER_FIX)


@postgres
@pytest.mark.parametrize("attributes", ["inherit", "noinherit"])
def test_a_member_of_a_role_that_can_write_is_refused_naming_that_role(
        roles, attributes) -> None:
    writers = make_url(roles.create("w", "grant insert on deploys to {role}")).username
    member = roles.create("member", f'grant "{writers}" to {{role}}', attributes=attributes)
    engine = read_only_engine(member, 2.0)
    try:
        with pytest.raises(SourceError) as caught:
            check_reader(engine)
    finally:
        engine.dispose()

    assert caught.value.message == (f"The SQL connection's role can write to table "
                                    f"public.deploys (through role {writers}); {READER_FIX}")


@postgres
def test_the_role_is_checked_again_before_each_pull(roles, reader, admin) -> None:
    engine = read_only_engine(reader, 2.0)
    try:
        assert pull(engine, "select count(*) from deploys")[0].value == 2
        roles.admin(f'grant insert on deploys to "{make_url(reader).username}"')

        refused = refusal(engine, "select count(*) from deploys")
    finally:
        engine.dispose()

    assert refused.message.startswith("The SQL connection's role can write to table "
                                      "public.deploys;")


# ------------------------------------------------------------------------- one statement


@postgres
def test_psycopg_runs_every_statement_of_a_plain_query_but_prepares_only_one(admin) -> None:
    """The driver behaviour the guard relies on: what makes the tests below meaningful."""
    with psycopg.connect(make_url(admin).set(drivername="postgresql").render_as_string(
            hide_password=False)) as connection:
        both = connection.execute("select 1; select 2")
        assert (both.fetchone(), both.nextset(), both.fetchone()) == ((1,), True, (2,))
        with pytest.raises(psycopg.errors.SyntaxError, match="multiple commands"):
            connection.execute("select 1; select 2", prepare=True)


@postgres
@pytest.mark.parametrize("query", [
    "select 1; delete from deploys",
    "commit; begin read write; update deploys set minutes = 0",
    "select 1; commit",
    "select 1; set session characteristics as transaction read write",
])
def test_a_second_statement_is_refused_by_the_server_without_the_text_check(
        writer, admin, no_text_check, no_role_check, query) -> None:
    assert refusal(writer, query).message == ONE_STATEMENT
    assert rows(admin) == ROWS


@postgres
def test_a_literal_the_text_check_lexes_differently_does_not_get_past_the_server(
        writer, reader, admin, no_role_check) -> None:
    assert check_select(E_STRING_BYPASS) == E_STRING_BYPASS  # the checker is fooled

    assert refusal(writer, E_STRING_BYPASS).message == ONE_STATEMENT
    assert refusal(reader, E_STRING_BYPASS).message == ONE_STATEMENT
    assert rows(admin) == ROWS


@postgres
def test_the_literal_is_a_real_bypass_for_a_driver_that_sends_several_statements(
        writer, admin) -> None:
    with psycopg.connect(make_url(writer).set(drivername="postgresql").render_as_string(
            hide_password=False), options="-c default_transaction_read_only=on") as connection:
        connection.execute("set transaction read only")
        connection.execute(E_STRING_BYPASS)

    assert rows(admin) == [("eu", 0.0), ("us", 0.0)]


@postgres
def test_a_backslash_quote_with_standard_conforming_strings_off_is_refused_by_the_server(
        roles, writer, admin, no_role_check) -> None:
    roles.admin(f'alter database "{roles.database}" set standard_conforming_strings = off')
    query = "select '\\''; commit; begin read write; update deploys set minutes = 0; --'"
    assert check_select(query) == query

    assert refusal(writer, query).message == ONE_STATEMENT
    assert rows(admin) == ROWS


# ------------------------------------------------------------------------- read-only transaction


@postgres
@pytest.mark.parametrize("query", [
    "with gone as (delete from deploys returning 1) select count(*) from gone",
    "update deploys set minutes = 0",
    "insert into deploys values ('xx', 1)",
])
def test_a_write_in_one_statement_is_refused_by_the_read_only_transaction(
        writer, admin, no_text_check, no_role_check, query) -> None:
    message = refusal(writer, query).message

    assert message.startswith("The database refused a write; the SQL source is read-only "
                              "(cannot execute ")
    assert message.endswith("in a read-only transaction).")
    assert rows(admin) == ROWS


@postgres
def test_a_session_made_read_write_by_one_pull_is_read_only_at_the_next(
        writer, admin, no_text_check, no_role_check) -> None:
    engine = read_only_engine(writer, 2.0)
    try:
        first = pull(engine, "select pg_backend_pid() + 0 * length(set_config("
                             "'default_transaction_read_only', 'off', false))")
        second = pull(engine, "select pg_backend_pid() * "
                              "(current_setting('transaction_read_only') = 'on')::int")
        write = refusal(engine, "insert into deploys values ('xx', 1)")
        leave = refusal(engine, "select set_config('transaction_read_only', 'off', false)")
    finally:
        engine.dispose()

    assert first[0].value == second[0].value  # the same session, still read-only
    assert "read-only transaction" in write.message
    assert leave.message == ("The database refused the query: transaction read-write mode "
                             "must be set before any query")
    assert rows(admin) == ROWS


@postgres
def test_a_query_that_ends_the_transaction_alone_writes_nothing_and_returns_nothing(
        writer, admin, no_text_check, no_role_check) -> None:
    engine = read_only_engine(writer, 2.0)
    try:
        assert refusal(engine, "commit").message == ("The query returned no result set; "
                                                     "write a SELECT.")
        assert "read-only transaction" in refusal(engine, "delete from deploys").message
    finally:
        engine.dispose()
    assert rows(admin) == ROWS


# ------------------------------------------------------------------------- server files, programs


@postgres
def test_copy_to_program_runs_for_no_role_the_source_accepts(admin, reader, no_text_check,
                                                            ) -> None:
    marker = f"/tmp/outcome-guard-{uuid.uuid4().hex}"
    # The program reads what COPY writes: one that exits first (touch alone) makes the
    # server's write fail now and then with a broken pipe.
    query = f"copy (select 1) to program 'cat > /dev/null && touch {marker}'"
    with psycopg.connect(make_url(admin).set(drivername="postgresql").render_as_string(),
                         autocommit=True) as connection:
        connection.execute(query)  # the server does run programs for a superuser
    assert os.path.exists(marker)
    os.remove(marker)

    superuser = refusal(admin, query)
    as_reader = refusal(reader, query)

    assert superuser.message.startswith("The SQL connection's role is a superuser")
    assert as_reader.message == (
        "The database refused the query: must be superuser or have privileges of the "
        "pg_execute_server_program role to COPY to or from an external program")
    assert not os.path.exists(marker)


@postgres
@pytest.mark.parametrize("query", [
    "select pg_read_file('/etc/hostname')",
    "select lo_export(lo_from_bytea(0, 'x'), '/tmp/outcome-guard-export')",
    "select length(pg_ls_dir('.')) from (select 1) x limit 1",
])
def test_server_files_are_out_of_a_readers_reach(reader, no_text_check, query) -> None:
    message = refusal(reader, query).message

    assert message.startswith("The database refused ")
    assert "permission denied" in message or "read-only transaction" in message
    assert not os.path.exists("/tmp/outcome-guard-export")


# ------------------------------------------------------------------------- fetched content


@postgres
@pytest.mark.parametrize("query", [
    "select token from secrets",
    "select 'a', token from secrets",
    "select cast(token as int) from secrets",
    "select 1 / (length(token) - length(token)) from secrets",
])
def test_a_postgresql_error_never_shows_what_the_query_read(reader, query) -> None:
    message = refusal(reader, query).message

    assert SECRET not in message and "5ecret" not in message


@pytest.mark.parametrize("query", ["select token from secrets", "select 'a', token from secrets"])
def test_a_sqlite_error_never_shows_what_the_query_read(sqlite_url, query) -> None:
    assert SECRET not in refusal(fill(sqlite_url), query).message


# ------------------------------------------------------------------------- SQLite


def test_sqlite_refuses_a_second_statement_itself(sqlite_url, no_text_check) -> None:
    engine = create_engine(fill(sqlite_url))  # an ordinary engine that could write
    try:
        message = refusal(engine, "select 1; delete from deploys").message
    finally:
        engine.dispose()

    assert message == ("The database refused the query: You can only execute one statement "
                       "at a time.")
    assert rows(sqlite_url) == ROWS


@pytest.mark.parametrize("query", [
    "delete from deploys",
    "pragma query_only = off",
    "attach database 'file:/tmp/outcome-guard.db?mode=rwc' as other",
    "with x as (select 1) insert into deploys select 'xx', 1 from x",
])
def test_a_sqlite_statement_may_only_read_even_through_an_engine_that_could_write(
        sqlite_url, no_text_check, query) -> None:
    engine = create_engine(fill(sqlite_url))
    try:
        assert refusal(engine, query).message == ("The database refused a write; the SQL "
                                                  "source is read-only (not authorized).")
        with engine.begin() as connection:  # the engine is left as it was
            connection.execute(text("insert into deploys values ('ap', 12)"))
    finally:
        engine.dispose()

    assert rows(sqlite_url) == [("ap", 12.0), *ROWS]
    assert not os.path.exists("/tmp/outcome-guard.db")


def test_a_sqlite_connection_must_open_its_file_read_only(sqlite_url) -> None:
    url = fill(sqlite_url)
    read_only, writable = read_only_engine(url, 2.0), create_engine(url)
    try:
        check_reader(read_only)
        with pytest.raises(SourceError) as caught:
            check_reader(writable)
    finally:
        read_only.dispose()
        writable.dispose()

    assert caught.value.permanent
    assert caught.value.message.startswith("The SQLite connection could write to its file; ")


# ------------------------------------------------------------------------- drivers


def test_another_postgresql_driver_is_refused_saying_which_to_use() -> None:
    with pytest.raises(SourceError) as caught:
        read_only_engine("postgresql+psycopg2://reader@db/app", 2.0)

    assert caught.value.permanent
    assert caught.value.message == ("The SQL source cannot use 'postgresql+psycopg2'; use "
                                    "postgresql+psycopg://....")


@postgres
def test_a_connection_with_prepared_statements_turned_off_is_refused(reader, admin,
                                                                    no_text_check) -> None:
    engine = create_engine(reader, connect_args={"prepare_threshold": None})
    try:
        message = refusal(engine, "select 1; delete from deploys").message
    finally:
        engine.dispose()

    assert message.startswith("The SQL source's connection has prepared statements turned off")
    assert rows(admin) == ROWS
