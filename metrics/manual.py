"""The manual source: values arrive through `record` and pushes, never by pulling."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.core.points import Reading
from metrics.registry import register


@register("manual")
class ManualSource:
    kind = "manual"
    pulled = False  # values are recorded or pushed, never pulled

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def read(self, at: datetime) -> list[Reading]:
        """Nothing to pull: manual metrics are recorded by people or pipelines."""
        return []
