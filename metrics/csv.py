"""The CSV source: a published spreadsheet or an export, by URL or local file.

Config::

    {"url": "https://docs.google.com/spreadsheets/d/e/.../pub?output=csv",
     "column": "Weekly active", "segment_column": "Region", "time_column": "Week"}

``column`` holds the numbers. With ``segment_column`` each row is a segment named
``<by>=<cell>`` (``by`` defaults to the column's name) and a row with an empty segment is
the total, else the total is the ``total`` aggregate. With ``time_column`` (ISO dates) the
value as of a time is the latest row at or before it, and ``history`` can backfill every
row; without it the last row wins. ``path`` reads a local file instead of ``url``, only
inside the folder the bot allows (``files_dir``). Redirects are not followed: ``url`` must
be where the file is served (for a published spreadsheet, the address its link redirects
to).
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from bot.core.errors import SourceError
from bot.core.points import Reading
from metrics.common import (
    aggregate,
    http_call,
    parse_total,
    require,
    segment_name,
    to_number,
)
from metrics.registry import register, source_timeout

if TYPE_CHECKING:
    from metrics.resources import Resources

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024


def _parse_time(text: str, row: int) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise SourceError(f"Row {row}: the time column must hold ISO dates like "
                          "2026-11-20.", permanent=True) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@register("csv")
class CsvSource:
    kind = "csv"

    def __init__(self, config: dict[str, Any], client: httpx.Client | None = None,
                 files_dir: Path | None = None) -> None:
        self.url = str(config["url"]) if config.get("url") else None
        self.path = str(config["path"]) if config.get("path") else None
        if (self.url is None) == (self.path is None):
            raise SourceError("The csv source needs either `url` (e.g. a published "
                              "spreadsheet's CSV link) or `path`.")
        self.column = str(require(config, "column", "csv", 'column="Weekly active"'))
        self.segment_column = (str(config["segment_column"])
                               if config.get("segment_column") else None)
        self.time_column = str(config["time_column"]) if config.get("time_column") else None
        self.by = str(config.get("by") or self.segment_column or "segment")
        self.total = parse_total(config)
        self.delimiter = str(config.get("delimiter", ","))
        self.timeout = source_timeout(config)
        self.client = client
        self.files_dir = files_dir

    @classmethod
    def from_config(cls, config: dict[str, Any], resources: Resources) -> CsvSource:
        return cls(config, resources.http, resources.files_dir)

    def _text(self) -> str:
        if self.url is not None:
            if self.client is None:
                raise SourceError("The csv source needs an HTTP client for a url.")
            what = f"The CSV at {httpx.URL(self.url).host}"
            # A redirect (a published spreadsheet's link) is refused, not followed: the
            # connection must name the final URL, the one the operator allowed.
            return http_call(self.client, "GET", self.url, what=what, timeout=self.timeout,
                             max_bytes=MAX_BYTES).text
        return self._local_text()

    def _local_text(self) -> str:
        assert self.path is not None
        if self.files_dir is None:
            raise SourceError("This bot reads no local CSV files; publish the file at a URL, "
                              "or set OUTCOME_FILES_DIR to the folder it may read.",
                              permanent=True)
        base = self.files_dir.resolve()
        target = (base / self.path).resolve()
        if not target.is_relative_to(base):
            raise SourceError(f"{self.path} is outside the folder local CSV files are read "
                              "from.", permanent=True)
        try:
            if target.stat().st_size > MAX_BYTES:
                raise SourceError(f"{self.path} is larger than {MAX_BYTES // 2**20} MB.",
                                  permanent=True)
            return target.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise SourceError(f"There is no file {self.path}.", permanent=True) from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise SourceError(f"{self.path} cannot be read: {reason}.", permanent=True) from None

    def _rows(self) -> list[tuple[datetime | None, str, float]]:
        """(time, segment, value) of every row with a value, in file order."""
        reader = csv.DictReader(io.StringIO(self._text()), delimiter=self.delimiter)
        header = reader.fieldnames or []
        for name in filter(None, (self.column, self.segment_column, self.time_column)):
            if name not in header:
                # The header is fetched content: the operator's log lists it, not Slack.
                log.warning("The CSV has no column %r; its first columns are %.300s", name,
                            ", ".join(repr(h) for h in header[:12]))
                raise SourceError(f"The CSV has no column {name!r} (it has {len(header)} "
                                  "columns): check the name, spelled as in the header row.",
                                  permanent=True)
        rows = []
        for number, row in enumerate(reader, start=2):
            cell = (row.get(self.column) or "").strip()
            if not cell:
                continue
            value = to_number(cell, f"Row {number}, column {self.column!r}")
            segment = (row.get(self.segment_column) or "").strip() if self.segment_column \
                else ""
            when = (_parse_time(row.get(self.time_column) or "", number)
                    if self.time_column else None)
            rows.append((when, segment, value))
        return rows

    def _latest(self, rows: list[tuple[datetime | None, str, float]], at: datetime
                ) -> list[Reading]:
        latest: dict[str, tuple[datetime | None, float]] = {}
        for when, segment, value in rows:
            if when is not None and when > at:
                continue
            previous = latest.get(segment)
            if previous is None or when is None or previous[0] is None or when >= previous[0]:
                latest[segment] = (when, value)
        if not latest:
            raise SourceError("The CSV has no value"
                              + (f" at or before {at:%Y-%m-%d}." if self.time_column else "."),
                              permanent=False)
        readings = [Reading(when or at, value, segment_name(self.by, segment))
                    for segment, (when, value) in sorted(latest.items()) if segment]
        if "" in latest:
            when, value = latest[""]
            readings.insert(0, Reading(when or at, value))
        else:
            total = aggregate([r.value for r in readings], self.total)
            if total is not None:
                newest = max(r.observed_at for r in readings)
                readings.insert(0, Reading(newest, total))
        return readings

    def read(self, at: datetime) -> list[Reading]:
        return self._latest(self._rows(), at)

    def history(self, start: datetime, end: datetime, step: timedelta) -> list[Reading]:
        """Every dated row in [start, end] (``step`` is unused: rows are the history)."""
        if self.time_column is None:
            raise SourceError("This CSV has no time_column, so it has no history to "
                              "backfill.", permanent=True)
        rows = self._rows()
        readings = []
        for when in sorted({w for w, _, _ in rows if w is not None and start <= w <= end}):
            readings.extend(self._latest([r for r in rows if r[0] == when], when))
        return readings
