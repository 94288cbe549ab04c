"""Every metric source kind this process knows: the built-ins and the plugins.

This is the one list of kinds. The grammar (``source=``), criteria files (``kind:``), the
puller and the Slack metric modal all read it, so a kind added by another package through
the ``outcome.sources`` entry-point group can be chosen everywhere::

    [project.entry-points."outcome.sources"]
    datadog = "outcome_datadog:DatadogSource"

A kind whose class says ``pulled = False`` (``manual``, ``push``) is never pulled: its values
are recorded or pushed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from bot.core.errors import SourceError
from metrics import csv, demo, http, manual, prometheus, push, sql
from metrics.connections import Connections
from metrics.registry import SOURCES, Source, SourceFactory
from metrics.resources import Resources
from metrics.secrets import Redactor

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "outcome.sources"
BUILTIN_KINDS = frozenset(module.__name__.rpartition(".")[2]
                          for module in (csv, demo, http, manual, prometheus, push, sql))

_plugins_loaded = False


def load_sources() -> dict[str, SourceFactory]:
    """The registry with the plugins declared by installed packages loaded (once)."""
    global _plugins_loaded
    if _plugins_loaded:
        return SOURCES
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in BUILTIN_KINDS:
            log.warning("source plugin %s ignored: %r is a built-in kind", entry.value,
                        entry.name)
            continue
        try:
            SOURCES[entry.name] = entry.load()
        except Exception:
            # One broken plugin must not take every other source down with it.
            log.exception("source plugin %s=%s could not be loaded", entry.name, entry.value)
    _plugins_loaded = True
    return SOURCES


def reload_plugins() -> None:
    """Forget the loaded plugins and read the entry points again (after an install)."""
    global _plugins_loaded
    for kind in set(SOURCES) - BUILTIN_KINDS:
        del SOURCES[kind]
    _plugins_loaded = False


def source_kinds() -> list[str]:
    """Every kind, sorted."""
    return sorted(load_sources())


def is_pulled(kind: str) -> bool:
    """Whether the puller reads this kind (False for recorded or pushed values)."""
    return bool(getattr(load_sources().get(kind), "pulled", True))


def unpulled_kinds() -> frozenset[str]:
    """The kinds whose values are recorded or pushed, never pulled."""
    return frozenset(kind for kind in load_sources() if not is_pulled(kind))


def check_config(kind: str, config: Mapping[str, Any]) -> None:
    """Refuse, when a metric is defined, a config that its kind can tell no pull could ever
    use: the kind's own ``check_config(config)`` (the sql source refuses a query that is
    not one read-only SELECT). Nothing is resolved or connected here, and the source runs
    the same checks again at pull time. What only a connection may hold (URLs, headers,
    credentials, ``${NAME}``) is refused by each transport (grammar, modal, criteria file)
    with :func:`metrics.member_configs.member_config_problems`."""
    check = getattr(load_sources().get(kind), "check_config", None)
    if check is not None:
        check(config)


def connection_kinds() -> list[str]:
    """The kinds a connection can serve: every pulled kind but the built-in demo."""
    return sorted(kind for kind in load_sources() if is_pulled(kind) and kind != "demo")


def get_source(kind: str, config: dict[str, Any], resources: Resources | None = None, *,
               workspace: str = "", redactor: Redactor | None = None,
               metric: str = "") -> Source:
    """Build the source for ``kind`` from a metric's ``config`` in ``workspace``.

    The connection the config names is merged in here, at pull time, with its ``${NAME}``
    references resolved; a config that still holds a url, one that names no connection
    of this workspace, or an unknown kind is a permanent error. ``metric``
    (``initiative.metric``) names the metric in the messages that say how to fix it.
    """
    factory = load_sources().get(kind)
    if factory is None:
        raise SourceError(f"Unknown source kind {kind!r}; known kinds: "
                          f"{', '.join(source_kinds())}.")
    connections = resources.connections if resources is not None else Connections()
    full, connection = connections.source_config(kind, config, workspace, redactor=redactor,
                                                 metric=metric)
    from_config = getattr(factory, "from_config", None)
    if from_config is not None:
        if resources is None:
            raise SourceError(f"The {kind} source needs the bot's clients to be built.")
        return from_config(full, resources if connection is None
                           else resources.for_connection(connection))
    return factory(full)
