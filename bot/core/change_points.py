"""When a series shifted level: the day of the step and the levels on both sides.

Binary segmentation on a series' daily values: the split of a stretch that best separates
two means, kept when the difference is at least ``STEP_AT`` standard errors of the
series' own noise, and a step explains the stretch better than a straight line would (a
steady trend is a trend, not a step); then each side is searched again. Pure arithmetic,
like :mod:`bot.core.variation`, whose noise estimate it takes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from itertools import accumulate
from operator import mul
from statistics import median

STEP_AT = 5.0  # standard errors: a split is chosen among ~40, so the bar is high
MIN_SIDE = 3  # days on each side of a step
MAX_STEPS = 3  # steps looked for in one series
MEDIAN_SE = 1.2533  # a median's standard error per mean's, for normal noise


@dataclass(frozen=True)
class Step:
    """A shift of level: the first day at the new level, and the levels on both sides."""

    day: date
    before: float
    after: float
    strength: float  # the shift in standard errors


def steps(days: Sequence[int], values: Sequence[float], noise: float) -> list[Step]:
    """The steps of a series (``days`` as ordinals, ascending), oldest first."""
    if noise <= 0 or len(values) < 2 * MIN_SIDE:
        return []
    found: list[tuple[int, float]] = []
    stretches = [(0, len(values))]
    while stretches and len(found) < MAX_STEPS:
        start, end = stretches.pop()
        split = _best_split(values, start, end, noise)
        if split is None:
            continue
        found.append(split)
        stretches += [(start, split[0]), (split[0], end)]
    cuts = sorted(index for index, _ in found)
    strength = dict(found)
    bounds = [0, *cuts, len(values)]
    return [Step(date.fromordinal(days[cut]), median(values[bounds[n]:cut]),
                 median(values[cut:bounds[n + 2]]), strength[cut])
            for n, cut in enumerate(cuts)]


def _best_split(values: Sequence[float], start: int, end: int, noise: float
                ) -> tuple[int, float] | None:
    """The index that best splits ``values[start:end]`` into two levels, and its strength,
    or None when no split is strong enough or a line fits the stretch better."""
    stretch = values[start:end]
    count = len(stretch)
    if count < 2 * MIN_SIDE:
        return None
    running = [0.0, *accumulate(stretch)]
    total = running[count]
    # The difference of the two means at each split, in standard errors (times the noise).
    strengths = [abs((total - head) / right - head / left) * weight
                 for head, (left, right, weight)
                 in zip(running[MIN_SIDE:], _split_weights(count), strict=False)]
    best_strength = max(strengths)
    if not best_strength > 0:  # no split separates anything (or the values are not finite)
        return None
    best = MIN_SIDE + strengths.index(best_strength)  # the first of equally strong splits
    best_strength /= noise
    if best_strength < STEP_AT:
        return None
    # Kept when the medians agree (a spike at an end moves a mean, not a median) and a
    # step explains the stretch better than a straight line.
    earlier, later = stretch[:best], stretch[best:]
    robust = abs(median(later) - median(earlier)) / (
        MEDIAN_SE * noise * math.sqrt(1 / len(earlier) + 1 / len(later)))
    if robust < STEP_AT:
        return None
    squares = _squares(stretch)
    if _line_error(stretch, total, squares) <= _step_error(running, best, squares):
        return None
    return start + best, robust


@cache
def _split_weights(count: int) -> tuple[tuple[int, int, float], ...]:
    """Each split of ``count`` values (the values left and right of it) with one over the
    standard error of its means' difference, in noise units: the same for every series of
    that length."""
    return tuple((left, count - left, 1 / math.sqrt(1 / left + 1 / (count - left)))
                 for left in range(MIN_SIDE, count - MIN_SIDE + 1))


def _squares(values: Sequence[float]) -> float:
    return math.fsum(map(mul, values, values))


def _step_error(running: Sequence[float], split: int, squares: float) -> float:
    """Squared error of two flat levels split at ``split`` (``running``: prefix sums of
    the values, ``squares``: the sum of their squares)."""
    count, left = len(running) - 1, running[split]
    right = running[count] - left
    return squares - left ** 2 / split - right ** 2 / (count - split)


def _line_error(values: Sequence[float], total: float, squares: float) -> float:
    """Squared error of the least-squares straight line through ``values`` (their sum
    ``total``, the sum of their squares ``squares``)."""
    count = len(values)
    mean_x = (count - 1) / 2
    spread_x = count * (count * count - 1) / 12  # sum of (x - mean_x)^2 for x = 0..n-1
    spread_y = squares - total ** 2 / count
    cross = math.fsum(map(mul, range(count), values)) - mean_x * total
    return spread_y - cross ** 2 / spread_x
