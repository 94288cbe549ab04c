"""Acks first: work that follows an ack waits while other requests still wait for theirs.

Slack drops a request that is not acknowledged within 3 seconds, while the answer that
follows an ack (through ``respond`` or the Web API) may come seconds later. In one Python
process every thread shares one interpreter lock, so a burst of commands is acked faster
when the work behind the earlier acks waits until the burst is through: until no request
has been in its ack for ``quiet`` seconds. The wait is bounded (``max_delay``), so a steady
stream of requests never starves the work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

QUIET_SECONDS = 0.02
MAX_DELAY_SECONDS = 1.0


class AckPriority:
    """Counts requests being acknowledged; work waits for a quiet moment."""

    def __init__(self, quiet: float = QUIET_SECONDS, max_delay: float = MAX_DELAY_SECONDS
                 ) -> None:
        self.quiet, self.max_delay = quiet, max_delay
        self._acking = 0
        self._last_ack = 0.0
        self._changed = threading.Condition()

    def middleware(self, next_: Callable[[], Any]) -> Any:
        """A bolt global middleware: the request counts as acking until its listener
        (which acks and hands its work on) has returned."""
        with self._changed:
            self._acking += 1
        try:
            return next_()
        finally:
            with self._changed:
                self._acking -= 1
                self._last_ack = time.monotonic()
                self._changed.notify_all()

    def wait_for_acks(self) -> None:
        """Return once no request has been acking for ``quiet`` seconds, or after
        ``max_delay``."""
        deadline = time.monotonic() + self.max_delay
        with self._changed:
            while True:
                now = time.monotonic()
                if now >= deadline:
                    return
                if not self._acking:
                    calm_at = self._last_ack + self.quiet
                    if now >= calm_at:
                        return
                    self._changed.wait(min(calm_at, deadline) - now)
                else:
                    self._changed.wait(deadline - now)
