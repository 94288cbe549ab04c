"""Typos fixed against the words questions are made of: "waht moved this sprnt" reads as
"what moved this sprint".

A word is corrected only when it is not a known word, is at least four letters long (a
four-letter word only for two letters swapped: "waht", but "rate" is not "date"), is
within one edit (two for words of eight letters or more, a swap of neighbours counting as
one) of a vocabulary word (of those equally near: the closest in length, then the one with
the same letters), and is not closer to a word of an initiative's or a metric's name
(those are matched fuzzily on their own, see :mod:`bot.grammar.ask.names`).
"""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz.distance import OSA

MIN_LENGTH = 4


def _allowed_edits(word: str) -> int:
    return 2 if len(word) >= 8 else 1


def _closest(word: str, vocabulary: Iterable[str]) -> tuple[str | None, int]:
    """The vocabulary word nearest to ``word``; among equally near ones the one of the
    closest length, and None when that still leaves two."""
    nearest: list[str] = []
    best_distance = _allowed_edits(word) + 1
    for known in vocabulary:
        if abs(len(known) - len(word)) > best_distance:
            continue
        distance = OSA.distance(word, known, score_cutoff=best_distance)
        if distance < best_distance:
            nearest, best_distance = [known], distance
        elif distance == best_distance and nearest:
            nearest.append(known)
    if not nearest:
        return None, best_distance
    # Of equally near words: the closest length, then the same letters swapped ("waht").
    ranked = sorted(((abs(len(known) - len(word)), sorted(known) != sorted(word)), known)
                    for known in nearest)
    if len(ranked) > 1 and ranked[0][0] == ranked[1][0]:
        return None, best_distance
    return ranked[0][1], best_distance


def corrected(words: list[str], vocabulary: frozenset[str], names: frozenset[str]
              ) -> list[str]:
    """``words`` with each typo of a vocabulary word replaced by that word."""
    fixed = []
    for word in words:
        if len(word) < MIN_LENGTH or not word.isalpha() or word in vocabulary or word in names:
            fixed.append(word)
            continue
        known, distance = _closest(word, vocabulary)
        if known is None or distance > _allowed_edits(word) or (
                len(word) == MIN_LENGTH and sorted(known) != sorted(word)):
            fixed.append(word)
            continue
        _name, name_distance = _closest(word, names)
        fixed.append(known if distance < name_distance else word)
    return fixed
