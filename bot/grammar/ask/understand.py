"""A question in everyday words, understood: intent, initiative, metric and periods.

The steps: words (:mod:`.normalize`), typos fixed (:mod:`.spelling`), periods found and set
aside (:mod:`.periods`), the intent from its cue words (:mod:`.intents`), names matched in
what is left (:mod:`.names`). In a thread, what the question leaves out comes from the
previous question: "and last quarter?" keeps the initiative, "why?" keeps the metric.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from bot.grammar.ask.intents import (
    BEHIND,
    FILLER,
    IMPROVED_WORDS,
    ORDER,
    REGRESSED_WORDS,
    STATUS_WORDS,
    Intent,
    Question,
    cue_words,
    found_cues,
)
from bot.grammar.ask.names import (
    Catalogue,
    KnownInitiative,
    Match,
    clear_winner,
    matches,
    word_closeness,
)
from bot.grammar.ask.normalize import words_of
from bot.grammar.ask.periods import LAST, UNITS, find_periods
from bot.grammar.ask.spelling import corrected
from bot.grammar.ask.suggestions import closest_questions

VOCABULARY = cue_words() | FILLER | frozenset(UNITS) | LAST | frozenset({
    "sprint", "quarter", "month", "week", "weeks", "days", "today", "year", "date",
    "since", "between", "until", "last", "this", "previous", "versus"})

# Intents about one initiative: named, or taken from the thread, or asked back.
NEEDS_INITIATIVE = frozenset({Intent.HOW, Intent.WHO})
# Intents that keep the thread's initiative when the question names none.
KEEPS_INITIATIVE = frozenset({Intent.HOW, Intent.WHO, Intent.WHEN, Intent.WHY,
                              Intent.SHIPPED, Intent.COMPARE})
MAX_CHOICES = 5


@dataclass(frozen=True)
class Ambiguous:
    """The question names more than one initiative about equally: ask which."""

    question: Question
    candidates: tuple[KnownInitiative, ...]
    unknown: str = ""  # the words that looked like a name but matched none


@dataclass(frozen=True)
class NotUnderstood:
    """Nothing the bot can answer: the closest questions it can, to offer as buttons."""

    suggestions: tuple[str, ...]


Understanding = Question | Ambiguous | NotUnderstood


def _name_words(words: list[str], match: Match | None) -> set[int]:
    """Positions of the words that a strong match took as its name (two or more name
    words, or the key): they are not cues even where they look like one."""
    if match is None or match.hits < 2:
        return set()
    names = [match.initiative.key, *words_of(match.initiative.name)]
    if match.metric is not None:
        names += [match.metric.key, *words_of(match.metric.name)]
    return {i for i, word in enumerate(words)
            if any(word_closeness(word, known) for known in names)}


def _intent(words: list[str], taken: set[int]) -> tuple[Intent | None, set[int]]:
    """The first intent whose cues are in the free words, and the positions of all cues."""
    chosen: Intent | None = None
    cue_positions: set[int] = set()
    for intent in ORDER:
        spans = [(a, b) for a, b in found_cues(words, intent)
                 if not any(i in taken for i in range(a, b))]
        if spans and chosen is None:
            chosen = intent
        for a, b in spans:
            cue_positions.update(range(a, b))
    return chosen, cue_positions


def _movement(words: list[str]) -> str:
    said = set(words)
    if said & REGRESSED_WORDS and not said & IMPROVED_WORDS:
        return "regressed"
    if said & IMPROVED_WORDS and not said & REGRESSED_WORDS:
        return "improved"
    return ""


def _statuses(words: list[str]) -> tuple[str, ...]:
    text = " ".join(words)
    chosen: list[str] = []
    for cue, statuses in STATUS_WORDS.items():
        if f" {cue} " in f" {text} ":
            chosen += [s for s in statuses if s not in chosen]
    return tuple(chosen) or BEHIND


def understand(text: str, catalogue: Catalogue, today: date,
               previous: Question | None = None, chosen: str | None = None
               ) -> Understanding:
    """Read ``text``; ``previous``: the thread's last question; ``chosen``: the initiative
    picked from the buttons of an earlier :class:`Ambiguous`."""
    words = corrected(words_of(text), VOCABULARY, catalogue.words)
    periods = find_periods(words, today)
    in_period = {i for found in periods for i in range(found.start, found.end)}
    free = [w if i not in in_period else "" for i, w in enumerate(words)]
    content = [w for w in free if w and (w not in FILLER or w in catalogue.words)]
    found = matches(content, catalogue)
    best = clear_winner(found)
    intent, cue_at = _intent(free, _name_words(free, best) | in_period)
    leftover = [w for i, w in enumerate(free)
                if w and i not in cue_at and (w not in FILLER or w in catalogue.words)]
    found = matches(leftover, catalogue)
    best = clear_winner(found)
    specs = [p.spec for p in periods]
    if intent is None:
        if not found and not specs:
            if all(w in FILLER for w in words):  # "hi", "hello bot", an emoji alone
                return Question(Intent.HELP)
            return _not_understood(words, catalogue)
        if previous is not None:
            intent = previous.intent
        elif found:
            intent = Intent.HOW
        else:
            intent = Intent.MOVED
    question = Question(intent, period=specs[0] if specs else None,
                        other_period=specs[1] if len(specs) > 1 else None)
    if intent is Intent.MOVED:
        question = replace(question, movement=_movement(words))
    elif intent is Intent.STATUS:
        question = replace(question, statuses=_statuses(words))
    elif intent is Intent.WHO:
        signed = {"signed", "sign", "sign-off", "signoff", "signoffs", "sign-offs", "agreed",
                  "approved"}
        question = replace(question, who="signoffs" if set(words) & signed else "owners")
    if chosen is not None and catalogue.get(chosen) is not None:
        return replace(question, initiative=chosen)
    if best is not None:
        return replace(question, initiative=best.initiative.key,
                       metric=best.metric.key if best.metric else None)
    if found:
        return Ambiguous(question, tuple(m.initiative for m in found[:MAX_CHOICES]))
    unknown = " ".join(w for w in leftover if w not in FILLER)
    if previous is not None and previous.initiative and question.intent in KEEPS_INITIATIVE:
        return _from_thread(question, previous, catalogue)
    if unknown and question.intent in NEEDS_INITIATIVE:
        return Ambiguous(question, catalogue.initiatives[:MAX_CHOICES], unknown)
    return _from_thread(question, previous, catalogue)


def _from_thread(question: Question, previous: Question | None, catalogue: Catalogue
                 ) -> Understanding:
    """A question that names nothing: about the thread's initiative where it can be."""
    if previous is not None and question.intent in KEEPS_INITIATIVE and previous.initiative:
        kept = replace(question, initiative=previous.initiative, metric=previous.metric)
        if question.period is None and question.intent is not Intent.COMPARE:
            kept = replace(kept, period=previous.period)
        return kept
    if previous is not None and question.intent is previous.intent and question.period:
        return replace(previous, period=question.period, other_period=question.other_period)
    if question.intent in NEEDS_INITIATIVE:
        if len(catalogue.initiatives) == 1:
            return replace(question, initiative=catalogue.initiatives[0].key)
        if catalogue.initiatives:
            return Ambiguous(question, catalogue.initiatives[:MAX_CHOICES])
    return question


def _not_understood(words: list[str], catalogue: Catalogue) -> NotUnderstood:
    names = [initiative.name for initiative in catalogue.initiatives]
    return NotUnderstood(closest_questions(" ".join(words), names))
