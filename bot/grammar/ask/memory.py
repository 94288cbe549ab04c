"""A question as a JSON-ready dict and back: what a thread remembers between questions."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.core.periods import Day, DayOfYear, PeriodSpec
from bot.grammar.ask.intents import Intent, Question


def _day(day: Day | None) -> str | None:
    if day is None:
        return None
    return day.isoformat() if isinstance(day, date) else f"--{day.month:02d}-{day.day:02d}"


def _read_day(text: str | None) -> Day | None:
    if text is None:
        return None
    if text.startswith("--"):
        return DayOfYear(int(text[2:4]), int(text[5:7]))
    return date.fromisoformat(text)


def _period(spec: PeriodSpec | None) -> dict[str, Any] | None:
    if spec is None:
        return None
    return {"kind": spec.kind, "start": _day(spec.start), "end": _day(spec.end),
            "days": spec.days, "number": spec.number}


def _read_period(data: dict[str, Any] | None) -> PeriodSpec | None:
    if data is None:
        return None
    return PeriodSpec(data["kind"], _read_day(data["start"]), _read_day(data["end"]),
                      int(data["days"]), int(data["number"]))


def question_data(question: Question) -> dict[str, Any]:
    """``question`` as plain JSON types."""
    return {"intent": question.intent.value, "initiative": question.initiative,
            "metric": question.metric, "period": _period(question.period),
            "other_period": _period(question.other_period), "movement": question.movement,
            "statuses": list(question.statuses), "who": question.who}


def question_from(data: dict[str, Any]) -> Question | None:
    """The question :func:`question_data` wrote; None for a row this release cannot read."""
    try:
        return Question(Intent(data["intent"]), data["initiative"], data["metric"],
                        _read_period(data["period"]), _read_period(data["other_period"]),
                        data["movement"], tuple(data["statuses"]), data["who"])
    except (KeyError, ValueError, TypeError):
        return None
