"""Named source connections: an operator registers them, a metric picks one by name.

The operator's YAML file (``OUTCOME_CONNECTIONS_FILE``) holds everything a workspace member
must never type: URLs, credentials (``${NAME}``, from the environment or ``NAME_FILE``, resolved
only when the connection is used), the hosts and private ranges it may reach, and the
workspaces it serves::

    connections:
      prom:
        kind: prometheus
        url: http://prometheus.internal:9090
        headers: {Authorization: "Bearer ${PROM_TOKEN}"}
        allow_private: [10.0.0.0/8]
        workspaces: [T0123ABC]

:func:`metrics.connection_file.load_connections` reads and checks that file. A metric's
config names a connection (``{"connection": "prom", "query": "sum(up)"}``) and
:meth:`Connections.source_config` merges the two into the full config the source classes
take. Member configs never hold a URL, headers, a credential or a ``${NAME}``
(:mod:`metrics.member_configs`); a connection never names one of the bot's own settings
and a sql connection never reaches the bot's own database.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit

from bot.core.errors import SourceError
from metrics.databases import describe_database, same_database
from metrics.egress import EgressPolicy
from metrics.member_configs import (
    HOW,
    check_path,
    join_path,
    legacy_message,
    member_config_message,
    member_config_problems,
)
from metrics.secrets import (
    REFERENCE,
    FieldPath,
    Redactor,
    resolve,
)

BUILTIN_KINDS = ("csv", "http", "prometheus", "sql")
# Kinds that cannot run without a connection (csv may still read a local file).
NEEDS_CONNECTION = frozenset({"http", "prometheus", "sql"})
# Names a connection may never reference, whatever the bot's settings list says.
PROTECTED_PREFIXES = ("SLACK_", "OUTCOME_")
PROTECTED_NAMES = frozenset({"DATABASE_URL"})
FIELDS = ("kind", "url", "headers", "params", "allow_private", "allowed_hosts", "workspaces",
          "timeout")
MAX_TIMEOUT = 120.0
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


@dataclass(frozen=True)
class Connection:
    """One registered connection, as written (references unresolved)."""

    name: str
    kind: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    allow_private: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    workspaces: frozenset[str] | None = None  # None: every workspace
    timeout: float | None = None

    def serves(self, workspace: str) -> bool:
        return self.workspaces is None or workspace in self.workspaces

    @property
    def policy(self) -> EgressPolicy:
        """Where its HTTP client may connect."""
        return EgressPolicy.from_lists(self.allowed_hosts, self.allow_private)

    @property
    def target(self) -> str:
        """Where it points, for listings and messages: a host or database, no credentials."""
        if self.kind == "sql":
            return describe_database(self.url)
        return urlsplit(self.url).hostname or "?"


@dataclass(frozen=True)
class Connections:
    """The registered connections, and what resolving them needs."""

    by_name: Mapping[str, Connection] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    own_database: str | None = None
    forbidden: frozenset[str] = frozenset()
    origin: str = "OUTCOME_CONNECTIONS_FILE"

    def names_for(self, workspace: str) -> list[str]:
        return sorted(name for name, c in self.by_name.items() if c.serves(workspace))

    def known_text(self, workspace: str) -> str:
        names = self.names_for(workspace)
        if not names:
            return "no connection is registered for this workspace yet; ask an operator " \
                   "to add one to OUTCOME_CONNECTIONS_FILE"
        return f"known connections for this workspace: {', '.join(names)}"

    def get(self, name: str, workspace: str) -> Connection:
        """The connection ``name`` if it serves ``workspace`` (else as if it did not exist)."""
        connection = self.by_name.get(name)
        if connection is None or not connection.serves(workspace):
            raise SourceError(f"There is no connection {name[:40]!r}; "
                              f"{self.known_text(workspace)}.", permanent=True)
        return connection

    def resolved(self, connection: Connection, redactor: Redactor | None = None
                 ) -> dict[str, Any]:
        """url, headers and params with their references resolved; refused when they name
        the bot's own settings or (sql) reach the bot's own database."""
        names = references({"url": connection.url, "headers": connection.headers,
                             "params": connection.params})
        for _path, name in names:
            if self.is_protected(name):
                raise SourceError(f"The connection {connection.name!r} references one of the "
                                  "bot's own settings; an operator must fix "
                                  f"{self.origin}.", permanent=True)
        what = f"The connection {connection.name!r}"
        values = resolve({"url": connection.url, "headers": dict(connection.headers),
                          "params": dict(connection.params)}, self.environ, redactor,
                         what=what)
        if connection.kind == "sql" and self.own_database and same_database(
                values["url"], self.own_database):
            raise SourceError(f"{what} points at the bot's own database, which is never a "
                              "source; an operator must point it at another database.",
                              permanent=True)
        return values

    def is_protected(self, name: str) -> bool:
        """Whether ``${name}`` would reach one of the bot's own settings."""
        base = name.removesuffix("_FILE")
        return any(n in self.forbidden or n in PROTECTED_NAMES or n.startswith(PROTECTED_PREFIXES)
                   for n in (name, base))

    def check(self, kind: str, config: Mapping[str, Any], workspace: str, *,
              metric: str = "") -> Connection | None:
        """The connection a metric's ``config`` names for ``kind`` in ``workspace`` (None
        for a kind that needs none), refusing what a metric's own config may not hold.
        Nothing is resolved or connected."""
        if "url" in config or "headers" in config:
            raise SourceError(legacy_message(kind, config, metric), permanent=True)
        problems = member_config_problems(config)
        if problems:
            path, reason = problems[0]
            raise SourceError(member_config_message(path, reason,
                                                    self.known_text(workspace)),
                              permanent=True)
        name = config.get("connection")
        if name in (None, ""):
            if kind in NEEDS_CONNECTION or (kind == "csv" and not config.get("path")):
                raise SourceError(f"The {kind} source needs a connection: {HOW}; "
                                  f"{self.known_text(workspace)}.", permanent=True)
            return None
        connection = self.get(str(name), workspace)
        if connection.kind != kind:
            raise SourceError(f"The connection {connection.name!r} is a {connection.kind} "
                              f"connection, not {kind}: choose source={connection.kind} or "
                              f"another connection ({self.known_text(workspace)}).",
                              permanent=True)
        if kind in ("http", "csv") and config.get("path") not in (None, ""):
            check_path(config["path"])
        return connection

    def source_config(self, kind: str, config: Mapping[str, Any], workspace: str, *,
                      redactor: Redactor | None = None, metric: str = ""
                      ) -> tuple[dict[str, Any], Connection | None]:
        """The full config for ``kind``'s source: the metric's own ``config`` merged with the
        connection it names (also returned; None for a kind that needs none)."""
        connection = self.check(kind, config, workspace, metric=metric)
        if connection is None:
            return dict(config), None
        values = self.resolved(connection, redactor)
        merged = {key: value for key, value in config.items() if key != "connection"}
        merged["headers"] = values["headers"]
        if connection.timeout is not None:
            merged["timeout"] = min(_number(merged.get("timeout"), connection.timeout),
                                    connection.timeout)
        if kind in ("http", "csv"):
            merged["url"] = join_path(values["url"], merged.pop("path", None))
        else:
            merged["url"] = values["url"]
        if kind == "http":
            member_params = merged.get("params") or {}
            if not isinstance(member_params, Mapping):
                raise SourceError("`params` must be an object of names to strings.",
                                  permanent=True)
            merged["params"] = {**member_params, **values["params"]}
        return merged, connection


def _number(value: Any, default: float) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        raise SourceError(f"timeout must be a number of seconds (got {value!r}).",
                          permanent=True) from None


def web_url(url: str) -> SplitResult | None:
    """``url`` split, if it is an http(s) URL with a host and a valid port."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        return None
    return parts if parts.scheme in ("http", "https") and parts.hostname and port_ok \
        else None


def references(value: Any, path: FieldPath = ()) -> list[tuple[FieldPath, str]]:
    """(path, NAME) of every ``${NAME}`` in ``value``."""
    if isinstance(value, Mapping):
        return [found for key, item in value.items()
                for found in references(item, (*path, key))]
    if isinstance(value, str):
        return [(path, match[1]) for match in REFERENCE.finditer(value)]
    return []
