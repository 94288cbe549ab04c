"""The clients that metric sources share within one process, built once by its composition
root and closed when it stops."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
from sqlalchemy import Engine

from metrics.connections import Connection, Connections
from metrics.egress import EgressPolicy, guarded_client
from metrics.sql import read_only_engine

DEFAULT_TIMEOUT = 30.0
MAX_CONNECTIONS = 100


def connection_client(connection: Connection) -> httpx.Client:
    """The HTTP client of one connection: it reaches the connection's allowed hosts only,
    and private ranges only where the operator allowed them."""
    return guarded_client(connection.policy, timeout=DEFAULT_TIMEOUT,
                          max_connections=MAX_CONNECTIONS)


@dataclass
class Resources:
    """Clients that sources share within one process.

    ``connections`` are the operator's registered connections; each gets its own guarded
    HTTP client (:meth:`client_for`), built on first use and kept. ``http`` serves kinds
    that use no connection (a plugin's), with the default egress policy. ``engine_for``
    keeps one engine per database URL so repeated pulls reuse connections; ``files_dir``
    is the only folder the CSV source may read local files from (None: none).
    """

    http: httpx.Client
    files_dir: Path | None = None
    connections: Connections = field(default_factory=Connections)
    engine_factory: Callable[[str, float], Engine] = read_only_engine
    client_factory: Callable[[Connection], httpx.Client] = connection_client
    _engines: dict[tuple[str, float], Engine] = field(default_factory=dict)
    _clients: dict[str, httpx.Client] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def engine_for(self, url: str, timeout: float) -> Engine:
        key = (url, timeout)
        with self._lock:
            if key not in self._engines:
                self._engines[key] = self.engine_factory(url, timeout)
            return self._engines[key]

    def client_for(self, connection: Connection) -> httpx.Client:
        with self._lock:
            if connection.name not in self._clients:
                self._clients[connection.name] = self.client_factory(connection)
            return self._clients[connection.name]

    def for_connection(self, connection: Connection) -> Resources:
        """A view whose ``http`` is the connection's client (sql connections need none); it
        shares every cache with this one (close this one, not the view)."""
        if connection.kind == "sql":
            return self
        return replace(self, http=self.client_for(connection))

    def close(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
            for client in self._clients.values():
                client.close()
            self._clients.clear()
        self.http.close()


def open_resources(files_dir: Path | None = None, *,
                   connections: Connections | None = None,
                   timeout: float = DEFAULT_TIMEOUT,
                   max_connections: int = MAX_CONNECTIONS) -> Resources:
    """Fresh shared clients; ``files_dir`` is the one folder local CSV files may come from."""
    client = guarded_client(EgressPolicy(), timeout=timeout, max_connections=max_connections)
    return Resources(http=client, files_dir=files_dir,
                     connections=connections or Connections())
