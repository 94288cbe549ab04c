"""Process-wide logging setup for the long-running processes."""

from __future__ import annotations

import logging

# Libraries that log request URLs at INFO; a URL can carry a resolved secret.
QUIET_LOGGERS = ("httpx", "httpcore", "urllib3")


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        force=True)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
