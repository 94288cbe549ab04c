"""Questions in everyday words are understood as the corpus says (tests/ask_corpus.py)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.calendar import Cadence
from bot.core.errors import UsageError
from bot.core.periods import PeriodSpec, resolve
from bot.grammar.ask import Ambiguous, Intent, NotUnderstood, Question, understand
from bot.grammar.ask.memory import question_data, question_from
from bot.grammar.ask.normalize import words_of
from bot.grammar.ask.periods import find_periods
from bot.grammar.ask.spelling import corrected
from bot.grammar.ask.understand import VOCABULARY
from tests.ask_corpus import ASK_BACK, CASES, CATALOGUE, NOT_UNDERSTOOD, TODAY


def _outcome(text: str, previous: Question | None = None) -> object:
    found = understand(text, CATALOGUE, TODAY, previous)
    if isinstance(found, Ambiguous):
        return ASK_BACK, tuple(i.key for i in found.candidates)
    if isinstance(found, NotUnderstood):
        return NOT_UNDERSTOOD
    return found


@pytest.mark.parametrize("case", CASES, ids=[repr(case[0]) for case in CASES])
def test_each_phrasing_of_the_corpus_is_understood_as_written(case: tuple) -> None:
    text, expected, *previous = case
    assert _outcome(text, previous[0] if previous else None) == expected


def test_the_corpus_has_at_least_150_phrasings_across_every_intent() -> None:
    assert len(CASES) >= 150
    intents = {case[1].intent for case in CASES if isinstance(case[1], Question)}
    assert intents == set(Intent)
    assert sum(1 for case in CASES if len(case) == 3) >= 10  # follow-ups


def test_words_drop_mentions_emoji_accents_and_possessives() -> None:
    assert words_of("Hey <@U0BOT> @outcome, how's Café’s fleet.deploy 🚀 :tada: going??") == [
        "hey", "how", "is", "cafe", "fleet.deploy", "going"]
    assert words_of("didn't it improve since 10/1 or 2026-10-01?") == [
        "did", "not", "it", "improve", "since", "10/1", "or", "2026-10-01"]


def test_a_typo_is_fixed_only_towards_one_vocabulary_word_not_closer_to_a_name() -> None:
    names = frozenset({"csat", "checkout"})
    assert corrected(["waht", "sprnt", "regresed", "quater"], VOCABULARY, names) == [
        "what", "sprint", "regressed", "quarter"]
    # A four-letter word is a typo only with two letters swapped: "rate" and "cost" are
    # words of their own, not "date" and "most".
    assert corrected(["rate", "cost", "movd"], VOCABULARY, names) == ["rate", "cost", "movd"]
    # "lsat" is one edit from "last" and from the metric key "csat": left for the names.
    assert corrected(["lsat", "chekout", "fleet"], VOCABULARY, names) == [
        "lsat", "chekout", "fleet"]
    assert corrected(["wat"], VOCABULARY, names) == ["wat"]  # too short to guess


def test_an_ambiguous_name_is_asked_back_and_the_chosen_one_answered() -> None:
    found = understand("how's the fleet doing this sprint", CATALOGUE, TODAY)
    assert isinstance(found, Ambiguous)
    assert [i.key for i in found.candidates] == ["fleet-update", "fleet-monitoring"]
    assert found.question == Question(Intent.HOW, period=PeriodSpec("this_sprint"))
    picked = understand("how's the fleet doing this sprint", CATALOGUE, TODAY,
                        chosen="fleet-monitoring")
    assert picked == Question(Intent.HOW, "fleet-monitoring",
                              period=PeriodSpec("this_sprint"))


def test_a_name_that_matches_nothing_is_said_back_with_what_is_known() -> None:
    found = understand("how is billing doing", CATALOGUE, TODAY)
    assert isinstance(found, Ambiguous) and found.unknown == "billing"


def test_a_metric_named_by_its_stem_is_found_and_short_words_need_a_close_match() -> None:
    found = understand("why did the activation rate change last sprint", CATALOGUE, TODAY)
    assert found == Question(Intent.WHY, "self-serve", "activation",
                             period=PeriodSpec("last_sprint"))
    assert understand("how is the date doing", CATALOGUE, TODAY) == Ambiguous(
        Question(Intent.HOW), CATALOGUE.initiatives, "date")


def test_not_understood_offers_the_closest_questions_about_real_initiatives() -> None:
    found = understand("which of the dashboards regress the most", CATALOGUE, TODAY)
    assert isinstance(found, Question) and found.movement == "regressed"
    lost = understand("make me a sandwich", CATALOGUE, TODAY)
    assert isinstance(lost, NotUnderstood) and len(lost.suggestions) == 3
    assert all("{" not in s for s in lost.suggestions)


def test_a_question_kept_for_the_thread_reads_back_the_same() -> None:
    for case in CASES:
        if isinstance(case[1], Question):
            assert question_from(question_data(case[1])) == case[1]
    assert question_from({"intent": "teleport"}) is None


def test_calendar_periods_resolve_against_the_initiative_cadence() -> None:
    now = resolve(PeriodSpec("this_sprint"), Cadence(), TODAY_NOON).start.tzinfo
    assert now is not None
    berlin = Cadence(timezone="Europe/Berlin", fiscal_year_start_month=7)
    q1 = resolve(PeriodSpec("quarter", number=1), berlin, TODAY_NOON)
    assert q1.local_dates() == (date(2026, 7, 1), date(2026, 9, 30))
    assert q1.label == "FY2027 Q1"
    october = resolve(PeriodSpec("month", number=12), Cadence(), TODAY_NOON)
    assert october.local_dates() == (date(2026, 12, 1), date(2026, 12, 31))
    january = resolve(PeriodSpec("month", number=1), Cadence(), TODAY_NOON)
    assert january.local_dates() == (date(2026, 1, 1), date(2026, 1, 31))
    ytd = resolve(PeriodSpec("year_to_date"), berlin, TODAY_NOON)
    assert ytd.local_dates() == (date(2026, 7, 1), date(2026, 12, 3))
    weeks = resolve(PeriodSpec("last_week"), Cadence(), TODAY_NOON)
    assert weeks.local_dates() == (date(2026, 11, 23), date(2026, 11, 29))


def test_periods_that_cannot_be_are_refused_with_a_reason() -> None:
    with pytest.raises(UsageError, match="between 1 and 3660"):
        find_periods(words_of("what moved in the last 0 days"), TODAY)
    with pytest.raises(UsageError, match="not a quarter"):
        resolve(PeriodSpec("quarter", number=5), Cadence(), TODAY_NOON)


TODAY_NOON = __import__("datetime").datetime(2026, 12, 3, 12, tzinfo=__import__(
    "datetime").UTC)
