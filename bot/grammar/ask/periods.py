"""Periods in everyday words, found inside a question.

"this sprint", "last quarter", "since last sprint", "since Oct 1", "in the last 30 days",
"past two weeks", "this month", "in Q3", "year to date", "between Oct 1 and Nov 15",
"this sprint vs last". The sprint and quarter words resolve against each initiative's own
cadence (:mod:`bot.core.calendar`); calendar dates in any common writing ("Oct 1st",
"1 October", "10/1", "last Monday") are read by dateparser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.core.calendar import add_months
from bot.core.errors import UsageError
from bot.core.periods import MONTHS, Day, PeriodSpec, on_or_before, parse_day

UNITS = {"sprint": "sprint", "iteration": "sprint", "quarter": "quarter", "qtr": "quarter",
         "week": "week", "month": "month"}
THIS = {"this", "current", "the", "present", "ongoing"}
LAST = {"last", "previous", "prior", "past", "preceding"}
NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
           "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
           "couple": 2, "few": 3, "fourteen": 14, "thirty": 30, "ninety": 90}
SPANS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "month": 30, "months": 30}
LEADS = {"in", "during", "over", "for", "of", "within", "from"}
QUARTERS = {"q1": 1, "q2": 2, "q3": 3, "q4": 4}
MONTH_LEADS = {"in", "during", "for", "over", "since", "of"}
JOINS = {"and", "to", "until", "till", "through", "thru", "-"}
DATE_WORDS_MAX = 4


@dataclass(frozen=True)
class FoundPeriod:
    """A period and where it was said: ``words[start:end]``."""

    spec: PeriodSpec
    start: int
    end: int


def _this_or_last(unit: str, last: bool) -> PeriodSpec:
    return PeriodSpec(f"{'last' if last else 'this'}_{unit}")


def _unit_at(words: list[str], i: int) -> tuple[PeriodSpec, int] | None:
    """``this sprint``, ``last quarter``, ``the previous month``, ``sprint``."""
    j = i + (words[i] == "the" and i + 1 < len(words) and words[i + 1] in LAST)
    if words[j] in UNITS:
        return _this_or_last(UNITS[words[j]], last=False), j + 1 - i
    if j + 1 < len(words) and words[j + 1] in UNITS and words[j] in THIS | LAST:
        unit = UNITS[words[j + 1]]
        last = words[j] in LAST
        if words[j] == "past" and unit in ("week", "month"):
            return PeriodSpec("last_days", days=SPANS[unit]), j + 2 - i  # the past week
        return _this_or_last(unit, last), j + 2 - i
    return None


def _count_at(words: list[str], i: int) -> tuple[PeriodSpec, int] | None:
    """``last 30 days``, ``the past two weeks``, ``last couple of months``."""
    j = i + (words[i] == "the")
    if j + 2 >= len(words) or words[j] not in LAST:
        return None
    count_word = words[j + 1]
    count = int(count_word) if count_word.isdigit() else NUMBERS.get(count_word)
    k = j + 2
    if k < len(words) and words[k] == "of":
        k += 1
    if count is None or k >= len(words) or words[k] not in SPANS:
        return None
    days = count * SPANS[words[k]]
    if not 1 <= days <= 3660:
        raise UsageError("A period of days must be between 1 and 3660 days long.")
    return PeriodSpec("last_days", days=days), k + 1 - i


def _calendar_at(words: list[str], i: int) -> tuple[PeriodSpec, int] | None:
    """``Q3``, ``year to date``, ``this year``, ``in October``, ``today``."""
    word = words[i]
    year = _year_after(words, i)
    if word in QUARTERS:
        if year:  # "Q3 2025": that calendar quarter
            first = date(year, 3 * QUARTERS[word] - 2, 1)
            return _days(first, add_months(first, 3)), 2
        return PeriodSpec("quarter", number=QUARTERS[word]), 1
    if word == "ytd" or words[i:i + 3] == ["year", "to", "date"]:
        return PeriodSpec("year_to_date"), 1 if word == "ytd" else 3
    if words[i:i + 2] == ["this", "year"]:
        return PeriodSpec("year_to_date"), 2
    if word == "today":
        return PeriodSpec("last_days", days=1), 1
    if (word in MONTHS and word != "may") or (
            word == "may" and i > 0 and words[i - 1] in MONTH_LEADS):
        if year:
            first = date(year, MONTHS[word], 1)
            return _days(first, add_months(first, 1)), 2
        if i + 1 >= len(words) or not words[i + 1][:1].isdigit():  # "Oct 1" is a day
            return PeriodSpec("month", number=MONTHS[word]), 1
    return None


def _year_after(words: list[str], i: int) -> int | None:
    following = words[i + 1] if i + 1 < len(words) else ""
    return int(following) if len(following) == 4 and following.isdigit() else None


def _days(first: date, end: date) -> PeriodSpec:
    """The days from ``first`` up to ``end`` (exclusive)."""
    return PeriodSpec("between", start=first, end=end - timedelta(days=1))


def _day_at(words: list[str], i: int, today: date) -> tuple[Day, int] | None:
    """A calendar day starting at ``words[i]``, and how many words it took."""
    for length in range(min(DATE_WORDS_MAX, len(words) - i), 0, -1):
        text = " ".join(words[i:i + length])
        try:
            day = parse_day(text)
        except UsageError:
            day = None
        if day is not None:
            return on_or_before(day, today), length
    for length in range(min(DATE_WORDS_MAX, len(words) - i), 0, -1):
        text = " ".join(words[i:i + length])
        found = _dateparser_day(text, today)
        if found is not None:
            return found, length
    return None


def _dateparser_day(text: str, today: date) -> date | None:
    """``10/1``, ``1st of October``, ``last Monday``, ``two weeks ago`` as a past day."""
    if not any(char.isalpha() for char in text) and "/" not in text:
        return None  # a bare number is a count, not a day
    import dateparser  # imported on first use: most questions name no date

    base = datetime.combine(today, datetime.min.time())
    parsed = dateparser.parse(text, languages=["en"], settings={
        "RELATIVE_BASE": base, "PREFER_DATES_FROM": "past",
        "PARSERS": ["relative-time", "absolute-time"]})
    if parsed is None:
        return None
    return parsed.date()


def _since_at(words: list[str], i: int, today: date) -> tuple[PeriodSpec, int] | None:
    """``since last sprint`` (this sprint: everything after the last one ended),
    ``since Oct 1``, ``since Monday``."""
    if words[i] != "since" or i + 1 >= len(words):
        return None
    unit = _unit_at(words, i + 1)
    if unit is not None and unit[0].kind.startswith("last_"):
        return PeriodSpec(unit[0].kind.replace("last_", "this_")), 1 + unit[1]
    found = _day_at(words, i + 1, today)
    if found is None:
        return None
    return PeriodSpec("since", start=found[0]), 1 + found[1]


def _between_at(words: list[str], i: int, today: date) -> tuple[PeriodSpec, int] | None:
    """``between Oct 1 and Nov 15``, ``from 2026-10-01 to 2026-11-15``."""
    if words[i] not in ("between", "from"):
        return None
    first = _day_at_until_join(words, i + 1, today)
    if first is None:
        return None
    j = i + 1 + first[1]
    if j >= len(words) or words[j] not in JOINS:
        return None
    second = _day_at(words, j + 1, today)
    if second is None:
        return None
    return PeriodSpec("between", start=first[0], end=second[0]), j + 1 + second[1] - i


def _day_at_until_join(words: list[str], i: int, today: date
                       ) -> tuple[Day, int] | None:
    end = next((j for j in range(i, len(words)) if words[j] in JOINS), len(words))
    return _day_at(words[:end], i, today)


def find_periods(words: list[str], today: date) -> list[FoundPeriod]:
    """Every period said in ``words``, in order. A bare "last" after a comparison word
    ("this sprint vs last") is the one before the period already found."""
    found: list[FoundPeriod] = []
    i = 0
    while i < len(words):
        match = (_since_at(words, i, today) or _between_at(words, i, today)
                 or _count_at(words, i) or _calendar_at(words, i) or _unit_at(words, i))
        if match is None and found and words[i] in LAST and found[-1].spec.kind.startswith(
                "this_"):
            length = 1 + (i + 1 < len(words) and words[i + 1] == "one")
            match = (PeriodSpec(found[-1].spec.kind.replace("this_", "last_")), length)
        if match is None:
            i += 1
            continue
        spec, length = match
        if spec.kind.startswith("this_") and words[i + length:i + length + 1] == ["before"]:
            spec, length = PeriodSpec(spec.kind.replace("this_", "last_")), length + 1
        start = i - (i > 0 and words[i - 1] in LEADS and words[i - 1] != "from")
        found.append(FoundPeriod(spec, start, i + length))
        i += length
    return found
