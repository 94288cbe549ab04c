"""Process-wide logging setup, with secrets scrubbed (the terminal commands too).

Every record that reaches the root logger's handlers passes :class:`SecretFilter` first, at
every level: libraries log request and response bodies at DEBUG (slack_sdk logs the OAuth
access response, a token), and an exception's text can quote a header or a URL.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from bot.core.settings import SETTINGS, Settings

# Libraries that log request URLs at INFO; a URL can carry a resolved secret.
QUIET_LOGGERS = ("httpx", "httpcore", "urllib3")
REDACTED = "<redacted>"

# Each pattern's group `secret` is replaced; the text around it is kept for context.
_PATTERNS = (
    # Slack tokens (bot, user, app-level, refresh, rotated: xoxe.xoxb-…, xoxe-…).
    re.compile(r"(?P<secret>\bxox[abposre](?:\.xox[abpe])?-[A-Za-z0-9-]+|\bxapp-[A-Za-z0-9-]+)"),
    # Authorization header values.
    re.compile(r"\b(?:Bearer|Basic|Token)\s+(?P<secret>[A-Za-z0-9._~+/=-]{8,})",
               re.IGNORECASE),
    # A value under a secret-looking name: JSON, Python reprs, query strings, key=value.
    re.compile(r"""(?:token|secret|password|passwd|api[-_]?key|authorization|credentials?)"""
               r"""['"]?\s*[:=]\s*['"]?(?P<secret>[^'"\s,&;}]{4,})""", re.IGNORECASE),
    # The password of a URL (scheme://user:password@host).
    re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/@\s:]*:(?P<secret>[^@\s/]+)@"),
    # Fernet keys (32 bytes in URL-safe base64) and tokens.
    re.compile(r"(?P<secret>(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}=|\bgAAAAA[A-Za-z0-9_=-]{20,})"),
)
_MIN_SECRET_LENGTH = 4  # shorter setting values are not scrubbed (they would hit words)


def secret_values(settings: Settings) -> list[str]:
    """The values of the bot's secret settings (each key of a comma-separated list too)."""
    values: list[str] = []
    for setting in SETTINGS:
        value = getattr(settings, setting.name.lower(), "")
        if setting.secret and isinstance(value, str) and value:
            values += [value, *(part.strip() for part in value.split(",") if "," in value)]
    return values


class SecretFilter(logging.Filter):
    """Replaces secrets in a record's message, arguments, exception and stack text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET_LENGTH},
                              key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(_redact_group, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format: drop them
            message = str(record.msg)
        record.msg, record.args = self.scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


def _redact_group(match: re.Match[str]) -> str:
    start, end = match.span("secret")
    return f"{match[0][:start - match.start()]}{REDACTED}{match[0][end - match.start():]}"


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """Log to stderr at ``level``, scrubbing ``secrets`` (see :func:`secret_values`) and
    every token shape from what each handler writes."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        force=True)
    scrub_handlers(secrets)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def scrub_handlers(secrets: Iterable[str] = ()) -> None:
    """Put a :class:`SecretFilter` on every handler of the root logger."""
    secret_filter = SecretFilter(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(secret_filter)
