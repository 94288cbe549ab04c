"""Which initiative or metric a question names: by key or by name, partly, with typos.

A word of the question *hits* a word of a name when they are the same after plurals are
dropped, when one starts the other ("deploy" in "deployment"), when they share a long stem
("activation", "activated"), or when they are within a typo of each other (rapidfuzz's
ratio of at least 80, 85 for short words). An initiative ranks by how many of
its name's words the question hits; its key said outright beats any name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rapidfuzz import fuzz

from bot.grammar.ask.normalize import words_of

NAME_STOPWORDS = frozenset({"the", "a", "an", "of", "and", "for", "to", "in", "on", "with",
                            "by", "at", "our", "my", "v2"})
TYPO_RATIO = 80.0
SHORT_WORD = 5  # up to this length a typo must be closer: "date" is not "update"
SHORT_TYPO_RATIO = 85.0
PREFIX_MIN = 4
STEM_MIN = 6
KEY_HIT = 100.0  # a metric's key said outright (or ``initiative.metric``): beats any name
KEY_SAID = 0.5  # an initiative's key said: half a word more than its name's hits, so
# "fleet" is the initiative keyed fleet, but "fleet monitoring" is Fleet monitoring


@dataclass(frozen=True)
class KnownMetric:
    key: str
    name: str


@dataclass(frozen=True)
class KnownInitiative:
    key: str
    name: str
    metrics: tuple[KnownMetric, ...] = ()


@dataclass(frozen=True)
class Catalogue:
    """What the workspace has, for matching names in questions."""

    initiatives: tuple[KnownInitiative, ...] = ()
    words: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        words: set[str] = set()
        for initiative in self.initiatives:
            words |= set(_name_words(initiative.name)) | {initiative.key}
            for metric in initiative.metrics:
                words |= set(_name_words(metric.name)) | {metric.key}
        object.__setattr__(self, "words", frozenset(words))

    def get(self, key: str) -> KnownInitiative | None:
        return next((i for i in self.initiatives if i.key == key), None)


@dataclass(frozen=True)
class Match:
    """An initiative (and maybe one of its metrics) and how well the question named it."""

    initiative: KnownInitiative
    hits: float
    closeness: float
    metric: KnownMetric | None = None

    @property
    def rank(self) -> tuple[float, float]:
        return self.hits, self.closeness


def singular(word: str) -> str:
    """``metrics`` → ``metric``; ``process`` and short words stay."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _name_words(name: str) -> list[str]:
    return [singular(w) for w in words_of(name) if w not in NAME_STOPWORDS]


def word_closeness(said: str, known: str) -> float:
    """0–100: how surely ``said`` is ``known``; 0 when it is not close enough to count."""
    said, known = singular(said), singular(known)
    if said == known:
        return 100.0
    if len(said) >= PREFIX_MIN and (known.startswith(said) or (said.startswith(known)
                                    and len(known) >= PREFIX_MIN)):
        return 90.0
    shorter = min(len(said), len(known))
    if shorter < 4:
        return 0.0
    stem = next((i for i, (a, b) in enumerate(zip(said, known, strict=False)) if a != b),
                shorter)
    if stem >= STEM_MIN and stem >= 0.75 * shorter:  # "activation" and "activated"
        return 85.0
    ratio = fuzz.ratio(said, known)
    needed = TYPO_RATIO if shorter > SHORT_WORD else SHORT_TYPO_RATIO
    return ratio if ratio >= needed else 0.0


def _name_hits(words: list[str], name: str) -> tuple[int, float]:
    """How many words of ``name`` the question hits, and how closely on average."""
    hits, total = 0, 0.0
    for known in _name_words(name):
        best = max((word_closeness(word, known) for word in words), default=0.0)
        if best:
            hits, total = hits + 1, total + best
    return hits, (total / hits if hits else 0.0)


def _coverage(hits: int, name: str) -> float:
    words = _name_words(name)
    return hits / len(words) if words else 0.0


def key_said(words: list[str], key: str) -> bool:
    """``fleet-update`` said as ``fleet-update`` or as ``fleet update``."""
    if key in words:
        return True
    parts = [part for part in key.replace("_", "-").split("-") if part]
    return len(parts) > 1 and any(words[i:i + len(parts)] == parts
                                  for i in range(len(words) - len(parts) + 1))


def _metric_match(words: list[str], initiative: KnownInitiative, name_hits: int
                  ) -> tuple[KnownMetric | None, float, float]:
    """The metric the words name more precisely than the initiative's own name does: more
    of its words, or all of them where the initiative's name is only partly said."""
    best: tuple[KnownMetric | None, float, float] = (None, 0.0, 0.0)
    initiative_coverage = _coverage(name_hits, initiative.name)
    for metric in initiative.metrics:
        if f"{initiative.key}.{metric.key}" in words:
            return metric, KEY_HIT, 100.0
        hits, closeness = _name_hits(words, metric.name)
        precise = hits > name_hits or (
            hits == name_hits and hits and _coverage(hits, metric.name) == 1
            and initiative_coverage < 1)
        score = hits + (KEY_SAID if metric.key in words else 0.0)
        if (precise or (metric.key in words and not name_hits)) and (score, closeness) > best[1:]:
            best = (metric, score, closeness)
    return best


def matches(words: list[str], catalogue: Catalogue) -> list[Match]:
    """Initiatives the words name, best first; each with the metric they name, if any."""
    found = []
    for initiative in catalogue.initiatives:
        name_hits, closeness = _name_hits(words, initiative.name)
        hits: float = name_hits
        if key_said(words, initiative.key):
            hits, closeness = name_hits + KEY_SAID, 100.0
        metric, metric_hits, metric_closeness = _metric_match(words, initiative, name_hits)
        if metric is not None:
            hits, closeness = max(hits, metric_hits), max(closeness, metric_closeness)
        if hits:
            found.append(Match(initiative, hits, closeness, metric))
    return sorted(found, key=lambda m: m.rank, reverse=True)


def clear_winner(found: list[Match]) -> Match | None:
    """The best match when it stands out; None when the first two are about equal."""
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    first, second = found[0], found[1]
    if first.hits > second.hits or first.closeness - second.closeness >= 10:
        return first
    return None
