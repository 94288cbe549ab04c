"""The registry of metric source kinds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from bot.errors import SourceError
from bot.samples import Reading


class Source(Protocol):
    """A metric source: built from its config, it reads the current value(s)."""

    kind: str

    def read(self, at: datetime) -> list[Reading]:
        """Readings as of ``at``: the total (segment '') and any segments."""
        ...


SourceFactory = Callable[[dict[str, Any]], Source]
SOURCES: dict[str, SourceFactory] = {}


def register(kind: str) -> Callable[[SourceFactory], SourceFactory]:
    """Class decorator that registers a source under ``kind``."""

    def decorate(factory: SourceFactory) -> SourceFactory:
        SOURCES[kind] = factory
        return factory

    return decorate


def get_source(kind: str, config: dict[str, Any]) -> Source:
    """Build the source for ``kind`` from ``config``; unknown kinds are a permanent error."""
    import metrics.demo
    import metrics.manual  # noqa: F401

    factory = SOURCES.get(kind)
    if factory is None:
        known = ", ".join(sorted(SOURCES))
        raise SourceError(f"Unknown source kind {kind!r}; known kinds: {known}.")
    return factory(config)
