"""Segment drivers: each segment's part in the total's change, and rate against mix."""

from __future__ import annotations

import pytest

from bot.core.drivers import (
    is_weight,
    segment_drivers,
    weight_segment,
    weighted_total,
)


def test_rate_vs_mix_on_a_constructed_example() -> None:
    # Conversion did not change on either device; traffic moved to mobile, which converts
    # worse: the total fell from 3.5 % to 2.6 %, all of it mix.
    rates = {"device=desktop": (5.0, 5.0), "device=mobile": (2.0, 2.0)}
    sessions = {"device=desktop": (500.0, 200.0), "device=mobile": (500.0, 800.0)}

    found = segment_drivers("weighted", rates, sessions)

    assert found is not None
    assert found.rate == pytest.approx(0.0)
    assert found.mix == pytest.approx(2.6 - 3.5)
    effects = {c.segment: c.effect for c in found.contributions}
    assert effects == pytest.approx({"device=desktop": (5.0 - 3.05) * (0.2 - 0.5),
                                     "device=mobile": (2.0 - 3.05) * (0.8 - 0.5)})
    assert [c.segment for c in found.contributions] == ["device=desktop", "device=mobile"]
    assert sum(c.share or 0 for c in found.contributions) == pytest.approx(1.0)


def test_a_rate_change_with_a_steady_mix_is_all_rate() -> None:
    rates = {"device=desktop": (5.0, 6.0), "device=mobile": (2.0, 2.0)}
    sessions = {"device=desktop": (300.0, 600.0), "device=mobile": (700.0, 1400.0)}

    found = segment_drivers("weighted", rates, sessions)

    assert found is not None
    assert found.mix == pytest.approx(0.0)
    assert found.rate == pytest.approx(0.3 * 1.0)
    assert found.explained == pytest.approx(found.rate)
    top = found.contributions[0]
    assert (top.segment, top.share) == ("device=desktop", pytest.approx(1.0))


def test_rate_and_mix_add_up_to_the_totals_change() -> None:
    rates = {"a": (1.0, 3.0), "b": (4.0, 2.5), "c": (10.0, 9.0)}
    weights = {"a": (10.0, 30.0), "b": (50.0, 20.0), "c": (5.0, 9.0)}

    found = segment_drivers("weighted", rates, weights)

    def total(side: int) -> float:
        return weighted_total({k: v[side] for k, v in rates.items()},
                              {k: v[side] for k, v in weights.items()}) or 0.0
    assert found is not None
    assert (found.rate or 0) + (found.mix or 0) == pytest.approx(total(1) - total(0))
    assert found.explained == pytest.approx(total(1) - total(0))


def test_a_summed_total_is_explained_by_each_segments_own_change_largest_first() -> None:
    found = segment_drivers("sum", {"region=eu": (40.0, 30.0), "region=us": (20.0, 22.0)})

    assert found is not None
    assert [(c.segment, c.effect, c.share) for c in found.contributions] == [
        ("region=eu", -10.0, pytest.approx(10 / 8)), ("region=us", 2.0, pytest.approx(-2 / 8))]
    assert (found.rate, found.mix) == (None, None)


def test_a_mean_total_takes_each_change_over_the_number_of_segments() -> None:
    found = segment_drivers("mean", {"a": (4.0, 10.0), "b": (4.0, 4.0), "c": (4.0, 1.0)})

    assert found is not None
    assert {c.segment: c.effect for c in found.contributions} == {"a": 2.0, "b": 0.0,
                                                                 "c": -1.0}
    assert (found.rate, found.mix) == (pytest.approx(1.0), 0.0)


def test_totals_that_are_not_additive_or_have_nothing_to_attribute_get_no_drivers() -> None:
    assert segment_drivers("max", {"a": (1.0, 2.0)}) is None
    assert segment_drivers("none", {"a": (1.0, 2.0)}) is None
    assert segment_drivers("sum", {}) is None
    assert segment_drivers("weighted", {"a": (1.0, 2.0)}, {}) is None
    assert segment_drivers("weighted", {"a": (1.0, 2.0)}, {"a": (0.0, 3.0)}) is None


def test_no_change_at_all_has_no_shares() -> None:
    found = segment_drivers("sum", {"a": (5.0, 5.0)})

    assert found is not None
    assert found.contributions[0].share is None


def test_a_weighted_total_skips_segments_without_a_positive_weight() -> None:
    assert weighted_total({"a": 10.0, "b": 20.0, "c": 99.0},
                          {"a": 1.0, "b": 3.0, "c": 0.0}) == pytest.approx(17.5)
    assert weighted_total({"a": 1.0}, {"b": 2.0}) is None


def test_weights_are_named_apart_from_segments() -> None:
    assert weight_segment("region=eu") == "weight:region=eu"
    assert is_weight(weight_segment("region=eu"))
    assert not is_weight("region=eu")


def test_each_contribution_carries_its_levels_and_its_own_rate_and_mix() -> None:
    rates = {"a": (2.0, 3.0), "b": (6.0, 6.0)}
    shares = {"a": (0.5, 0.25), "b": (0.5, 0.75)}  # weights may be fractions of one

    found = segment_drivers("weighted", rates, shares)

    assert found is not None
    by_name = {c.segment: c for c in found.contributions}
    a, b = by_name["a"], by_name["b"]
    assert (a.before, a.after, b.before, b.after) == (2.0, 3.0, 6.0, 6.0)
    assert a.rate == pytest.approx(0.375 * 1.0) and b.rate == pytest.approx(0.0)
    average = (4.0 + 5.25) / 2
    assert a.mix == pytest.approx((2.5 - average) * -0.25)
    assert b.mix == pytest.approx((6.0 - average) * 0.25)


def test_a_mean_totals_contributions_are_all_rate_and_a_sums_carry_levels() -> None:
    mean = segment_drivers("mean", {"a": (1.0, 3.0), "b": (5.0, 4.0)})
    summed = segment_drivers("sum", {"a": (1.0, 3.0)})

    assert mean is not None and summed is not None
    assert mean.relation == "mean" and summed.relation == "sum"
    assert [(c.rate, c.mix) for c in mean.contributions] == [(1.0, 0.0), (-0.5, 0.0)]
    assert [(c.before, c.after, c.rate, c.mix) for c in summed.contributions] == [
        (1.0, 3.0, None, None)]
