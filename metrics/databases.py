"""Which database a SQLAlchemy URL reaches, so a source never reads the bot's own.

:func:`same_database` compares two URLs by what they reach, not how they are spelled: the
SQLite file after resolving its path (links and hard links included), or the PostgreSQL
server (host or its addresses, port) and database name.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

_LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mssql": 1433, "oracle": 1521}


def _parse(url: str) -> URL | None:
    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        return None


def _sqlite_file(url: URL) -> str | None:
    database = url.database or ""
    if database.startswith("file:"):
        database = database[len("file:"):].split("?", 1)[0]
    if database in ("", ":memory:"):
        return None
    return os.path.realpath(database)


def _server(url: URL) -> tuple[str, int, str]:
    """(host, port, database) as PostgreSQL and its kin would connect, with the host and
    port also read from the query (``?host=/run/postgresql``) and libpq's defaults."""
    backend = url.get_backend_name()
    host = str(url.query.get("host") or url.host or "").lower()
    if host.startswith("/"):
        host = ""  # a Unix socket is this machine
    query_port = str(url.query.get("port") or "")
    port = url.port or (int(query_port) if query_port.isdigit() else 0) \
        or _DEFAULT_PORTS.get(backend, 0)
    database = url.database or (url.username or "" if backend == "postgresql" else "")
    return ("local" if host in _LOCAL_HOSTS else host), port, database


def _addresses(host: str) -> set[str]:
    if host == "local":
        return {"local"}
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(host, None)} | {host}
    except (OSError, UnicodeError):
        return {host}


def same_database(first: str, second: str) -> bool:
    """Whether two SQLAlchemy URLs reach the same database (unparsable: not the same)."""
    a, b = _parse(first), _parse(second)
    if a is None or b is None or a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        file_a, file_b = _sqlite_file(a), _sqlite_file(b)
        if file_a is None or file_b is None:
            return False
        if file_a == file_b:
            return True
        try:
            return os.path.samefile(file_a, file_b)
        except OSError:
            return False
    (host_a, port_a, db_a), (host_b, port_b, db_b) = _server(a), _server(b)
    if (port_a, db_a) != (port_b, db_b):
        return False
    # Another name for the same server (an alias, its address) is the same server.
    return host_a == host_b or bool(_addresses(host_a) & _addresses(host_b))


def describe_database(url: str) -> str:
    """Where a database URL points, without its credentials: "postgresql at db:5432/app",
    "the SQLite file app.db"."""
    parsed = _parse(url)
    if parsed is None:
        return "its database"
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return f"the SQLite file {Path(parsed.database or '?').name}"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{backend} at {parsed.host or 'localhost'}{port}/{parsed.database or ''}"
