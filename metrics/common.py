"""What the sources share: HTTP calls with permanent/transient errors, numbers, segments."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from bot.core.errors import SourceError
from bot.core.points import MAX_SEGMENT_LENGTH, Reading

# 4xx answers that will not change on retry: bad request, auth, not found, gone, bad query.
# 408 (timeout) and 429 (rate limited) are not among them: a later retry can succeed.
PERMANENT_STATUS = frozenset({400, 401, 403, 404, 405, 406, 410, 411, 413, 414, 415, 422})
TOTALS = ("sum", "mean", "min", "max", "none")


def _describe_status(response: httpx.Response) -> str:
    reason = {401: "unauthorized: check the credentials the config references",
              403: "forbidden: the credentials lack permission",
              404: "not found: check the URL"}.get(response.status_code,
                                                  response.reason_phrase or "error")
    return f"HTTP {response.status_code} {reason}"


def http_call(client: httpx.Client, method: str, url: str, *, what: str, timeout: float,
              **kwargs: Any) -> httpx.Response:
    """One request; transport failures and error statuses become :class:`SourceError`.

    The caller decides what an error body means (Prometheus explains its 400s); this only
    raises for statuses the caller does not handle itself: 5xx and the permanent 4xx list
    when ``raise_for_status`` is left on.
    """
    raise_for_status = kwargs.pop("raise_for_status", True)
    try:
        response = client.request(method, url, timeout=timeout, **kwargs)
    except httpx.TimeoutException:
        raise SourceError(f"{what} did not answer within {timeout:g} s.",
                          permanent=False) from None
    except httpx.InvalidURL as exc:
        raise SourceError(f"{what}: invalid URL ({exc}).", permanent=True) from None
    except httpx.UnsupportedProtocol:
        raise SourceError(f"{what}: the URL must start with http:// or https://.",
                          permanent=True) from None
    except httpx.TransportError as exc:
        raise SourceError(f"{what} could not be reached ({type(exc).__name__}).",
                          permanent=False) from None
    if raise_for_status:
        check_status(response, what)
    return response


def check_status(response: httpx.Response, what: str) -> None:
    """Raise for an error status: permanent for the 4xx that retrying cannot fix."""
    if response.status_code >= 400:
        raise SourceError(f"{what} answered {_describe_status(response)}.",
                          permanent=response.status_code in PERMANENT_STATUS)


def json_body(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        # A server that sends HTML or half a document now may send JSON on the next try.
        raise SourceError(f"{what} did not answer with JSON "
                          f"(content type {response.headers.get('content-type', 'none')}).",
                          permanent=False) from None


def to_number(value: Any, what: str) -> float:
    """A finite float from a JSON/SQL/CSV value; strings like "1,234.5" are accepted."""
    if isinstance(value, bool) or value is None:
        raise SourceError(f"{what} is {_shown(value)}, not a number.", permanent=True)
    if isinstance(value, int | float | Decimal):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.replace(",", "").replace("_", "").strip())
        except ValueError:
            raise SourceError(f"{what} is {_shown(value)}, not a number.",
                              permanent=True) from None
    else:
        raise SourceError(f"{what} is a {type(value).__name__}, not a number.", permanent=True)
    if not math.isfinite(number):
        raise SourceError(f"{what} is {value!r}, not a finite number.", permanent=True)
    return number


def _shown(value: Any) -> str:
    """A short rendering of a value for an error message (never a whole document)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def segment_name(label: str, value: Any) -> str:
    name = f"{label}={value}"
    if len(name) > MAX_SEGMENT_LENGTH:
        raise SourceError(f"Segment {name[:40]!r}... is longer than {MAX_SEGMENT_LENGTH} "
                          "characters.", permanent=True)
    return name


def parse_total(config: Mapping[str, Any], default: str = "sum") -> str:
    how = str(config.get("total", default)).lower()
    if how not in TOTALS:
        raise SourceError(f"total must be one of {', '.join(TOTALS)} (got {how!r}).")
    return how


def aggregate(values: Sequence[float], how: str) -> float | None:
    if not values or how == "none":
        return None
    if how == "sum":
        return math.fsum(values)
    if how == "mean":
        return math.fsum(values) / len(values)
    return min(values) if how == "min" else max(values)


def segmented(at: datetime, segments: Mapping[str, float], total: float | None,
              how: str) -> list[Reading]:
    """Readings for the segments, led by the total (given, else aggregated by ``how``)."""
    if total is None:
        total = aggregate(list(segments.values()), how)
    readings = [Reading(at, value, name) for name, value in sorted(segments.items())]
    if total is not None:
        readings.insert(0, Reading(at, total))
    return readings


def require(config: Mapping[str, Any], key: str, kind: str, example: str) -> Any:
    value = config.get(key)
    if value in (None, ""):
        raise SourceError(f"The {kind} source needs `{key}`, e.g. {example}.")
    return value


def string_map(config: Mapping[str, Any], key: str, kind: str) -> dict[str, str]:
    value = config.get(key) or {}
    if not isinstance(value, Mapping):
        raise SourceError(f"`{key}` of the {kind} source must be an object of names to "
                          "strings.")
    return {str(k): str(v) for k, v in value.items()}
