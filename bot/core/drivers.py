"""Which segments drove a total's change, and for a share or an average whether its
segments' rates moved or the mix between them did.

Pure arithmetic on each segment's level before and after (the review's window levels).
How a total relates to its segments decides what can be attributed:

- ``sum``: each segment contributes its own change;
- ``mean`` (unweighted): its change divided by the number of segments;
- ``weighted`` (a share or an average weighted by a count per segment, e.g. conversion
  by sessions): with shares ``s = w / Σw`` and rates ``r``, the total ``Σ s·r`` changes
  by ``Σ s̄·Δr`` (the *rate* effect: segments did better or worse) plus ``Σ (r̄ − R̄)·Δs``
  (the *mix* effect: weight moved toward segments above or below the average), where a
  bar is the mean of before and after. The split is exact: the two add up to the change;
- ``min``, ``max``, and a total pulled separately are not additive: no attribution.

The weights are stored beside the segments as series of their own, named
``weight:<segment>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

WEIGHT_PREFIX = "weight:"
ADDITIVE = ("sum", "mean", "weighted")
Levels = tuple[float, float]  # before, after


def weight_segment(segment: str) -> str:
    """The name of the series holding ``segment``'s weight."""
    return WEIGHT_PREFIX + segment


def is_weight(segment: str) -> bool:
    return segment.startswith(WEIGHT_PREFIX)


def weighted_total(values: Mapping[str, float], weights: Mapping[str, float]
                   ) -> float | None:
    """``Σ w·r / Σ w`` over the segments that have a positive weight; None without any."""
    pairs = [(values[name], weight) for name, weight in weights.items()
             if name in values and weight > 0]
    total_weight = sum(weight for _, weight in pairs)
    if not total_weight:
        return None
    return sum(value * weight for value, weight in pairs) / total_weight


@dataclass(frozen=True)
class Contribution:
    """One segment's part in the total's change, in the total's unit."""

    segment: str
    before: float
    after: float
    effect: float  # rate + mix
    rate: float | None = None  # weighted and mean totals only
    mix: float | None = None
    share: float | None = None  # of the change all segments explain; None when that is 0


@dataclass(frozen=True)
class Drivers:
    """Every segment's contribution, largest first, and the rate/mix split."""

    relation: str
    contributions: tuple[Contribution, ...]
    rate: float | None = None
    mix: float | None = None

    @property
    def explained(self) -> float:
        """The total's change the segments account for (their effects' sum)."""
        return sum(c.effect for c in self.contributions)


def segment_drivers(relation: str, levels: Mapping[str, Levels],
                    weights: Mapping[str, Levels] | None = None) -> Drivers | None:
    """Contributions of the segments with both levels (and, for ``weighted``, both
    weights) to the total's change; None for a relation that is not additive or with no
    segment to attribute to."""
    if relation not in ADDITIVE:
        return None
    if relation == "weighted":
        return _weighted(levels, weights or {})
    names = sorted(levels)
    if not names:
        return None
    scale = 1.0 / len(names) if relation == "mean" else 1.0
    parts = [(name, *levels[name], (levels[name][1] - levels[name][0]) * scale)
             for name in names]
    if relation == "sum":
        return _ranked(relation, [Contribution(n, b, a, e) for n, b, a, e in parts])
    return _ranked(relation, [Contribution(n, b, a, e, rate=e, mix=0.0)
                              for n, b, a, e in parts])


def _weighted(levels: Mapping[str, Levels], weights: Mapping[str, Levels]) -> Drivers | None:
    names = sorted(name for name in levels if name in weights)
    totals = (sum(weights[n][0] for n in names), sum(weights[n][1] for n in names))
    if not names or totals[0] <= 0 or totals[1] <= 0:
        return None
    shares = {n: (weights[n][0] / totals[0], weights[n][1] / totals[1]) for n in names}
    overall = [sum(shares[n][side] * levels[n][side] for n in names) for side in (0, 1)]
    average = (overall[0] + overall[1]) / 2
    parts = []
    for name in names:
        (before, after), (share_before, share_after) = levels[name], shares[name]
        rate = (share_before + share_after) / 2 * (after - before)
        mix = ((before + after) / 2 - average) * (share_after - share_before)
        parts.append(Contribution(name, before, after, rate + mix, rate=rate, mix=mix))
    return _ranked("weighted", parts)


def _ranked(relation: str, parts: list[Contribution]) -> Drivers:
    explained = sum(part.effect for part in parts)
    shared = [Contribution(p.segment, p.before, p.after, p.effect, p.rate, p.mix,
                           p.effect / explained if explained else None) for p in parts]
    shared.sort(key=lambda part: -abs(part.effect))
    has_split = relation != "sum"
    return Drivers(relation, tuple(shared),
                   rate=sum(p.rate or 0.0 for p in parts) if has_split else None,
                   mix=sum(p.mix or 0.0 for p in parts) if has_split else None)
