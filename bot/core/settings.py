"""Settings read from the environment: every one has a name, a default and help text.

A bad value fails at start with a message that names the variable and says what is
expected. Secrets can also be read from a file named by ``<NAME>_FILE`` so they need not
sit in the process environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.core.errors import ConfigError
from bot.core.kinds import Queue
from bot.core.values import parse_sprint_days, parse_timezone


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, default, parser and help text."""

    name: str
    default: str
    help: str
    parse: Callable[[str], Any] = str
    secret: bool = False


def _parse_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true/false")


def _parse_database_url(text: str) -> str:
    if "://" not in text:
        raise ValueError("expected a SQLAlchemy URL such as sqlite:///outcome.db")
    return text


def _parse_log_level(text: str) -> str:
    level = text.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
    return level


def _parse_port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError("expected a port number between 1 and 65535")
    return port


WORKER_THREADS = "interactive=8,pulls=4,digests=4,charts=2,schedule=1"


def _parse_worker_threads(text: str) -> dict[Queue, int]:
    threads = {queue: 0 for queue in Queue}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, _, count = part.partition("=")
        try:
            queue = Queue(name.strip())
        except ValueError:
            raise ValueError(f"{name.strip()!r} is not a queue; the queues are "
                             f"{', '.join(Queue)}") from None
        threads[queue] = _parse_int(count.strip())
    if not any(threads.values()):
        raise ValueError("no queue has a thread")
    return threads


DEFAULT_WORKER_THREADS = _parse_worker_threads(WORKER_THREADS)


def _parse_seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise ValueError("expected a number of seconds above 0")
    return value


def default_database_url(environ: Mapping[str, str]) -> str:
    """SQLite file under the user's data dir (XDG), or ./outcome.db when that is unusable."""
    data_home = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    folder = Path(data_home) / "outcome"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return "sqlite:///outcome.db"
    return f"sqlite:///{folder / 'outcome.db'}"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        "",
        "SQLAlchemy URL of the store. Default: a SQLite file under $XDG_DATA_HOME/outcome "
        "(~/.local/share/outcome/outcome.db), or ./outcome.db. Production: "
        "postgresql+psycopg://user:pass@host/db.",
        _parse_database_url,
        secret=True,
    ),
    Setting("SLACK_BOT_TOKEN", "", "Bot token (xoxb-...) for a single-workspace install.",
            secret=True),
    Setting("SLACK_SIGNING_SECRET", "", "Signing secret that verifies Slack's HTTP requests.",
            secret=True),
    Setting("SLACK_APP_TOKEN", "", "App-level token (xapp-...); when set the bot uses Socket Mode.",
            secret=True),
    Setting("SLACK_CLIENT_ID", "",
            "OAuth client id, for installing into many workspaces (with SLACK_CLIENT_SECRET; "
            "instead of SLACK_BOT_TOKEN)."),
    Setting("SLACK_CLIENT_SECRET", "", "OAuth client secret (with SLACK_CLIENT_ID).",
            secret=True),
    Setting("SLACK_API_URL", "https://slack.com/api/",
            "Base URL of the Slack Web API (tests point it at a local fake)."),
    Setting("OUTCOME_TIMEZONE", "UTC",
            "Default IANA time zone for new initiatives and review periods.", parse_timezone),
    Setting("OUTCOME_WORKSPACE", "local",
            "Workspace the CLI acts in (a Slack team id, or 'local' for the embedded default)."),
    Setting("OUTCOME_USER", "",
            "Who the CLI acts as in audit records. Default: the login name."),
    Setting("OUTCOME_FISCAL_YEAR_START", "1",
            "Month (1-12) the fiscal year starts in, for quarterly reviews.", _parse_int),
    Setting("OUTCOME_SPRINT_DAYS", "14", "Default sprint length in days (1-91).",
            parse_sprint_days),
    Setting("OUTCOME_PUSH_TOKEN", "",
            "Deprecated on the server: one bearer token for the push endpoint (POST "
            "/api/v1/push), valid for OUTCOME_WORKSPACE only; use per-workspace tokens "
            "(`push-token create <name>`). For `outcome push --url`: the token it sends.",
            secret=True),
    Setting("OUTCOME_CONNECTIONS_FILE", "",
            "YAML file of the named source connections an operator registers (URL, "
            "credentials by ${NAME} from the environment or NAME_FILE, allowed hosts); "
            "metrics choose among them with connection=<name>. Unset: only manual, push "
            "and demo metrics. See docs/security.md."),
    Setting("OUTCOME_ADMINS", "",
            "Comma-separated Slack user ids who are Outcomes admins besides each "
            "workspace's admins and owners (e.g. U012AB3CD,U045EF6GH)."),
    Setting("OUTCOME_ENCRYPTION_KEYS", "",
            "Comma-separated Fernet keys that encrypt Slack tokens in the database, newest "
            "first; older keys still decrypt, `outcome keys rotate` re-encrypts with the "
            "newest. Required with SLACK_CLIENT_ID (OAuth installs). Make one with "
            "`outcome keys new`.", secret=True),
    Setting("OUTCOME_PUSH_URL", "",
            "Base URL of the Outcomes server that `outcome push` sends to; unset: it writes "
            "straight into DATABASE_URL."),
    Setting("OUTCOME_FILES_DIR", "",
            "The only folder the csv source may read local files from; unset: none."),
    Setting("OUTCOME_CHART_WORKERS", str(os.cpu_count() or 1),
            "Processes that draw charts (default: one per core); 0 draws them in-process.",
            _parse_int),
    Setting("OUTCOME_WORKER_THREADS", WORKER_THREADS,
            "Tasks each worker process runs at once, per queue (queue=count, comma-separated;"
            " a queue left out gets none in this process).", _parse_worker_threads),
    Setting("OUTCOME_WORKER_STALLED_AFTER", "30",
            "Seconds without a heartbeat after which a PostgreSQL worker counts as dead and "
            "its running tasks run again elsewhere.", _parse_seconds),
    Setting("PORT", "3000", "HTTP port of `outcome serve`.", _parse_port),
    Setting("LOG_LEVEL", "INFO", "Logging level: DEBUG, INFO, WARNING or ERROR.",
            _parse_log_level),
    Setting("OUTCOME_DEMO_DATA", "true",
            "Whether `outcome demo` may create the demo workspace.", _parse_bool),
)


def _read(setting: Setting, environ: Mapping[str, str]) -> str:
    file_name = environ.get(f"{setting.name}_FILE")
    if setting.secret and file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not a UTF-8 text file"
            raise ConfigError(
                f"{setting.name}_FILE points at {file_name!r}, which cannot be read: {reason}"
            ) from None
    return environ.get(setting.name, setting.default)


@dataclass(frozen=True)
class Settings:
    """Validated settings; build with :func:`load_settings`."""

    values: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.__dict__.get("values", {})[name.upper()]
        except KeyError as exc:
            raise AttributeError(name) from exc

    def __repr__(self) -> str:
        secret = {s.name for s in SETTINGS if s.secret}
        shown = {
            name: "(hidden)" if name in secret and value else value
            for name, value in self.values.items()
        }
        return f"Settings({shown})"

    @property
    def cli_user(self) -> str:
        if self.values["OUTCOME_USER"]:
            return self.values["OUTCOME_USER"]
        try:
            return os.getlogin()
        except OSError:
            return os.environ.get("USER", "cli")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise :class:`ConfigError` naming a bad variable."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = _read(setting, environ)
        if setting.name == "DATABASE_URL" and not raw:
            raw = default_database_url(environ)
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            shown = "(hidden)" if setting.secret else repr(raw)
            raise ConfigError(
                f"{setting.name}={shown} is not valid: {exc}. {setting.help}"
            ) from exc
    month = values["OUTCOME_FISCAL_YEAR_START"]
    if not 1 <= month <= 12:
        raise ConfigError(f"OUTCOME_FISCAL_YEAR_START={month} is not valid: expected 1-12.")
    return Settings(values)
