"""The Prometheus source: PromQL through the server's HTTP API.

Config::

    {"url": "http://prometheus:9090", "query": "avg(deploy_duration_minutes)",
     "by": "region", "total": "mean", "headers": {"Authorization": "Bearer ${PROM_TOKEN}"},
     "timeout": 10}

``read(at)`` is an instant query evaluated at ``at``. Without ``by`` the query must return
one series. With ``by`` each series is a segment named ``<by>=<label value>``; a series
without that label (``sum by (region) (x) or sum(x)``) is the total, else the total is the
``total`` aggregate of the segments (sum, mean, min, max or none). A share or an average
per segment is never summed: with ``"total": "weighted"`` and ``weights`` (a query with the
same ``by`` label, e.g. ``sum by (region) (devices)``) the total is the segments' weighted
mean, and the weights are stored beside them for the review's rate and mix effects.
``history`` runs range queries, for backfills and for a baseline "as of" a past date.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from bot.core.errors import SourceError
from bot.core.points import Reading
from metrics.common import (
    check_status,
    http_call,
    json_body,
    parse_total,
    require,
    segment_name,
    segmented,
    string_map,
    to_number,
)
from metrics.registry import register, source_timeout

if TYPE_CHECKING:
    from metrics.resources import Resources

log = logging.getLogger(__name__)

# Prometheus refuses range queries of more than 11,000 points per series.
MAX_POINTS_PER_QUERY = 10_000
# What to fix for each errorType of the Prometheus HTTP API.
ERROR_HINTS = {
    "bad_data": "the PromQL does not parse — check the query",
    "execution": "the query could not be evaluated — check its functions and types",
    "timeout": "the query took too long — narrow it or raise the source's timeout",
    "canceled": "the query was canceled — pull again",
    "unavailable": "the server is not ready — pull again later",
    "internal": "the server failed — its log says why",
    "not_found": "the API path was not found — check the connection's URL",
    "not_acceptable": "the server refused the request format — check the connection's URL",
}


def _stamp(at: datetime) -> str:
    return f"{at.timestamp():.3f}"


@register("prometheus")
class PrometheusSource:
    kind = "prometheus"

    def __init__(self, config: dict[str, Any], client: httpx.Client) -> None:
        example = 'url=http://prometheus:9090'
        self.base = str(require(config, "url", "prometheus", example)).rstrip("/")
        self.query = str(require(config, "query", "prometheus", 'query="sum(up)"'))
        self.by = str(config["by"]) if config.get("by") else None
        self.weights = str(config["weights"]) if config.get("weights") else None
        self.total = parse_total(config, weights_from=self.weights)
        if self.weights is not None and self.by is None:
            raise SourceError("`weights` weighs segments: it needs by=<label> too.",
                              permanent=True)
        self.headers = string_map(config, "headers", "prometheus")
        self.timeout = source_timeout(config)
        self.client = client

    @classmethod
    def from_config(cls, config: dict[str, Any], resources: Resources) -> PrometheusSource:
        return cls(config, resources.http)

    def _api(self, path: str, params: dict[str, str]) -> Any:
        what = f"Prometheus at {httpx.URL(self.base).host}"
        response = http_call(self.client, "GET", f"{self.base}/api/v1/{path}",
                             what=what, timeout=self.timeout, params=params,
                             headers=self.headers, raise_for_status=False)
        if response.status_code in (400, 422, 503) and response.headers.get(
                "content-type", "").startswith("application/json"):
            body = json_body(response, what)
            if isinstance(body, dict) and body.get("status") == "error":
                raise self._refusal(what, body)
        check_status(response, what)
        body = json_body(response, what)
        if not isinstance(body, dict) or body.get("status") != "success":
            raise SourceError(f"{what} answered without a result.", permanent=False)
        return body.get("data", {})

    def _refusal(self, what: str, body: dict[str, Any]) -> SourceError:
        """The error for a query Prometheus refused: its errorType and a fixed hint.

        The server's own text is fetched content (it quotes the query and, from a hostile
        server, anything at all), so it goes to the operator's log only.
        """
        error_type = str(body.get("errorType"))
        hint = ERROR_HINTS.get(error_type)
        log.warning("%s refused the query (%.40s): %.500s", what, error_type,
                    body.get("error", ""))
        if hint is None:
            return SourceError(f"{what} refused the query; the bot's log has the server's "
                               "reason.", permanent=False)
        # bad_data is a malformed query, execution one that cannot be evaluated: both
        # fail again on retry. timeout/canceled/unavailable may not.
        return SourceError(f"{what} refused the query ({error_type}: {hint}).",
                           permanent=error_type in ("bad_data", "execution"))

    def _series_value(self, raw: Any) -> float | None:
        """A sample's value; NaN and infinities (0/0, empty ratios) are no value."""
        value = to_number(raw, "A Prometheus value") if raw not in ("NaN", "+Inf", "-Inf") \
            else math.nan
        return value if math.isfinite(value) else None

    def read(self, at: datetime) -> list[Reading]:
        series = self._instant(self.query, at)
        if series is None:
            return []
        weights = self._instant(self.weights, at, "weights query") if self.weights else None
        return self._readings(at, series, weights or [])

    def _instant(self, query: str, at: datetime, what: str = "query"
                 ) -> list[tuple[dict[str, str], Any]] | None:
        """The series of an instant query (None: a scalar that is no number)."""
        data = self._api("query", {"query": query, "time": _stamp(at)})
        result_type, result = data.get("resultType"), data.get("result")
        if result_type == "scalar":
            return None if self._series_value(result[1]) is None else [({}, result[1])]
        if result_type != "vector":
            shown = f"a {result_type}" if result_type in ("matrix", "string") else "no vector"
            raise SourceError(
                f"The {what} returns {shown}, not an instant vector; for a range "
                "selector wrap it, e.g. last_over_time(metric[1d]).", permanent=True)
        if not result:
            raise SourceError(
                f"The {what} returned no series at {at:%Y-%m-%d %H:%M} UTC: check the metric "
                "name and labels; for data older than 5 minutes use "
                "last_over_time(metric[1d]).", permanent=False)
        return [(s.get("metric", {}), s["value"][1]) for s in result]

    def _readings(self, at: datetime, series: list[tuple[dict[str, str], Any]],
                  weight_series: Sequence[tuple[dict[str, str], Any]] = ()
                  ) -> list[Reading]:
        if self.by is None:
            if len(series) > 1:
                raise SourceError(
                    f"The query returned {len(series)} series; aggregate it (e.g. "
                    f"sum(...)) or set by=<label> to store one value per label.",
                    permanent=True)
            value = self._series_value(series[0][1])
            return [] if value is None else [Reading(at, value)]
        segments, total = self._by_segment(series)
        weights, _ = self._by_segment(weight_series)
        return segmented(at, segments, total, self.total, weights)

    def _by_segment(self, series: Sequence[tuple[dict[str, str], Any]]
                    ) -> tuple[dict[str, float], float | None]:
        """Each segment's value, and the total (a series without the ``by`` label)."""
        assert self.by is not None
        segments: dict[str, float] = {}
        total = None
        for labels, raw in series:
            value = self._series_value(raw)
            if value is None:
                continue
            if self.by in labels:
                segments[segment_name(self.by, labels[self.by])] = value
            elif total is None:
                total = value
        return segments, total

    def history(self, start: datetime, end: datetime, step: timedelta) -> list[Reading]:
        seconds = max(int(step.total_seconds()), 1)
        readings: list[Reading] = []
        window = timedelta(seconds=seconds * MAX_POINTS_PER_QUERY)
        chunk_start = start
        while chunk_start <= end:
            chunk_end = min(chunk_start + window, end)
            by_time = self._range(self.query, chunk_start, chunk_end, seconds)
            weights = (self._range(self.weights, chunk_start, chunk_end, seconds)
                       if self.weights else {})
            for stamp in sorted(by_time):
                at = datetime.fromtimestamp(stamp, UTC)
                readings.extend(self._readings(at, by_time[stamp], weights.get(stamp, [])))
            chunk_start = chunk_end + timedelta(seconds=seconds)
        return readings

    def _range(self, query: str, start: datetime, end: datetime, seconds: int
               ) -> dict[float, list[tuple[dict[str, str], Any]]]:
        """A range query's series, by time."""
        data = self._api("query_range", {
            "query": query, "start": _stamp(start), "end": _stamp(end),
            "step": str(seconds)})
        if data.get("resultType") != "matrix":
            raise SourceError("The range query did not return a matrix.", permanent=True)
        by_time: dict[float, list[tuple[dict[str, str], Any]]] = defaultdict(list)
        for series in data.get("result", []):
            for stamp, raw in series.get("values", []):
                by_time[float(stamp)].append((series.get("metric", {}), raw))
        return by_time
