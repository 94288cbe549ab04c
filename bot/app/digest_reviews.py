"""The review a digest is posted from, kept between its messages.

A digest posted one message at a time (the task workers' way: a headline, then a thread
reply per initiative once the channel's pace allows) would otherwise load and compute its
review again for every message. The review built for the headline is kept here, in this
process, until the digest is finished or failed, so the thread replies carry the numbers
the headline announced. Another process that takes a digest over builds its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from bot.core.review import Review

KEPT_REVIEWS = 256  # digests under way whose review this process keeps


class DigestReviews:
    """Reviews by run key, the oldest dropped beyond ``limit``; safe across threads."""

    def __init__(self, limit: int = KEPT_REVIEWS) -> None:
        self.limit = limit
        self._reviews: OrderedDict[str, Review] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, run_key: str) -> Review | None:
        with self._lock:
            return self._reviews.get(run_key)

    def keep(self, run_key: str, review: Review) -> None:
        with self._lock:
            self._reviews[run_key] = review
            self._reviews.move_to_end(run_key)
            while len(self._reviews) > self.limit:
                self._reviews.popitem(last=False)

    def drop(self, run_key: str) -> None:
        with self._lock:
            self._reviews.pop(run_key, None)
