"""The registry of metric source kinds.

A source is a plain class keyed by its kind. It is built from its config and, when it talks
to another system, the client it uses (``httpx.Client``, a SQLAlchemy engine) is passed in:
tests hand it a real local server, the puller hands it the process's shared clients
through :class:`Resources`. Classes that need those clients define
``from_config(config, resources)``; others are called with the config alone.

Other packages add kinds through the ``outcome.sources`` entry-point group::

    [project.entry-points."outcome.sources"]
    datadog = "outcome_datadog:DatadogSource"
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from bot.errors import SourceError
from bot.samples import Reading
from metrics.secrets import Redactor, refuse_literal_secrets, resolve

if TYPE_CHECKING:
    import httpx
    from sqlalchemy import Engine

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "outcome.sources"
BUILTIN_MODULES = ("demo", "manual", "push", "prometheus", "sql", "http", "csv")
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


@dataclass
class Resources:
    """Clients that sources share within one process.

    ``engine_for`` keeps one engine per database URL so repeated pulls reuse connections;
    ``files_dir`` is the only folder the CSV source may read local files from (None: none).
    """

    http: httpx.Client
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    files_dir: Path | None = None
    engine_factory: Callable[[str, float], Engine] | None = None
    _engines: dict[tuple[str, float], Engine] = field(default_factory=dict)

    def engine_for(self, url: str, timeout: float) -> Engine:
        key = (url, timeout)
        if key not in self._engines:
            from metrics.sql import read_only_engine

            factory = self.engine_factory or read_only_engine
            self._engines[key] = factory(url, timeout)
        return self._engines[key]

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        self.http.close()


_loaded = False


def load_sources() -> dict[str, SourceFactory]:
    """Import the built-in kinds and those other packages declare; return the registry."""
    global _loaded
    if _loaded:
        return SOURCES
    import importlib

    for name in BUILTIN_MODULES:
        importlib.import_module(f"metrics.{name}")
    builtin = set(SOURCES)
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in builtin:
            log.warning("source plugin %s ignored: %r is a built-in kind", entry.value,
                        entry.name)
            continue
        try:
            SOURCES[entry.name] = entry.load()
        except Exception:
            # One broken plugin must not take every other source down with it.
            log.exception("source plugin %s=%s could not be loaded", entry.name, entry.value)
    _loaded = True
    return SOURCES


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


def check_config(kind: str, config: Mapping[str, Any]) -> None:
    """Refuse, when a metric is defined, a config that its kind can tell no pull could ever
    use: the kind's own ``check_config(config)`` (the sql source refuses a query that is
    not one read-only SELECT). Nothing is resolved or connected here, and the source runs
    the same checks again at pull time. Literal secrets are refused by each transport
    (grammar, modal, criteria file) with :func:`metrics.secrets.refuse_literal_secrets`."""
    check = getattr(load_sources().get(kind), "check_config", None)
    if check is not None:
        check(config)


def get_source(kind: str, config: dict[str, Any], resources: Resources | None = None, *,
               redactor: Redactor | None = None) -> Source:
    """Build the source for ``kind`` from ``config``.

    ``${NAME}`` references are resolved from the environment here, at pull time; a literal
    secret or an unknown kind is a permanent error.
    """
    factory = load_sources().get(kind)
    if factory is None:
        known = ", ".join(sorted(SOURCES))
        raise SourceError(f"Unknown source kind {kind!r}; known kinds: {known}.")
    refuse_literal_secrets(config)
    environ = resources.environ if resources is not None else os.environ
    resolved = resolve(config, environ, redactor)
    from_config = getattr(factory, "from_config", None)
    if from_config is not None:
        if resources is None:
            raise SourceError(f"The {kind} source needs the bot's clients to be built.")
        return from_config(resolved, resources)
    return factory(resolved)
