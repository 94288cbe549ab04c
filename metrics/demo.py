"""The demo source: deterministic, realistic-looking curves for the demo workspace and tests.

A value is a pure function of (config, segment, time): an eased trend from ``start`` to
``end`` between ``start_at`` and ``end_at``, hour-stable pseudo-random noise, an optional
weekly rhythm, an optional mid-sprint sag and an optional step (``{"at": …, "by": …}``: a
shift of level from that moment on). Segmented metrics report each segment, its weight
(``weight``, moving linearly to ``weight_end`` when given) and their weighted mean as the
total.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from typing import Any

from bot.core.drivers import weight_segment
from bot.core.errors import SourceError
from bot.core.points import Reading
from metrics.registry import register

CURVE_KEYS = ("start", "end")


def _noise(seed: str, segment: str, at: datetime) -> float:
    """A stable value in [-1, 1] for the hour containing ``at``."""
    hour = int(at.timestamp() // 3600)
    digest = hashlib.blake2b(f"{seed}|{segment}|{hour}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**63 - 1.0


def _parse_time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _fraction(at: datetime, start_at: datetime, end_at: datetime) -> float:
    span = (end_at - start_at).total_seconds()
    return min(max((at - start_at).total_seconds() / span, 0.0), 1.0) if span > 0 else 1.0


def curve_value(curve: dict[str, Any], seed: str, segment: str, at: datetime,
                start_at: datetime, end_at: datetime) -> float:
    """The curve's value at ``at``."""
    fraction = _fraction(at, start_at, end_at)
    eased = 1 - (1 - fraction) ** float(curve.get("ease", 1.6))
    value = curve["start"] + (curve["end"] - curve["start"]) * eased
    weekly = float(curve.get("weekly", 0.0))
    if weekly:
        value *= 1 + weekly * math.sin(2 * math.pi * (at.weekday() + at.hour / 24) / 7)
    sag = curve.get("sag")
    if sag:
        period = float(sag["period_days"]) * 86400
        phase = ((at - _parse_time(sag["anchor"])).total_seconds() % period) / period
        value -= float(sag["depth"]) * phase
    step = curve.get("step")
    if step and at >= _parse_time(step["at"]):
        value += float(step["by"])
    value += float(curve.get("noise", 0.0)) * _noise(seed, segment, at)
    floor, ceiling = curve.get("min"), curve.get("max")
    if floor is not None:
        value = max(value, float(floor))
    if ceiling is not None:
        value = min(value, float(ceiling))
    return round(value, int(curve.get("decimals", 1)))


@register("demo")
class DemoSource:
    kind = "demo"

    def __init__(self, config: dict[str, Any]) -> None:
        try:
            self.seed = str(config.get("seed", "demo"))
            self.start_at = _parse_time(config["start_at"])
            self.end_at = _parse_time(config["end_at"])
            self.segments: dict[str, dict[str, Any]] = dict(config.get("segments", {}))
            # ``total`` is the curve of an unsegmented metric; beside segments it says how
            # the total is made, which for the demo is always their weighted mean.
            total = config.get("total")
            self.total: dict[str, Any] | None = total if isinstance(total, dict) else None
            for curve in [*self.segments.values(), *([self.total] if self.total else [])]:
                for key in CURVE_KEYS:
                    float(curve[key])
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceError(f"The demo source config is incomplete: {exc}.") from exc
        if not self.segments and not self.total:
            raise SourceError("The demo source needs a `total` curve or `segments`.")

    def _weight(self, curve: dict[str, Any], at: datetime) -> float:
        start = float(curve.get("weight", 1.0))
        end = float(curve.get("weight_end", start))
        return round(start + (end - start) * _fraction(at, self.start_at, self.end_at), 2)

    def read(self, at: datetime) -> list[Reading]:
        readings = []
        if self.segments:
            weighted, weights = 0.0, 0.0
            for name, curve in self.segments.items():
                value = curve_value(curve, self.seed, name, at, self.start_at, self.end_at)
                weight = self._weight(curve, at)
                readings += [Reading(at, value, name), Reading(at, weight, weight_segment(name))]
                weighted += value * weight
                weights += weight
            readings.insert(0, Reading(at, round(weighted / weights, 1)))
        else:
            assert self.total is not None
            readings.append(Reading(at, curve_value(self.total, self.seed, "", at,
                                                    self.start_at, self.end_at)))
        return readings
