"""The hold-out phrasings (tests/ask_holdout.py, written blind after the parser was done and
never used to tune it): the share understood must not fall below what it was when they
were first run. A thread's earlier question given as text is understood first, as in
Slack."""

from __future__ import annotations

from dataclasses import replace

from bot.grammar.ask import Ambiguous, NotUnderstood, Question, understand
from tests.ask_corpus import ASK_BACK, CATALOGUE, NOT_UNDERSTOOD, TODAY
from tests.ask_holdout import HOLDOUT

# Measured on the first run (2026-12-03: 60 of 68); raise it when the parser gets better.
UNDERSTOOD_AT_LEAST = 0.88  # 60 of 68


def _comparable(found: object) -> object:
    if isinstance(found, Ambiguous):
        return ASK_BACK, tuple(i.key for i in found.candidates)
    if isinstance(found, NotUnderstood):
        return NOT_UNDERSTOOD
    if isinstance(found, Question):  # the order statuses are named in does not matter
        return replace(found, statuses=tuple(sorted(found.statuses)))
    return found


def _previous(case: tuple) -> Question | None:
    if len(case) < 3:
        return None
    earlier = case[2]
    if isinstance(earlier, str):
        earlier = understand(earlier, CATALOGUE, TODAY)
    return earlier if isinstance(earlier, Question) else None


def missed() -> list[tuple[str, object, object]]:
    """Each hold-out phrasing not understood as written: text, got, wanted."""
    misses = []
    for case in HOLDOUT:
        got = _comparable(understand(case[0], CATALOGUE, TODAY, _previous(case)))
        wanted = _comparable(case[1])
        if got != wanted:
            misses.append((case[0], got, wanted))
    return misses


def test_the_hold_out_set_is_understood_at_least_as_well_as_when_first_run() -> None:
    assert len(HOLDOUT) >= 40
    misses = missed()
    share = 1 - len(misses) / len(HOLDOUT)
    assert share >= UNDERSTOOD_AT_LEAST, "\n".join(f"{t!r}: got {g}, wanted {w}"
                                                   for t, g, w in misses)
