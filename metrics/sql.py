"""The SQL source: one read-only SELECT against a SQLAlchemy URL (PostgreSQL, SQLite).

Config::

    {"url": "postgresql+psycopg://reader:${DB_PASSWORD}@db/app",
     "query": "select region, avg(minutes) from deploys group by region",
     "by": "region", "total": "mean", "timeout": 10}

The query returns one number, or rows of (segment, value): the segment is named
``<by>=<first column>`` (``by`` defaults to the first column's name) and a row whose
segment is NULL or '' is the total (e.g. from GROUPING SETS); otherwise the total is the
``total`` aggregate of the segments.

Read-only in three layers: only a single SELECT/WITH statement without write keywords is
accepted; it runs in a read-only transaction (PostgreSQL ``SET TRANSACTION READ ONLY``,
SQLite ``PRAGMA query_only`` and a ``mode=ro`` file URI); and under a statement timeout
(PostgreSQL ``statement_timeout``, SQLite a progress handler that interrupts the query).
The database user should still be one that can only read.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from bot.core.errors import SourceError
from bot.core.points import Reading
from metrics.common import parse_total, require, segment_name, segmented, to_number
from metrics.registry import register, source_timeout

if TYPE_CHECKING:
    from metrics.resources import Resources

MAX_ROWS = 1000
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


def check_select(query: str) -> str:
    """``query`` if it is one SELECT/WITH statement without write keywords, else a
    permanent :class:`SourceError` saying what to change."""

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
    try:
        return create_engine(parsed, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise SourceError(f"The SQL source cannot use {parsed.drivername!r}: {exc}.",
                          permanent=True) from None


@contextmanager
def _read_only(connection: Connection, timeout: float) -> Iterator[None]:
    """Make this connection's transaction read-only and time-limited, whatever engine it
    came from (also one that was not built by :func:`read_only_engine`)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
        yield
        return
    if dialect != "sqlite":
        yield
        return
    raw = connection.connection.driver_connection
    if raw is None:  # the pool hands out live connections only; refuse rather than run free
        raise SourceError("The SQL source lost its database connection.", permanent=False)
    deadline = time.monotonic() + timeout
    raw.execute("PRAGMA query_only = ON")
    # A non-zero return from the progress handler interrupts the running statement.
    raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)
        raw.execute("PRAGMA query_only = OFF")


def _sql_error(exc: DBAPIError, timeout: float) -> SourceError:
    orig = exc.orig
    message = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    state = str(getattr(orig, "sqlstate", "") or "")
    lowered = message.lower()
    if state == "57014" or lowered == "interrupted":
        return SourceError(f"The query ran longer than its {timeout:g} s statement timeout.",
                           permanent=False)
    if state == "25006" or "readonly" in lowered or "read-only" in lowered:
        return SourceError(f"The database refused a write; the SQL source is read-only "
                           f"({message}).", permanent=True)
    if state[:2] in ("42", "28", "3D", "22", "0A") or any(
            word in lowered for word in ("syntax error", "no such table", "no such column",
                                         "unable to open")):
        return SourceError(f"The database refused the query: {message}", permanent=True)
    # A ProgrammingError without a SQLSTATE (SQLite) is a fault in the query itself;
    # anything else (connection lost, database locked) may pass on the next try.
    permanent = not state and type(orig).__name__ == "ProgrammingError"
    return SourceError(f"The database could not run the query: {message}",
                       permanent=permanent)


@register("sql")
class SqlSource:
    kind = "sql"

    def __init__(self, config: dict[str, Any], engine: Engine) -> None:
        require(config, "url", "sql", "url=postgresql+psycopg://reader:${DB_PASSWORD}@host/db")
        self.query = check_select(str(require(config, "query", "sql",
                                              'query="select count(*) from signups"')))
        self.by = str(config["by"]) if config.get("by") else None
        self.total = parse_total(config)
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
                        result = connection.execute(text(self.query))
                        columns = list(result.keys())
                        rows = result.fetchmany(MAX_ROWS + 1)
                finally:
                    connection.rollback()
        except DBAPIError as exc:
            raise _sql_error(exc, self.timeout) from None
        except SQLAlchemyError as exc:
            raise SourceError(f"The SQL source failed: {type(exc).__name__}.",
                              permanent=False) from None
        return self._readings(at, columns, rows)

    def _readings(self, at: datetime, columns: list[str], rows: Sequence[Any]
                  ) -> list[Reading]:
        if len(columns) not in (1, 2):
            raise SourceError(f"The query returns {len(columns)} columns; return one number, "
                              "or rows of (segment, value).", permanent=True)
        if len(rows) > MAX_ROWS:
            raise SourceError(f"The query returns more than {MAX_ROWS} rows.", permanent=True)
        if not rows:
            raise SourceError("The query returned no rows.", permanent=False)
        if len(columns) == 1:
            if len(rows) > 1:
                raise SourceError(f"The query returns {len(rows)} rows of one column; return "
                                  "one number, or rows of (segment, value).", permanent=True)
            if rows[0][0] is None:
                raise SourceError("The query returned NULL.", permanent=False)
            return [Reading(at, to_number(rows[0][0], "The query's value"))]
        label = self.by or columns[0]
        segments: dict[str, float] = {}
        total = None
        for name, raw in rows:
            if raw is None:
                continue
            value = to_number(raw, f"The value of segment {name!r}")
            if name in (None, ""):
                total = value
            else:
                segments[segment_name(label, name)] = value
        return segmented(at, segments, total, self.total)
