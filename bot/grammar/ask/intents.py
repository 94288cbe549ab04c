"""What a question asks for, read from its words: the intents and the cue words of each.

The cues are sets of words and short phrases; a question's intent is the first in
:data:`ORDER` whose cues it contains, so "when will onboarding reach its target?" is a
forecast question even though "reach" and "target" also speak of status.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.core.periods import PeriodSpec


class Intent(enum.StrEnum):
    HELP = "help"
    WHO = "who"
    WHEN = "when"
    WHY = "why"
    COMPARE = "compare"
    SHIPPED = "shipped"
    STALE = "stale"
    STATUS = "status"
    MOVED = "moved"
    HOW = "how"


@dataclass(frozen=True)
class Question:
    """A question understood: what it asks, about what, over which period.

    ``period`` None: the intent's own default (this sprint). ``initiative`` and ``metric``
    are keys. ``movement`` narrows "what moved" to "improved" or "regressed";
    ``statuses`` narrows a status question; ``who`` is "owners" or "signoffs".
    """

    intent: Intent
    initiative: str | None = None
    metric: str | None = None
    period: PeriodSpec | None = None
    other_period: PeriodSpec | None = None
    movement: str = ""
    statuses: tuple[str, ...] = ()
    who: str = ""


def _phrases(*texts: str) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(text.split()) for text in texts)


CUES: dict[Intent, frozenset[tuple[str, ...]]] = {
    Intent.HELP: _phrases("help", "what can you do", "what can you answer", "what can i ask",
                          "what do you know", "how do i use you", "commands", "usage"),
    Intent.WHO: _phrases("who own", "who owns", "who is the owner", "owner", "owners", "owned",
                         "who signed", "signed off", "sign off", "sign-off", "signoff",
                         "signoffs", "sign-offs", "who agreed", "who approved", "approved",
                         "who is responsible", "who leads", "who runs", "who is in charge"),
    Intent.WHEN: _phrases("when will", "when do", "when does", "when are", "when is", "eta",
                          "forecast", "how long until", "how long till", "by when",
                          "reach its target", "hit its target", "reach the target",
                          "hit the target"),
    Intent.WHY: _phrases("why", "what drove", "what caused", "cause", "explain", "reason",
                         "drivers", "driver", "how come"),
    Intent.COMPARE: _phrases("vs", "versus", "compare", "compared", "comparison",
                             "against", "relative to"),
    Intent.SHIPPED: _phrases("shipped", "ship", "ships", "released", "release", "releases",
                             "launched", "launch", "delivered", "deliverable",
                             "deliverables", "went out", "went live", "rolled out"),
    Intent.STALE: _phrases("stale", "no data", "missing data", "without data", "no values",
                           "missing values", "outdated", "out of date", "not updated",
                           "not reporting", "old data", "data missing", "fresh",
                           "no fresh data", "lack data", "lacking data", "empty"),
    Intent.STATUS: _phrases("off track", "off-track", "offtrack", "of track", "on track",
                            "on-track", "at risk", "at-risk", "risky", "risk", "risks", "achieved",
                            "behind", "slipping", "lagging", "in trouble", "struggling",
                            "hit target", "hit their target", "reached", "met", "done",
                            "red", "green", "failing", "problem", "problems", "worry",
                            "worried", "concern", "concerning", "watch out"),
    Intent.MOVED: _phrases("moved", "move", "moving", "movement", "changed", "change",
                           "changes", "improved", "improve", "improving", "improvement",
                           "improvements", "better", "regressed", "regress", "regressing",
                           "regression", "regressions", "worse", "declined", "decline",
                           "dropped", "drop", "went up", "went down", "gone up", "gone down",
                           "happened", "new", "shifted", "budged", "progress", "wins",
                           "win"),
    Intent.HOW: _phrases("how is", "how are", "doing", "going", "looking", "status of",
                         "update on", "updates on", "progress on", "what about",
                         "tell me about", "how about", "where are we", "where is",
                         "status", "state of", "health", "summary", "overview",
                         "review", "report on", "numbers for", "details"),
}

ORDER = (Intent.WHO, Intent.WHEN, Intent.STALE, Intent.WHY, Intent.COMPARE, Intent.SHIPPED,
         Intent.STATUS, Intent.MOVED, Intent.HOW, Intent.HELP)

REGRESSED_WORDS = frozenset({"regressed", "regress", "regressing", "regression",
                             "regressions", "worse", "declined", "decline", "dropped",
                             "drop", "bad", "down"})
IMPROVED_WORDS = frozenset({"improved", "improve", "improving", "improvement",
                            "improvements", "better", "wins", "win", "good", "up"})

STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "off track": ("off track",), "off-track": ("off track",), "offtrack": ("off track",),
    "of track": ("off track",),
    "on track": ("on track",), "on-track": ("on track",), "green": ("on track",),
    "achieved": ("achieved",), "hit target": ("achieved",), "reached": ("achieved",),
    "met": ("achieved",), "done": ("achieved",), "hit their target": ("achieved",),
    "at risk": ("at risk",), "at-risk": ("at risk",), "risky": ("at risk",),
}
BEHIND = ("off track", "at risk")  # every other status cue: what needs attention

# Words a question is made of that are not names: typos are corrected towards these, and
# they are left out when the rest of the question is matched against names.
FILLER = frozenset({
    "hey", "hi", "hello", "yo", "bot", "outcome", "outcomes", "pls", "plz", "please",
    "can", "could", "would", "will", "you", "tell", "me", "show", "give", "us", "i", "we",
    "want", "to", "know", "quick", "question", "so", "ok", "okay", "um", "uh", "just",
    "kindly", "the", "a", "an", "is", "are", "was", "were", "be", "been", "it", "its",
    "our", "my", "of", "on", "in", "for", "with", "and", "or", "what", "which", "any",
    "anything", "something", "metric", "metrics", "initiative", "initiatives", "there",
    "that", "this", "those", "these", "about", "did", "does", "do", "has", "have", "had",
    "not", "thanks", "thank", "team", "all", "list", "see", "get", "find", "look", "at",
    "now", "currently", "right", "yet", "still", "much", "how", "where", "when", "who",
    "why", "stuff", "things", "thing", "lately", "recently", "some", "by", "from", "since",
    "between", "their", "they", "them", "he", "she", "up", "down", "target", "targets",
    "goal", "goals", "reach", "hit", "make", "value", "values", "number", "numbers",
    "data", "one", "ones", "also", "too", "then", "again", "hmm", "sorry", "really",
    "very", "here", "time", "fast", "most", "more", "less", "least", "last", "past", "off",
    "hiya", "howdy", "morning", "afternoon", "evening",
})


def cue_words() -> frozenset[str]:
    """Every word that appears in some intent's cues."""
    return frozenset(word for phrases in CUES.values() for phrase in phrases
                     for word in phrase)


def found_cues(words: list[str], intent: Intent) -> list[tuple[int, int]]:
    """Where ``intent``'s cues occur in ``words``: ``(start, end)`` spans."""
    spans: list[tuple[int, int]] = []
    for phrase in CUES[intent]:
        size = len(phrase)
        spans.extend((i, i + size) for i in range(len(words) - size + 1)
                     if tuple(words[i:i + size]) == phrase)
    return spans
