"""What task-engine tests share: a recorder of task calls that tests wait on, and a
probe that is read again until it holds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

DEADLINE = 30.0  # seconds a condition may take on a loaded machine (procrastinate polls 5 s)
T = TypeVar("T")


class Calls:
    """What the task functions were called with, in order; tests wait on it."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []
        self.changed = threading.Condition()

    def record(self, task: str, args: dict[str, Any]) -> None:
        with self.changed:
            self.items.append((task, args))
            self.changed.notify_all()

    def of(self, task: str) -> list[dict[str, Any]]:
        with self.changed:
            return [args for name, args in self.items if name == task]

    def wait_for(self, predicate: Callable[[], bool], what: str) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, DEADLINE), f"timed out waiting: {what}"


def eventually(probe: Callable[[], T], what: str, timeout: float = DEADLINE) -> T:
    """``probe()`` once it is truthy (the database is read again every 10 ms)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting: {what}")
        time.sleep(0.01)
