"""Reading the operator's connections file (``OUTCOME_CONNECTIONS_FILE``).

Every problem is a :class:`ConfigError` naming the file, the connection and the field, so
the bot refuses to start with a file it would misread: an unknown kind or field, a URL that
is not one, a reference to one of the bot's own settings, a literal credential, or a sql
connection to the bot's own database.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.core.errors import ConfigError, SourceError
from metrics.connections import (
    BUILTIN_KINDS,
    FIELDS,
    MAX_TIMEOUT,
    NAME,
    Connection,
    Connections,
    references,
    web_url,
)
from metrics.databases import same_database
from metrics.egress import EgressPolicy
from metrics.secrets import REFERENCE, literal_secrets, lookup, path_text


def load_connections(path: str | Path | None, *, environ: Mapping[str, str] | None = None,
                     own_database: str | None = None, forbidden: Collection[str] = (),
                     kinds: Collection[str] = BUILTIN_KINDS) -> Connections:
    """Read and check the connections file (none: no connections); a problem is a
    :class:`ConfigError` naming the file, the connection and the field."""
    environ = os.environ if environ is None else environ
    if not path:
        return Connections(environ=environ, own_database=own_database,
                           forbidden=frozenset(forbidden))
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a UTF-8 text file"
        raise ConfigError(f"OUTCOME_CONNECTIONS_FILE={path} cannot be read: {reason}.") \
            from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path} is not valid YAML{line}: "
                          f"{getattr(exc, 'problem', None) or 'unreadable'}.") from None
    return parse_connections(data, origin=str(path), environ=environ,
                             own_database=own_database, forbidden=forbidden, kinds=kinds)


def parse_connections(data: Any, *, origin: str = "connections",
                      environ: Mapping[str, str] | None = None,
                      own_database: str | None = None, forbidden: Collection[str] = (),
                      kinds: Collection[str] = BUILTIN_KINDS) -> Connections:
    """Connections from already-parsed data (``{"connections": {name: {...}}}``)."""
    connections = Connections(environ=os.environ if environ is None else environ,
                              own_database=own_database, forbidden=frozenset(forbidden),
                              origin=origin)
    if data is None:
        return connections
    if not isinstance(data, Mapping) or set(data) - {"connections"}:
        raise ConfigError(f"{origin}: the file holds one key, connections: a map of "
                          "connection names to their settings.")
    entries = data.get("connections") or {}
    if not isinstance(entries, Mapping):
        raise ConfigError(f"{origin}: connections must map names to settings.")
    parsed = {}
    for name, entry in entries.items():
        parsed[str(name)] = _Parser(connections, str(name), sorted(kinds)).parse(entry)
    return Connections(parsed, connections.environ, own_database, connections.forbidden,
                       origin)


class _Parser:
    """Checks one connection's entry; every problem names the file, connection and field."""

    def __init__(self, connections: Connections, name: str, kinds: list[str]) -> None:
        self.connections, self.name, self.kinds = connections, name, kinds

    def fail(self, where: str, problem: str) -> ConfigError:
        field_text = f", {where}" if where else ""
        return ConfigError(f"{self.connections.origin}: connection {self.name!r}{field_text}: "
                           f"{problem}")

    def parse(self, entry: Any) -> Connection:
        if not NAME.fullmatch(self.name):
            raise self.fail("", "a name is 1-40 lowercase letters, digits, '-' or '_'.")
        if not isinstance(entry, Mapping):
            raise self.fail("", f"its settings must be a map of {', '.join(FIELDS)}.")
        unknown = sorted(str(key) for key in entry if key not in FIELDS)
        if unknown:
            raise self.fail(unknown[0], f"unknown field; the fields are {', '.join(FIELDS)}.")
        kind = entry.get("kind")
        if kind not in self.kinds:
            raise self.fail("kind", f"{kind!r} is not a kind a connection serves; one of "
                                    f"{', '.join(self.kinds)}.")
        url = entry.get("url")
        if not isinstance(url, str) or not url.strip():
            raise self.fail("url", "required: the address of the service or database.")
        connection = Connection(
            self.name, str(kind), url.strip(), self.strings(entry, "headers"),
            self.strings(entry, "params"), self.networks(entry),
            self.hosts(entry, url.strip(), str(kind)), self.workspaces(entry),
            self.timeout(entry))
        if connection.params and connection.kind != "http":
            raise self.fail("params", "only an http connection takes params; put them in "
                                      "the url.")
        self.check_secrets(connection)
        if connection.kind == "sql":
            self.check_database(connection)
        return connection

    def strings(self, entry: Mapping[str, Any], key: str) -> dict[str, str]:
        value = entry.get(key) or {}
        if not isinstance(value, Mapping) or not all(
                isinstance(v, str | int | float) and not isinstance(v, bool)
                for v in value.values()):
            raise self.fail(key, "must be a map of names to text.")
        return {str(k): str(v) for k, v in value.items()}

    def networks(self, entry: Mapping[str, Any]) -> tuple[str, ...]:
        ranges = tuple(self.texts(entry, "allow_private"))
        try:
            EgressPolicy.from_lists((), ranges)
        except ValueError as exc:
            raise self.fail("allow_private", str(exc)) from None
        return ranges

    def hosts(self, entry: Mapping[str, Any], url: str, kind: str) -> tuple[str, ...]:
        parts = web_url(url)
        if kind != "sql" and parts is None:
            raise self.fail("url", "must be an http:// or https:// URL with a host (and a "
                                   "port from 1 to 65535, if any).")
        if "allowed_hosts" in entry:
            hosts = self.texts(entry, "allowed_hosts")
            if not hosts:
                raise self.fail("allowed_hosts", "lists no host; leave it out to allow only "
                                                 "the url's host.")
            try:
                EgressPolicy.from_lists(hosts, ())
            except ValueError as exc:
                raise self.fail("allowed_hosts", str(exc)) from None
            return tuple(host.lower() for host in hosts)
        if parts is None or not parts.hostname:
            return ()
        if "${" in parts.netloc.rpartition("@")[2]:
            raise self.fail("allowed_hosts", "the url's host is a ${NAME} reference: list "
                                             "the hosts it may be in allowed_hosts.")
        return (parts.hostname.lower(),)

    def workspaces(self, entry: Mapping[str, Any]) -> frozenset[str] | None:
        if "workspaces" not in entry:
            return None
        teams = self.texts(entry, "workspaces")
        if not teams:
            raise self.fail("workspaces", "lists no workspace; leave it out to serve every "
                                          "workspace.")
        return frozenset(teams)

    def timeout(self, entry: Mapping[str, Any]) -> float | None:
        raw = entry.get("timeout")
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | float) \
                or not 0 < raw <= MAX_TIMEOUT:
            raise self.fail("timeout", f"must be seconds, more than 0 and at most "
                                       f"{MAX_TIMEOUT:g}.")
        return float(raw)

    def texts(self, entry: Mapping[str, Any], key: str) -> list[str]:
        value = entry.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                   for v in value):
            raise self.fail(key, "must be a list of text.")
        return [v.strip() for v in value]

    def check_secrets(self, connection: Connection) -> None:
        fields = {"url": connection.url, "headers": dict(connection.headers),
                  "params": dict(connection.params)}
        for path, name in references(fields):
            if self.connections.is_protected(name):
                raise self.fail(path_text(path, "")[1:], f"${{{name}}} is one of the bot's "
                                "own settings, which no source may use; give the connection "
                                "a variable of its own, e.g. ${PROM_TOKEN}.")
        literals = literal_secrets(fields)
        if literals:
            raise self.fail(path_text(literals[0], "")[1:], "looks like a literal credential; "
                            "put it in an environment variable (or a file named by NAME_FILE) "
                            "and write ${NAME}.")

    def check_database(self, connection: Connection) -> None:
        own = self.connections.own_database
        if not own:
            return
        environ = self.connections.environ

        def known(match: re.Match[str]) -> str:
            # A reference not set yet is left as written; it is checked again when used.
            try:
                value = lookup(match[1], environ)
            except SourceError:
                value = None
            return match[0] if value is None else value

        if same_database(REFERENCE.sub(known, connection.url), own):
            raise self.fail("url", "points at the bot's own database (DATABASE_URL), which "
                                   "is never a source; use another database or a replica.")
