"""Secrets in source configs are referenced, never stored.

A config names a secret as ``${ENV_NAME}``; :func:`resolve` substitutes the environment's
value at pull time, so the database, Slack, logs and exports only ever hold the reference.
:func:`refuse_literal_secrets` rejects a config that carries a token itself, and
:class:`Redactor` scrubs resolved values out of any error text before it leaves a source.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from bot.errors import SourceError

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Keys whose values are credentials wherever they appear (headers, params, config).
_SECRET_KEYS = re.compile(
    r"(authorization|token|secret|password|passwd|api[-_]?key|apikey|private[-_]?key|"
    r"credentials?|cookie|session)",
    re.IGNORECASE,
)
# Well-known token shapes: GitHub, Slack, GitLab, AWS, OpenAI-style keys, JWTs, and the
# payload of an HTTP Authorization header.
_TOKEN_SHAPES = re.compile(
    r"(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|"
    r"glpat-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9_-]{20,}|"
    r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}|"
    r"(?:Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,})"
)
_MIN_SECRET_LENGTH = 4


def _how_to_reference(where: str) -> str:
    return (f"{where} looks like a literal secret. Secrets are never stored: put it in an "
            f"environment variable of the bot and reference it as ${{NAME}}, e.g. "
            f'"Authorization": "Bearer ${{GITHUB_TOKEN}}".')


def _walk(value: Any, path: str = "config"):
    """Yield (path, key, string) for every string in a nested config."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from (_walk(item, f"{path}.{key}") if not isinstance(item, str)
                        else [(f"{path}.{key}", str(key), item)])
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from (_walk(item, f"{path}[{index}]") if not isinstance(item, str)
                        else [(f"{path}[{index}]", "", item)])


def refuse_literal_secrets(config: Mapping[str, Any]) -> None:
    """Raise a permanent :class:`SourceError` when ``config`` holds a secret itself."""
    for path, key, text in _walk(config):
        literal = REFERENCE.sub("", text)
        if _TOKEN_SHAPES.search(literal):
            raise SourceError(_how_to_reference(path), permanent=True)
        if key and _SECRET_KEYS.search(key) and literal.strip() and not REFERENCE.search(text):
            raise SourceError(_how_to_reference(path), permanent=True)
        if "://" in text:
            _refuse_secrets_in_url(path, text)


def _refuse_secrets_in_url(path: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.password and not REFERENCE.fullmatch(parts.password):
        raise SourceError(_how_to_reference(f"The password in {path}"), permanent=True)
    for pair in parts.query.split("&"):
        name, _, value = pair.partition("=")
        if _SECRET_KEYS.search(name) and value and not REFERENCE.fullmatch(value):
            raise SourceError(_how_to_reference(f"The {name} parameter in {path}"),
                              permanent=True)


class Redactor:
    """Collects the secret values substituted into a config; scrubs them from text."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def __call__(self, text: str) -> str:
        for value in sorted(self.values, key=len, reverse=True):
            text = text.replace(value, "***")
        return text


def resolve(config: Any, environ: Mapping[str, str] | None = None,
            redactor: Redactor | None = None) -> Any:
    """A copy of ``config`` with every ``${NAME}`` replaced from the environment.

    A missing variable is a permanent error naming it (never its value).
    """
    environ = os.environ if environ is None else environ

    def substitute(match: re.Match[str]) -> str:
        name = match[1]
        if name not in environ:
            raise SourceError(f"The source config references ${{{name}}}, which is not set "
                              "in the bot's environment; set it and pull again.",
                              permanent=True)
        value = environ[name]
        if redactor is not None and len(value) >= _MIN_SECRET_LENGTH:
            redactor.values.add(value)
        return value

    if isinstance(config, str):
        return REFERENCE.sub(substitute, config)
    if isinstance(config, Mapping):
        return {key: resolve(value, environ, redactor) for key, value in config.items()}
    if isinstance(config, list | tuple):
        return [resolve(value, environ, redactor) for value in config]
    return config
