"""One error tree for the whole project.

Every error a user can meet carries a message that says how to fix the input. ``permanent``
tells a caller whether retrying can help: a bad query or a missing initiative will never
succeed on retry, a timed-out source may.
"""

from __future__ import annotations


class OutcomeError(Exception):
    """Base of every error the project raises on purpose."""

    permanent: bool = True

    def __init__(self, message: str, *, permanent: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if permanent is not None:
            self.permanent = permanent


class ConfigError(OutcomeError):
    """A setting in the environment is missing or malformed."""


class UsageError(OutcomeError):
    """A command was malformed; ``usage`` shows the correct form."""

    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.usage = usage

    def __str__(self) -> str:
        return f"{self.message}\nUsage: {self.usage}" if self.usage else self.message


class NotFound(OutcomeError):
    """A referenced initiative, metric or sample does not exist."""


class Conflict(OutcomeError):
    """The request contradicts the current state (e.g. signing an archived initiative)."""


class SourceError(OutcomeError):
    """A metric source could not produce a value; ``permanent`` separates bad config from
    an outage."""


class Forbidden(OutcomeError):
    """The actor may not do this (see :mod:`bot.app.permissions`); the message names who
    may."""
