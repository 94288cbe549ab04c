"""The HTTP/JSON source: any JSON API, a JMESPath expression picks the number.

Config::

    {"url": "https://api.github.com/search/issues?q=repo:acme/app+is:open+label:bug",
     "headers": {"Authorization": "Bearer ${GITHUB_TOKEN}"},
     "value": "total_count"}

``method`` (GET or POST), ``params``, ``headers`` and ``json`` (a POST body) shape the
request. ``value`` is a JMESPath expression for the total; ``segments`` one that yields an
object of name → number or a list of [name, number] pairs, stored as ``<by>=<name>``
(``by`` defaults to ``segment``). Without ``value`` the total is the ``total`` aggregate of
the segments.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
import jmespath
from jmespath.exceptions import JMESPathError

from bot.core.errors import SourceError
from bot.core.points import Reading
from metrics.common import (
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

METHODS = ("GET", "POST")


def _compile(expression: Any, name: str) -> Any:
    try:
        return jmespath.compile(str(expression))
    except JMESPathError as exc:
        raise SourceError(f"`{name}` is not a valid JMESPath expression: "
                          f"{str(exc).splitlines()[0]}", permanent=True) from None


@register("http")
class HttpSource:
    kind = "http"

    def __init__(self, config: dict[str, Any], client: httpx.Client) -> None:
        self.url = str(require(config, "url", "http", "url=https://api.example.com/stats"))
        self.method = str(config.get("method", "GET")).upper()
        if self.method not in METHODS:
            raise SourceError(f"method must be GET or POST (got {self.method!r}).")
        self.headers = string_map(config, "headers", "http")
        self.params = string_map(config, "params", "http")
        self.body = config.get("json")
        if config.get("value") is None and config.get("segments") is None:
            raise SourceError("The http source needs `value` (a JMESPath expression such as "
                              "total_count) or `segments`.")
        self.value = _compile(config["value"], "value") if config.get("value") else None
        self.segments = (_compile(config["segments"], "segments")
                         if config.get("segments") else None)
        self.by = str(config.get("by") or "segment")
        self.total = parse_total(config)
        self.timeout = source_timeout(config)
        self.client = client

    @classmethod
    def from_config(cls, config: dict[str, Any], resources: Resources) -> HttpSource:
        return cls(config, resources.http)

    def read(self, at: datetime) -> list[Reading]:
        what = f"The HTTP source ({httpx.URL(self.url).host})"
        kwargs: dict[str, Any] = {"headers": self.headers}
        if self.params:
            kwargs["params"] = self.params
        if self.body is not None:
            kwargs["json"] = self.body
        response = http_call(self.client, self.method, self.url, what=what,
                             timeout=self.timeout, **kwargs)
        document = json_body(response, what)
        total = None
        if self.value is not None:
            found = self.value.search(document)
            if found is None:
                raise SourceError(f"`value` ({self.value.expression}) matched nothing in "
                                  "the response.", permanent=True)
            total = to_number(found, f"`value` ({self.value.expression})")
        segments: dict[str, float] = {}
        if self.segments is not None:
            segments = self._segments(self.segments.search(document))
        return segmented(at, segments, total, self.total)

    def _segments(self, found: Any) -> dict[str, float]:
        expression = self.segments.expression if self.segments else ""
        if isinstance(found, Mapping):
            pairs = list(found.items())
        elif isinstance(found, list) and all(
                isinstance(pair, list) and len(pair) == 2 for pair in found):
            pairs = [(pair[0], pair[1]) for pair in found]
        else:
            raise SourceError(f"`segments` ({expression}) must yield an object of name → "
                              "number or a list of [name, number] pairs.", permanent=True)
        return {segment_name(self.by, name):
                to_number(value, f"A value under `segments` ({expression})")
                for name, value in pairs if value is not None}
