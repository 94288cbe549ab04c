"""The registry of metric source kinds.

A source is a plain class keyed by its kind. It is built from its config and, when it talks
to another system, the client it uses (``httpx.Client``, a SQLAlchemy engine) is passed in:
tests hand it a real local server, the puller hands it the process's shared clients
through :class:`Resources`. Classes that need those clients define
``from_config(config, resources)``; others are called with the config alone.

:mod:`metrics.kinds` holds the full list: the built-ins and the plugins other packages add.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from bot.core.errors import SourceError
from bot.core.points import Reading

DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 120.0


class Source(Protocol):
    """A metric source: built from its config, it reads the current value(s)."""

    kind: str

    def read(self, at: datetime) -> list[Reading]:
        """Readings as of ``at``: the total (segment '') and any segments."""
        ...


@runtime_checkable
class HistorySource(Protocol):
    """A source that can also read its past, for backfills and baselines "as of" a date."""

    def history(self, start: datetime, end: datetime, step: timedelta) -> list[Reading]:
        """Readings every ``step`` from ``start`` to ``end``."""
        ...


SourceFactory = Callable[..., Source]
SOURCES: dict[str, SourceFactory] = {}


def register(kind: str) -> Callable[[SourceFactory], SourceFactory]:
    """Class decorator that registers a source under ``kind``."""

    def decorate(factory: SourceFactory) -> SourceFactory:
        SOURCES[kind] = factory
        return factory

    return decorate


def source_timeout(config: Mapping[str, Any]) -> float:
    """The per-request timeout a config asks for (``timeout`` seconds), within bounds."""
    raw = config.get("timeout", DEFAULT_TIMEOUT)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise SourceError(f"timeout must be a number of seconds (got {raw!r}).") from None
    if not 0 < value <= MAX_TIMEOUT:
        raise SourceError(f"timeout must be between 0 and {MAX_TIMEOUT:.0f} seconds.")
    return value
