"""`outcome connections [check]`: the operator's view of the registered source connections.

``outcome connections`` lists them (kind, host or database, workspaces; never a credential).
``outcome connections check`` resolves each one's references, checks that its host may be
reached (sql: that its role can only read), lists the metrics whose configs still carry a
url from before connections, and suggests a connections-file entry for each host they use.
"""

from __future__ import annotations

import argparse
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, selectinload

from bot import wiring
from bot.core.errors import SourceError
from bot.core.settings import Settings
from bot.storage import db
from bot.storage.models import Metric
from metrics.connections import Connection, Connections, web_url
from metrics.egress import EgressPolicy, EgressRefused
from metrics.registry import DEFAULT_TIMEOUT
from metrics.resources import Resources
from metrics.secrets import REFERENCE, literal_secrets
from metrics.sql import check_reader

USAGE = "outcome connections [check]"


def main(args: list[str], settings: Settings) -> int:
    parser = argparse.ArgumentParser(
        prog="outcome connections",
        description="List the source connections of OUTCOME_CONNECTIONS_FILE; `check` also "
                    "tries each one and lists metrics whose configs still hold a url.")
    parser.add_argument("action", nargs="?", choices=("list", "check"), default="list")
    options = parser.parse_args(args)
    connections = wiring.source_connections(settings)
    print(listing(connections, settings.outcome_connections_file))
    if options.action == "list":
        return 0
    resources = wiring.source_resources(settings, connections)
    try:
        problems = [problem for c in connections.by_name.values()
                    if (problem := check_connection(connections, c, resources))]
    finally:
        resources.close()
    for name, message in problems:
        print(f"✗ {name}: {message}")
    if connections.by_name and not problems:
        print("Every connection resolves.")
    with db.transaction(db.session_factory(wiring.open_database(settings))) as session:
        report = legacy_report(session, connections)
    print(report or "No metric holds a url of its own: every pulled source names a connection.")
    return 1 if problems or report else 0


def listing(connections: Connections, origin: str) -> str:
    if not connections.by_name:
        return ("No connections are registered (set OUTCOME_CONNECTIONS_FILE to a YAML file "
                "of them; see docs/security.md): only manual, push and demo metrics work.")
    lines = [f"Connections in {origin}:"]
    for connection in sorted(connections.by_name.values(), key=lambda c: c.name):
        teams = (", ".join(sorted(connection.workspaces)) if connection.workspaces is not None
                 else "every workspace")
        extra = ""
        if connection.allow_private:
            extra += f"; private ranges {', '.join(connection.allow_private)}"
        hosts = set(connection.allowed_hosts) - {connection.target}
        if hosts:
            extra += f"; also hosts {', '.join(sorted(hosts))}"
        lines.append(f"  {connection.name}: {connection.kind}, {connection.target}; "
                     f"{teams}{extra}")
    return "\n".join(lines)


def check_connection(connections: Connections, connection: Connection,
                     resources: Resources) -> tuple[str, str] | None:
    """(name, problem) when the connection cannot be used, else None."""
    try:
        values = connections.resolved(connection)
        if connection.kind == "sql":
            check_reader(resources.engine_for(values["url"],
                                              connection.timeout or DEFAULT_TIMEOUT))
        else:
            _check_reachable(connection.policy, values["url"])
    except SourceError as exc:
        return connection.name, exc.message
    return None


def _check_reachable(policy: EgressPolicy, url: str) -> None:
    """The url's host is allowed and resolves only to addresses the policy allows."""
    parts = web_url(url)
    if parts is None or not parts.hostname:
        raise SourceError("its url, once resolved, is not an http(s) URL with a host.")
    policy.check_host(parts.hostname)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise SourceError(f"{parts.hostname} does not resolve to an address.") from None
    for info in infos:
        policy.check_address(str(info[4][0]), host=parts.hostname)


# ---------------------------------------------------------------------------- legacy configs

@dataclass
class _Suggestion:
    """One connections-file entry that the legacy metrics of one host could share."""

    name: str
    entry: dict[str, Any]
    metrics: list[str] = field(default_factory=list)
    workspaces: set[str] = field(default_factory=set)


def legacy_report(session: Session, connections: Connections) -> str:
    """The metrics whose stored config still holds a url (or headers), with one suggested
    entry per distinct host; empty when there are none. No credential is ever printed."""
    metrics = session.scalars(select(Metric).options(selectinload(Metric.initiative))).all()
    legacy = [m for m in metrics
              if isinstance(m.source_config, Mapping) and (
                  "url" in m.source_config or "headers" in m.source_config)]
    if not legacy:
        return ""
    suggestions: dict[tuple[str, str], _Suggestion] = {}
    lines = ["Metrics whose source config still holds a url (they are not pulled until "
             "they name a connection):"]
    for metric in legacy:
        where = f"{metric.initiative.workspace} {metric.initiative.key}.{metric.key}"
        suggestion = _suggest(metric.source_kind, dict(metric.source_config), connections)
        if suggestion is None:
            lines.append(f"  {where} ({metric.source_kind}): no entry suggested (its url "
                         "names the bot's own settings, has a ${NAME} host or is unreadable)")
            continue
        key = (metric.source_kind, yaml.safe_dump(suggestion.entry, sort_keys=True))
        shared = suggestions.setdefault(key, suggestion)
        shared.metrics.append(f"{metric.initiative.key}.{metric.key}")
        shared.workspaces.add(metric.initiative.workspace)
        lines.append(f"  {where} ({metric.source_kind}): suggested connection {shared.name}")
    if suggestions:
        lines += ["", "Suggested entries for OUTCOME_CONNECTIONS_FILE (fill in the ${...} "
                      "variables where the bot runs):", "connections:"]
        for suggestion in _unique_names(suggestions.values()):
            entry = {**suggestion.entry, "workspaces": sorted(suggestion.workspaces)}
            lines.append(f"  {suggestion.name}:  # for {', '.join(suggestion.metrics)}")
            lines += ["    " + line for line in
                      yaml.safe_dump(entry, sort_keys=False).splitlines()]
        lines += ["", "Then point each metric at its connection, e.g. `outcome metric add "
                      "<initiative> <metric> source-config='{\"connection\": \"<name>\", "
                      "...}'` (a pull of a legacy metric says exactly what to keep)."]
    return "\n".join(lines)


def _unique_names(suggestions: Iterable[_Suggestion]) -> list[_Suggestion]:
    seen: dict[str, int] = {}
    unique = []
    for suggestion in suggestions:
        count = seen.get(suggestion.name, 0)
        seen[suggestion.name] = count + 1
        if count:
            suggestion.name = f"{suggestion.name}-{count + 1}"
        unique.append(suggestion)
    return unique


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "source"


def _variable(slug: str, what: str) -> str:
    return "${" + re.sub(r"[^A-Z0-9]+", "_", f"{slug}_{what}".upper()).strip("_") + "}"


def _safe(value: str, connections: Connections) -> bool:
    """Whether ``value`` may be copied into a suggestion: no literal credential and no
    reference to one of the bot's own settings."""
    return not literal_secrets({"value": value}) and not any(
        connections.is_protected(match[1]) for match in REFERENCE.finditer(value))


def _suggest(kind: str, config: dict[str, Any], connections: Connections
             ) -> _Suggestion | None:
    url = str(config.get("url") or "")
    if kind == "sql":
        entry = _sql_entry(url, connections)
    else:
        entry = _web_entry(kind, url, config, connections)
    return None if entry is None else _Suggestion(entry.pop("name"), entry)


def _sql_entry(url: str, connections: Connections) -> dict[str, Any] | None:
    whole = REFERENCE.fullmatch(url)
    if whole:
        return ({"name": _slug(whole[1]), "kind": "sql", "url": url}
                if _safe(url, connections) else None)
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    slug = _slug(parsed.database or parsed.host or "warehouse")
    shown = parsed.render_as_string(hide_password=False)
    if parsed.password is not None:
        password = str(parsed.password)
        if not (REFERENCE.fullmatch(password) and _safe(password, connections)):
            password = _variable(slug, "password")
        # Rendering would percent-encode a ${NAME}; put the password in as written.
        shown = parsed.set(password="PASSWORD").render_as_string(hide_password=False) \
            .replace(":PASSWORD@", f":{password}@", 1)
    if not _safe(shown, connections):
        return None
    return {"name": slug, "kind": "sql", "url": shown}


def _web_entry(kind: str, url: str, config: Mapping[str, Any], connections: Connections
               ) -> dict[str, Any] | None:
    parts = web_url(url)
    if parts is None or not parts.hostname or "${" in parts.hostname:
        return None
    slug = _slug(parts.hostname)
    base = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    if kind == "prometheus":
        base += parts.path.rstrip("/")
    entry: dict[str, Any] = {"name": slug, "kind": kind, "url": base}
    headers = config.get("headers")
    if isinstance(headers, Mapping) and headers:
        entry["headers"] = {str(name): (str(value) if _safe(str(value), connections)
                                        else _variable(slug, str(name)))
                            for name, value in headers.items()}
    private = _private_ranges(parts.hostname)
    if private:
        entry["allow_private"] = private
    return entry


def _private_ranges(host: str) -> list[str]:
    """The addresses of ``host`` that the default egress policy refuses, as /32 or /128
    ranges: what allow_private would have to list (an operator decides whether to)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    refused = []
    for address in dict.fromkeys(str(info[4][0]) for info in infos):
        try:
            EgressPolicy().check_address(address)
        except EgressRefused:
            refused.append(f"{address}/{128 if ':' in address else 32}")
    return refused
