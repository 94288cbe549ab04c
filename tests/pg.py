"""A throwaway PostgreSQL cluster for the tests: ``initdb`` into a temporary folder, start
the server on a free loopback port, hand out one fresh database per test, stop it at the end.

initdb refuses to run as root, so when the tests run as root (CI does) every server command
runs as the ``postgres`` OS user through ``runuser``, in a folder that user owns.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SERVER_USER = "postgres"
_SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
# Durability is worthless for a cluster that is deleted after the run, and costs time.
_SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
)


class PostgresUnavailable(Exception):
    """This machine cannot run a PostgreSQL server (no binaries, no ``postgres`` user)."""


def find_bindir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None when there is none.

    Looks at ``$OUTCOME_PG_BINDIR``, then ``pg_config --bindir`` (which may name a folder
    without the server when only the client is installed), then Debian's
    ``/usr/lib/postgresql/<version>/bin`` (newest first), then ``initdb`` on ``PATH``.
    """
    candidates: list[Path] = []
    if os.environ.get("OUTCOME_PG_BINDIR"):
        candidates.append(Path(os.environ["OUTCOME_PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=30
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = [p for p in debian.iterdir() if (p / "bin").is_dir()]
        versions.sort(key=lambda p: _version_key(p.name), reverse=True)
        candidates.extend(p / "bin" for p in versions)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in _SERVER_BINARIES):
            return folder
    return None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_environment() -> dict[str, str]:
    # PG* variables (PGDATA, PGPORT, PGOPTIONS, ...) would steer the server tools and libpq
    # away from the cluster we start; an unknown locale would make initdb fail.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


class PostgresCluster:
    """A running throwaway cluster; build with :meth:`start`, end with :meth:`stop`."""

    def __init__(self, bindir: Path, base: Path, run_as: str | None) -> None:
        self.bindir = bindir
        self.base = base
        self.data = base / "data"
        self.log = base / "server.log"
        self.run_as = run_as
        self.port = 0
        self._admin: Any = None
        self._names = itertools.count(1)
        self._stopped = False

    @classmethod
    def start(cls, bindir: Path) -> PostgresCluster:
        """initdb and start a cluster; raise PostgresUnavailable if this user cannot."""
        run_as = None
        parent = None
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise PostgresUnavailable("running as root, and runuser is not installed")
            try:
                account = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root, and there is no {SERVER_USER!r} OS user to run "
                    "initdb as (installing the 'postgresql' package creates it)"
                ) from None
            run_as = SERVER_USER
            # The server user must be able to reach its folder; TMPDIR may be root's own.
            parent = "/tmp" if os.path.isdir("/tmp") else None
        base = Path(tempfile.mkdtemp(prefix="outcome-pg-", dir=parent))
        if run_as is not None:
            os.chown(base, account.pw_uid, account.pw_gid)
        cluster = cls(bindir, base, run_as)
        atexit.register(cluster.stop)
        try:
            cluster._initdb()
            cluster._start_server()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command: Sequence[str] = args
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *args]
        result = subprocess.run(
            command,
            cwd=self.base,
            env=_clean_environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} exited {result.returncode}\n"
                f"{result.stdout}{result.stderr}{self._log_tail()}"
            )
        return result

    def _log_tail(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\nserver log:\n" + "\n".join(lines[-20:])

    def _initdb(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-A", "trust",
            "-U", "postgres",
            "-E", "UTF8",
            "--locale=C",
            "--no-sync",
            "-D", str(self.data),
        )  # fmt: skip

    def _start_server(self) -> None:
        # Another process may take the port between our probe and the server's bind: retry.
        for attempt in range(3):
            self.port = _free_port()
            options = f"-p {self.port} -k {self.base} {_SERVER_OPTIONS}"
            try:
                # -l: the server must not inherit our pipes, or run() would wait for it.
                self._run(
                    str(self.bindir / "pg_ctl"),
                    "-D", str(self.data),
                    "-l", str(self.log),
                    "-o", options,
                    "-w", "-t", "60",
                    "start",
                )  # fmt: skip
                return
            except RuntimeError as exc:
                if attempt == 2 or "already in use" not in str(exc):
                    raise

    def _admin_connection(self) -> Any:
        import psycopg

        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(
                host="127.0.0.1",
                port=self.port,
                user="postgres",
                dbname="postgres",
                autocommit=True,
            )
        return self._admin

    def url(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` in this cluster."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, hint: str = "") -> str:
        """Create an empty database with a name unique in this cluster; return the name."""
        from psycopg import sql

        slug = re.sub(r"[^a-z0-9]+", "_", hint.lower()).strip("_")
        name = f"test_{next(self._names)}_{slug}"[:63].rstrip("_")
        self._admin_connection().execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending any connection a test left open to it."""
        from psycopg import sql

        self._admin_connection().execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def stop(self) -> None:
        """Stop the server at once and delete its files; safe to call more than once."""
        if self._stopped:
            return
        self._stopped = True
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.close()
        if (self.data / "postmaster.pid").exists():
            try:
                self._run(
                    str(self.bindir / "pg_ctl"),
                    "-D", str(self.data),
                    "-m", "immediate",
                    "-w",
                    "stop",
                )  # fmt: skip
            except (RuntimeError, subprocess.SubprocessError):
                self._kill_postmaster()
        shutil.rmtree(self.base, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        # Only the postmaster this cluster started, by the pid it wrote; SIGQUIT is what
        # "pg_ctl stop -m immediate" sends, and the postmaster takes its children down.
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGQUIT)
        except (OSError, ValueError, IndexError):
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                return
            time.sleep(0.05)
