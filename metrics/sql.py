"""The SQL source: one read-only SELECT against a SQLAlchemy URL (PostgreSQL, SQLite).

Config::

    {"url": "postgresql+psycopg://reader:${DB_PASSWORD}@db/app",
     "query": "select region, avg(minutes) from deploys group by region",
     "by": "region", "total": "mean", "timeout": 10}

The query returns one number, or rows of (segment, value): the segment is named
``<by>=<first column>`` (``by`` defaults to the first column's name) and a row whose
segment is NULL or '' is the total (e.g. from GROUPING SETS); otherwise the total is the
``total`` aggregate of the segments; rows of (segment, value, weight) go with ``"total":
"weighted"`` (a share per segment weighted by a count: their weighted mean, never a sum).

Read-only is enforced by the database, not by reading the query: (1) one statement:
PostgreSQL gets it as a prepared statement, which the server refuses to hold more than
one statement in, and sqlite3 refuses a second statement itself; (2) a read-only
transaction, always rolled back: ``SET TRANSACTION READ ONLY`` and ``SET LOCAL
statement_timeout`` (sessions also start ``default_transaction_read_only=on``), or SQLite's
``PRAGMA query_only``, a ``mode=ro`` file, an authorizer that only lets the statement read
and a progress handler as the timeout; (3) a role that can only read (:func:`check_role`),
checked when a connection is registered (:func:`check_reader`) and before each pull.
:func:`check_select` stays as an early, friendly message when a metric is defined.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from bot.core.errors import SourceError
from bot.core.points import Reading
from metrics.common import parse_total, require
from metrics.registry import register, source_timeout
from metrics.sql_rows import MAX_ROWS, rows_readings

if TYPE_CHECKING:
    from metrics.resources import Resources

log = logging.getLogger(__name__)

_LEXEMES = re.compile(
    r"""(?P<comment>--[^\n]*|/\*.*?\*/)
      | (?P<string>'(?:[^']|'')*'|\$(?P<tag>\w*)\$.*?\$(?P=tag)\$)
      | (?P<ident>"(?:[^"]|"")*")""",
    re.DOTALL | re.VERBOSE,
)
_WRITE_WORDS = re.compile(
    r"\b(insert|update|delete|merge|upsert|drop|alter|create|truncate|grant|revoke|copy|"
    r"vacuum|attach|detach|pragma|into|lock|reindex|refresh|listen|notify|savepoint|"
    r"commit|rollback|begin)\b",
    re.IGNORECASE,
)
_READER_FIX = ("connect as a role that can only SELECT, e.g. `create role outcome_reader "
               "login password '…'; grant select on all tables in schema public to "
               "outcome_reader`")
# Every role the session's role may act as (itself, inherited or through SET ROLE), then
# whatever lets one of them write, create objects, or reach server files and programs.
_ROLE_PROBLEMS = """
with me as (
    select oid, rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication,
           rolbypassrls, case when rolname = session_user then null else rolname end as via
    from pg_roles where pg_has_role(session_user, oid, 'MEMBER')
), own as (select oid, via from me where not starts_with(rolname, 'pg_'))
select 1, 'is a superuser', via from me where rolsuper
union all select 2, 'can create roles', via from me where rolcreaterole
union all select 3, 'can create databases', via from me where rolcreatedb
union all select 4, 'can start replication', via from me where rolreplication
union all select 5, 'bypasses row-level security', via from me where rolbypassrls
union all select 6, 'is a member of ' || rolname, null from me
    where rolname in ('pg_write_all_data', 'pg_read_server_files', 'pg_write_server_files',
                      'pg_execute_server_program', 'pg_maintain', 'pg_create_subscription')
union all select 7, 'can create objects in database ' || quote_ident(current_database()), via
    from own where has_database_privilege(oid, current_database(), 'CREATE')
union all select 8, 'can create objects in schema ' || quote_ident(n.nspname), via
    from own, pg_namespace n
    where not starts_with(n.nspname, 'pg_') and n.nspname <> 'information_schema'
      and has_schema_privilege(own.oid, n.oid, 'CREATE')
union all select 9, 'can write to ' || case c.relkind when 'v' then 'view '
        when 'm' then 'materialized view ' when 'f' then 'foreign table '
        when 'S' then 'sequence ' else 'table ' end
        || quote_ident(n.nspname) || '.' || quote_ident(c.relname), via
    from own, pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
      and not starts_with(n.nspname, 'pg_') and n.nspname <> 'information_schema'
      and case when c.relkind = 'S' then has_sequence_privilege(own.oid, c.oid, 'USAGE, UPDATE')
          else has_table_privilege(own.oid, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, TRIGGER')
               or has_any_column_privilege(own.oid, c.oid, 'INSERT, UPDATE') end
order by 1, 3 nulls last, 2
limit 6
"""
# What a SQLite statement may do while the source's query is prepared: read, nothing else.
_SQLITE_READS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                           sqlite3.SQLITE_RECURSIVE})


def check_select(query: str) -> str:
    """``query`` if it is one SELECT/WITH statement without write keywords, else a
    permanent :class:`SourceError` saying what to change.

    A friendly early message only: the database enforces read-only (see the module doc).
    """

    def blank(match: re.Match[str]) -> str:
        return " " if match["comment"] else "''" if match["string"] else '""'

    code = _LEXEMES.sub(blank, query).strip()
    code = code.rstrip(";").rstrip()
    if not code:
        raise SourceError("The SQL query is empty.", permanent=True)
    if ";" in code:
        raise SourceError("The SQL source runs a single statement; remove the ';' and what "
                          "follows it.", permanent=True)
    first = re.match(r"[\s(]*(\w+)", code)
    if not first or first[1].lower() not in ("select", "with"):
        raise SourceError("The SQL source only runs a SELECT (or WITH ... SELECT) "
                          "statement; it never writes.", permanent=True)
    write = _WRITE_WORDS.search(code)
    if write:
        raise SourceError(f"The SQL source is read-only and refuses {write[1].upper()!r} in "
                          "a query (a column with that name can be written in double "
                          "quotes).", permanent=True)
    return query.strip().rstrip(";")


def read_only_engine(url: str, timeout: float) -> Engine:
    """An engine for a SQL source: read-only sessions and a statement timeout where the
    database supports them at connect time."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise SourceError("The SQL source url is not a SQLAlchemy URL, e.g. "
                          "postgresql+psycopg://reader:${DB_PASSWORD}@host/db or "
                          "sqlite:////srv/data/app.db.", permanent=True) from None
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.drivername != "postgresql+psycopg":
            raise SourceError(f"The SQL source cannot use {parsed.drivername!r}; use "
                              "postgresql+psycopg://....", permanent=True)
        milliseconds = int(timeout * 1000)
        kwargs["connect_args"] = {
            "options": f"-c default_transaction_read_only=on "
                       f"-c statement_timeout={milliseconds}",
            "connect_timeout": max(int(timeout), 1),
        }
        kwargs.update(pool_size=2, max_overflow=4)
    elif backend == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise SourceError("The SQL source needs a SQLite file, e.g. "
                              "sqlite:////srv/data/app.db.", permanent=True)
        if not database.startswith("file:"):
            parsed = parsed.set(database=f"file:{database}",
                                query={**parsed.query, "mode": "ro", "uri": "true"})
        kwargs["connect_args"] = {"timeout": timeout}
    else:
        raise SourceError(f"The SQL source cannot use {parsed.drivername!r}: it reads "
                          "PostgreSQL (postgresql+psycopg://...) or SQLite (sqlite:///...).",
                          permanent=True)
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise SourceError(f"The SQL source cannot use {parsed.drivername!r}: {exc}.",
                          permanent=True) from None
    if backend == "sqlite":
        event.listen(engine, "connect", lambda raw, _: raw.execute("PRAGMA query_only = ON"))
    return engine


def check_reader(engine: Engine) -> None:
    """Refuse (permanent :class:`SourceError`) an engine the SQL source must not read
    through: a PostgreSQL role that can do more than read, a SQLite file open for writing,
    or another database. Meant for when a connection is registered; pulls check too."""
    try:
        with engine.connect() as connection:
            try:
                if connection.dialect.name != "sqlite":
                    _require_postgresql(connection)
                    check_role(connection)
                elif (engine.url.query.get("mode") != "ro"
                      or not connection.exec_driver_sql("PRAGMA query_only").scalar()):
                    raise SourceError("The SQLite connection could write to its file; open "
                                      "it read-only (sqlite:///file:/path/app.db?mode=ro&uri="
                                      "true) with PRAGMA query_only, as read_only_engine does.",
                                      permanent=True)
            finally:
                connection.rollback()
    except DBAPIError as exc:
        raise _sql_error(exc.orig or exc, 0) from None


def _require_postgresql(connection: Connection) -> None:
    dialect = connection.dialect
    if dialect.name != "postgresql" or dialect.driver != "psycopg":
        raise SourceError(f"The SQL source cannot read through {dialect.name}+"
                          f"{dialect.driver}: it reads PostgreSQL through psycopg "
                          "(postgresql+psycopg://...) or SQLite.", permanent=True)


def check_role(connection: Connection) -> None:
    """Refuse a PostgreSQL session whose role could write, create objects, or read server
    files and run programs, naming the first problems and how to fix them."""
    rows = connection.exec_driver_sql(_ROLE_PROBLEMS).fetchall()
    if not rows:
        return
    through: dict[str, str | None] = {}
    for _, reason, via in rows:  # a privilege inherited from a role: name that role
        through.setdefault(reason, via)
    found = [reason + (f" (through role {via})" if via else "") for reason, via in through.items()]
    more = " and more" if len(found) > 5 else ""
    raise SourceError(f"The SQL connection's role {', '.join(found[:5])}{more}; "
                      f"{_READER_FIX}.", permanent=True)


@contextmanager
def _read_only(connection: Connection, timeout: float) -> Iterator[None]:
    """Make this connection's transaction read-only and time-limited, whatever engine it
    came from (also one that was not built by :func:`read_only_engine`)."""
    if connection.dialect.name != "sqlite":
        _require_postgresql(connection)
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
        check_role(connection)
        yield
        return
    raw = _driver_connection(connection)
    deadline = time.monotonic() + timeout
    query_only = raw.execute("PRAGMA query_only").fetchone()[0]
    raw.execute("PRAGMA query_only = ON")
    raw.set_authorizer(_sqlite_authorize)
    # A non-zero return from the progress handler interrupts the running statement.
    raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)
        raw.set_authorizer(None)
        raw.execute(f"PRAGMA query_only = {int(query_only)}")


def _sqlite_authorize(action: int, *_args: Any) -> int:
    return sqlite3.SQLITE_OK if action in _SQLITE_READS else sqlite3.SQLITE_DENY


def _driver_connection(connection: Connection) -> Any:
    raw = connection.connection.driver_connection
    if raw is None:  # the pool hands out live connections only; refuse rather than run free
        raise SourceError("The SQL source lost its database connection.", permanent=False)
    return raw


def _run_one(connection: Connection, query: str, timeout: float
             ) -> tuple[list[str], list[Any]]:
    """Run ``query`` as exactly one statement straight through the driver; return its
    column names and up to MAX_ROWS + 1 rows."""
    raw = _driver_connection(connection)
    postgresql = connection.dialect.name == "postgresql"
    # psycopg sends a query without parameters by the simple protocol, which runs every
    # statement in it; prepare=True sends it as one prepared statement (Parse/Bind/Execute)
    # instead, unless the connection turned preparing off.
    if postgresql and raw.prepare_threshold is None:
        raise SourceError("The SQL source's connection has prepared statements turned off "
                          "(prepare_threshold=None); it needs them to run one statement.",
                          permanent=True)
    cursor = raw.cursor()
    try:
        cursor.execute(query, **({"prepare": True} if postgresql else {}))
        if cursor.description is None:
            raise SourceError("The query returned no result set; write a SELECT.",
                              permanent=True)
        return [column[0] for column in cursor.description], cursor.fetchmany(MAX_ROWS + 1)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _sql_error(exc, timeout) from None
    finally:
        cursor.close()


def _sql_error(orig: BaseException, timeout: float) -> SourceError:
    """The database's message is quoted only when it is about the query's text or the role
    (syntax, names, privileges), never when it may carry values the query read."""
    message = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    state = str(getattr(orig, "sqlstate", "") or "")
    lowered = message.lower()
    if state == "57014" or lowered == "interrupted":
        return SourceError(f"The query ran longer than its {timeout:g} s statement timeout.",
                           permanent=False)
    if state == "25006" or lowered == "not authorized" or any(
            word in lowered for word in ("readonly", "read-only")):
        return SourceError(f"The database refused a write; the SQL source is read-only "
                           f"({message}).", permanent=True)
    if state[:2] in ("42", "28", "3D", "0A", "25"):
        return SourceError(f"The database refused the query: {message}", permanent=True)
    if isinstance(orig, sqlite3.Error):  # its messages name tables and columns, not values
        permanent = isinstance(orig, sqlite3.ProgrammingError) or any(
            word in lowered for word in ("syntax error", "no such", "unable to open"))
        verb = "refused the query:" if permanent else "could not run the query:"
        return SourceError(f"The database {verb} {message}", permanent=permanent)
    log.info("SQL source: the database failed the query (SQLSTATE %s, %s): %s",
             state or "none", type(orig).__name__, message)
    if state[:2] == "22":
        return SourceError(f"The query failed on the data it read (SQLSTATE {state}, e.g. a "
                           "division by zero or a value its cast does not fit); the "
                           "database's message is in the operator's log.", permanent=True)
    return SourceError(f"The database could not run the query ({type(orig).__name__}"
                       f"{', SQLSTATE ' + state if state else ''}); the details are in the "
                       "operator's log.", permanent=False)


@register("sql")
class SqlSource:
    kind = "sql"

    def __init__(self, config: dict[str, Any], engine: Engine) -> None:
        require(config, "url", "sql", "url=postgresql+psycopg://reader:${DB_PASSWORD}@host/db")
        self.query = check_select(str(require(config, "query", "sql",
                                              'query="select count(*) from signups"')))
        self.by = str(config["by"]) if config.get("by") else None
        self.total = parse_total(config, weights_from="the query's third column")
        self.timeout = source_timeout(config)
        self.engine = engine

    @staticmethod
    def check_config(config: Mapping[str, Any]) -> None:
        """A query that writes is refused when the metric is defined, not at its first pull."""
        if config.get("query") not in (None, ""):
            check_select(str(config["query"]))

    @classmethod
    def from_config(cls, config: dict[str, Any], resources: Resources) -> SqlSource:
        url = str(require(config, "url", "sql", "url=sqlite:////srv/data/app.db"))
        return cls(config, resources.engine_for(url, source_timeout(config)))

    def read(self, at: datetime) -> list[Reading]:
        try:
            with self.engine.connect() as connection:
                try:
                    with _read_only(connection, self.timeout):
                        columns, rows = _run_one(connection, self.query, self.timeout)
                finally:
                    connection.rollback()
        except DBAPIError as exc:
            raise _sql_error(exc.orig or exc, self.timeout) from None
        except SQLAlchemyError as exc:
            raise SourceError(f"The SQL source failed: {type(exc).__name__}.",
                              permanent=False) from None
        return rows_readings(at, columns, rows, self.by, self.total)
