"""What a metric's own source config may hold, now that connections hold the rest.

A workspace member writes a metric's config; an operator writes connections. The member's
part never carries a URL, headers, a credential or a ``${NAME}``
(:func:`member_config_problems`), a ``path`` never leaves the connection's host
(:func:`join_path`), and a config from before connections (with a ``url``) is answered with
how to move it onto one (:func:`legacy_message`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from bot.core.errors import SourceError
from metrics.databases import describe_database
from metrics.secrets import FieldPath, is_secret_name, literal_secrets, path_text

# Keys of a metric's config that only a connection may set.
CONNECTION_KEYS = frozenset({"url", "headers", "base_url", "dsn", "host", "hosts",
                             "allowed_hosts", "allow_private", "workspaces"})
HOW = "sources name a connection an operator registered (connection=<name>), which holds " \
      "the URL and credentials"


def member_config_problems(config: Mapping[str, Any]) -> list[tuple[FieldPath, str]]:
    """(path, reason) for everything in a metric's own config that only a connection may
    hold: URLs and headers, credential-looking keys, ``${NAME}`` references and literal
    credentials. Reasons never repeat a value."""
    found: dict[FieldPath, str] = {}

    def visit(value: Any, path: FieldPath) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                here = (*path, str(key))
                if not path and str(key).lower() in CONNECTION_KEYS:
                    found.setdefault(here, "is not allowed in a metric's source config")
                elif is_secret_name(str(key)):
                    found.setdefault(here, "looks like a credential")
                elif "${" in str(key):
                    found.setdefault(here, "names an environment variable")
                else:
                    visit(item, here)
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                visit(item, (*path, index))
        elif isinstance(value, str) and "${" in value:
            found.setdefault(path, "names an environment variable")

    visit(config, ())
    for path in literal_secrets(config):
        if not any(path[:len(seen)] == seen for seen in found):
            found[path] = "looks like a literal credential"
    return list(found.items())


def member_config_message(path: FieldPath, reason: str, known: str = "") -> str:
    """The refusal of one :func:`member_config_problems` entry, saying what to do instead."""
    where = path_text(path)
    tail = known or "an operator registers them in OUTCOME_CONNECTIONS_FILE"
    return f"{where} {reason}: {HOW}; {tail}."


def refuse_member_config(config: Mapping[str, Any], known: str = "") -> None:
    """Raise a permanent :class:`SourceError` for the first problem of ``config``."""
    problems = member_config_problems(config)
    if problems:
        raise SourceError(member_config_message(*problems[0], known), permanent=True)


def legacy_message(kind: str, config: Mapping[str, Any], metric: str = "") -> str:
    """How to move a config written before connections (it still holds ``url``) onto one;
    it names the host or database only, never credentials."""
    initiative, _, key = (metric or "<initiative>.<metric>").partition(".")
    target = legacy_target(kind, config)
    suggestion = {"connection": "<name>", **suggested_member_config(kind, config)}
    shown = json.dumps(suggestion)
    if len(shown) > 160:
        shown = '{"connection": "<name>", ...its other fields...}'
    return (f"This source config holds a url, which metrics no longer carry. An operator "
            f"adds a connection for {target} to OUTCOME_CONNECTIONS_FILE (`outcome "
            f"connections check` suggests one); then: metric add {initiative} {key or '<metric>'} "
            f"source-config='{shown}'")


def legacy_target(kind: str, config: Mapping[str, Any]) -> str:
    url = str(config.get("url") or "")
    if kind == "sql":
        return describe_database(url)
    try:
        return urlsplit(url).hostname or "its host"
    except ValueError:
        return "its host"


def suggested_member_config(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a legacy config a metric keeps once it names a connection: never a
    url, headers, credential or reference (an http/csv url's path becomes ``path``)."""
    kept = {key: value for key, value in config.items()
            if str(key).lower() not in CONNECTION_KEYS and key != "connection"}
    url = str(config.get("url") or "")
    if kind in ("http", "csv") and "${" not in url:
        parts = urlsplit(url)
        if parts.path not in ("", "/") or parts.query:
            kept = {"path": parts.path + (f"?{parts.query}" if parts.query else ""), **kept}
    problems = [path for path, _ in member_config_problems(kept)]
    return {key: value for key, value in kept.items()
            if not any(p[:1] == (key,) for p in problems)}


def check_path(path: Any) -> str:
    """A member's ``path``: one that can only go below the connection's URL."""
    text = str(path)
    segments = {unquote(part) for part in text.split("?", 1)[0].split("/")}
    if (not text.startswith("/") or text.startswith("//") or "\\" in text or "#" in text
            or "://" in text or ".." in segments or any(c.isspace() or ord(c) < 32
                                                        for c in text)):
        raise SourceError("`path` must be a path on the connection's host, starting with one "
                          "/ (e.g. /search/issues), without a scheme, host, '//', '..' or "
                          "'#'.", permanent=True)
    return text


def join_path(base: str, path: Any) -> str:
    """``base`` with a member's ``path`` appended; the host never changes."""
    if path in (None, ""):
        return base
    parts, extra = urlsplit(base), urlsplit(check_path(path))
    query = "&".join(q for q in (parts.query, extra.query) if q)
    joined = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + extra.path,
                         query, ""))
    if urlsplit(joined).netloc != parts.netloc:
        raise SourceError("`path` must stay on the connection's host.", permanent=True)
    return joined
