"""The clients that metric sources share within one process, built once by its composition
root and closed when it stops."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine

from metrics.sql import read_only_engine


@dataclass
class Resources:
    """Clients that sources share within one process.

    ``engine_for`` keeps one engine per database URL so repeated pulls reuse connections;
    ``files_dir`` is the only folder the CSV source may read local files from (None: none).
    """

    http: httpx.Client
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    files_dir: Path | None = None
    engine_factory: Callable[[str, float], Engine] = read_only_engine
    _engines: dict[tuple[str, float], Engine] = field(default_factory=dict)

    def engine_for(self, url: str, timeout: float) -> Engine:
        key = (url, timeout)
        if key not in self._engines:
            self._engines[key] = self.engine_factory(url, timeout)
        return self._engines[key]

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        self.http.close()


def open_resources(files_dir: Path | None = None, *, timeout: float = 30.0,
                   max_connections: int = 100) -> Resources:
    """Fresh shared clients; ``files_dir`` is the one folder local CSV files may come from."""
    client = httpx.Client(
        timeout=timeout,
        limits=httpx.Limits(max_connections=max_connections,
                            max_keepalive_connections=max_connections),
        headers={"User-Agent": "outcomes-bot"},
    )
    return Resources(http=client, files_dir=files_dir)
