"""Secrets in source configs are referenced, never stored.

An operator's connection names a secret as ``${ENV_NAME}``; :func:`resolve` substitutes the
environment's value (or the ``ENV_NAME_FILE`` file's) when the connection is used, so the
database, Slack, logs and exports only ever hold the reference.
:func:`literal_secrets` finds a token written into a config itself, and
:class:`Redactor` scrubs resolved values out of any error text before it leaves a source.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.core.errors import SourceError

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Names whose values are credentials wherever they appear (keys, headers, query parameters).
_SECRET_NAMES = re.compile(
    r"(authorization|token|secret|password|passwd|api[-_]?key|apikey|private[-_]?key|"
    r"access[-_]?key|credentials?|cookie|session|^auth$|^pwd$|^pass$)",
    re.IGNORECASE,
)
# Well-known token shapes anywhere in a text: GitHub, Slack, GitLab, AWS, OpenAI-style keys,
# JWTs, and the payload of an HTTP Authorization header. Group `value` is the credential.
_TOKEN_SHAPES = re.compile(
    r"(?P<value>gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|"
    r"xox[abposr]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|"
    r"sk-[A-Za-z0-9_-]{20,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})"
    r"|\b(?:Bearer|Basic|Token)\s+(?P<header>[A-Za-z0-9._~+/=<>-]{8,})"
)
# Credentials inside a URL: the password (scheme://user:password@host) and a query
# parameter with a secret-looking name (?api_key=...).
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/@\s:]*:(?P<value>[^@\s/]+)@")
_QUERY_PARAMETER = re.compile(r"[?&](?P<name>[A-Za-z0-9_.-]+)=(?P<value>[^&#\s]+)")

FieldPath = tuple[str | int, ...]
REDACTED = "<redacted>"
_MIN_SECRET_LENGTH = 4  # shorter resolved values are not scrubbed from error texts


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAMES.search(name))


def _replace(match: re.Match[str], group: str, path: FieldPath,
             found: Callable[[FieldPath, str], str]) -> str:
    """``match`` with its credential group replaced by ``found(path, credential)``."""
    if match.groupdict().get("name") is not None and not is_secret_name(match["name"]):
        return match[0]
    value = match[group]
    if REFERENCE.search(value):
        return match[0]
    start, end = match.span(group)
    return f"{match[0][:start - match.start()]}{found(path, value)}" \
        f"{match[0][end - match.start():]}"


def _text(text: str, path: FieldPath, found: Callable[[FieldPath, str], str]) -> str:
    for pattern in (_URL_PASSWORD, _QUERY_PARAMETER):
        text = pattern.sub(lambda m: _replace(m, "value", path, found), text)
    return _TOKEN_SHAPES.sub(
        lambda m: _replace(m, "header" if m["header"] else "value", path, found), text)


def walk_secrets(value: Any, found: Callable[[FieldPath, Any], Any],
                 path: FieldPath = (), secret: bool = False) -> Any:
    """Copy ``value``, replacing each literal credential by ``found(path, credential)``.

    A credential is a value under a secret-looking name (at any depth), or one embedded in
    text: a known token shape, an Authorization-style value, a URL's password or a secret
    query parameter. ``${NAME}`` references are never credentials.
    """
    if isinstance(value, Mapping):
        return {key: walk_secrets(item, found, (*path, key), secret or is_secret_name(str(key)))
                for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [walk_secrets(item, found, (*path, index), secret)
                for index, item in enumerate(value)]
    if isinstance(value, str):
        if secret and value.strip() and not REFERENCE.search(value):
            return found(path, value)
        return _text(value, path, found)
    if secret and value is not None and not isinstance(value, bool):
        return found(path, value)
    return value


def literal_secrets(config: Mapping[str, Any]) -> list[FieldPath]:
    """Paths of the literal credentials in ``config`` (each should be a ``${NAME}``)."""
    paths: list[FieldPath] = []

    def remember(path: FieldPath, value: Any) -> Any:
        paths.append(path)
        return value

    walk_secrets(config, remember)
    return list(dict.fromkeys(paths))


def redact_secrets(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with every literal credential replaced by ``<redacted>``; ``${NAME}``
    references are kept as written, never resolved."""
    return walk_secrets(config, lambda _path, _value: REDACTED)


def path_text(path: FieldPath, root: str = "config") -> str:
    """``config.headers.Authorization`` / ``config.values[2]`` for messages."""
    text = root
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


class Redactor:
    """Collects the secret values substituted into a config; scrubs them from text."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def __call__(self, text: str) -> str:
        for value in sorted(self.values, key=len, reverse=True):
            text = text.replace(value, "***")
        return text


def lookup(name: str, environ: Mapping[str, str]) -> str | None:
    """The value of ``${name}``: the variable itself, else the text of the file its
    ``<name>_FILE`` variable names (trailing newline dropped); None when neither is set."""
    if name in environ:
        return environ[name]
    file_name = environ.get(f"{name}_FILE")
    if not file_name:
        return None
    try:
        return Path(file_name).read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError):
        raise SourceError(f"{name}_FILE names a file the bot cannot read; fix its path or "
                          "permissions and pull again.", permanent=True) from None


def resolve(config: Any, environ: Mapping[str, str] | None = None,
            redactor: Redactor | None = None, *, what: str = "The source config") -> Any:
    """A copy of ``config`` with every ``${NAME}`` replaced from the environment (or the
    file ``NAME_FILE`` names).

    A missing variable is a permanent error naming it (never its value).
    """
    environ = os.environ if environ is None else environ

    def substitute(match: re.Match[str]) -> str:
        name = match[1]
        value = lookup(name, environ)
        if value is None:
            raise SourceError(f"{what} references ${{{name}}}, which is not set "
                              "in the bot's environment; set it and pull again.",
                              permanent=True)
        if redactor is not None and len(value) >= _MIN_SECRET_LENGTH:
            redactor.values.add(value)
        return value

    if isinstance(config, str):
        return REFERENCE.sub(substitute, config)
    if isinstance(config, Mapping):
        return {key: resolve(value, environ, redactor, what=what)
                for key, value in config.items()}
    if isinstance(config, list | tuple):
        return [resolve(value, environ, redactor, what=what) for value in config]
    return config


def looks_like_secret(text: str) -> bool:
    """Whether ``text`` contains a well-known token shape or a URL's password."""
    return bool(_TOKEN_SHAPES.search(text) or _URL_PASSWORD.search(text))
