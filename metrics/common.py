"""What the sources share: HTTP calls with permanent/transient errors, numbers, segments."""

from __future__ import annotations

import logging
import math
import time
import zlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from bot.core.drivers import WEIGHT_PREFIX, weight_segment, weighted_total
from bot.core.errors import SourceError
from bot.core.points import MAX_SEGMENT_LENGTH, Reading
from metrics.egress import MAX_RESPONSE_BYTES, refuse_redirect
from metrics.secrets import looks_like_secret

log = logging.getLogger(__name__)

# 4xx answers that will not change on retry: bad request, auth, not found, gone, bad query.
# 408 (timeout) and 429 (rate limited) are not among them: a later retry can succeed.
PERMANENT_STATUS = frozenset({400, 401, 403, 404, 405, 406, 410, 411, 413, 414, 415, 422})
# How a total relates to its segments; "weighted" (a share or an average weighted by a
# count per segment) needs the source to read the weights too, "none" stores no total
# but the one the source returns itself (pulled separately).
TOTALS = ("sum", "mean", "weighted", "min", "max", "none")
# Headers that describe the body as sent; the returned response holds it decoded.
_BODY_FRAMING = frozenset({"content-encoding", "content-length", "transfer-encoding"})
_CHUNK = 64 * 1024


def _describe_status(response: httpx.Response) -> str:
    reason = {401: "unauthorized: check the credentials the config references",
              403: "forbidden: the credentials lack permission",
              404: "not found: check the URL"}.get(response.status_code,
                                                  response.reason_phrase or "error")
    return f"HTTP {response.status_code} {reason}"


def http_call(client: httpx.Client, method: str, url: str, *, what: str, timeout: float,
              max_bytes: int = MAX_RESPONSE_BYTES, raise_for_status: bool = True,
              **kwargs: Any) -> httpx.Response:
    """One request, its body read in full but never more than ``max_bytes``.

    Transport failures and error statuses become :class:`SourceError`. Whatever kept the
    server from answering (no such name, a closed port, silence, a connection dropped), the
    member reads one message, so errors cannot map which ports are open; the operator's log
    says which. The whole exchange must finish within ``timeout`` seconds. The caller
    decides what an error body means (Prometheus explains its 400s); this only raises for
    statuses the caller does not handle itself: 5xx and the permanent 4xx list when
    ``raise_for_status`` is left on. Redirects are refused, never followed.
    """
    deadline = time.monotonic() + timeout
    headers = httpx.Headers(kwargs.pop("headers", None))
    headers.setdefault("Accept-Encoding", "gzip")
    try:
        request = client.build_request(method, url, headers=headers, timeout=timeout,
                                       **kwargs)
        response = client.send(request, stream=True, follow_redirects=False)
        try:
            refuse_redirect(response)
            body = _read_capped(response, what, max_bytes, deadline)
        finally:
            response.close()
    except httpx.InvalidURL as exc:
        raise SourceError(f"{what}: invalid URL ({exc}).", permanent=True) from None
    except httpx.UnsupportedProtocol:
        raise SourceError(f"{what}: the URL must start with http:// or https://.",
                          permanent=True) from None
    except httpx.TransportError as exc:
        log.warning("%s: the request to %s failed: %s (%s)", what, _host(url),
                    type(exc).__name__, str(exc)[:200])
        raise SourceError(f"{what} could not be reached or did not answer within "
                          f"{timeout:g} s.", permanent=False) from None
    kept = [(name, value) for name, value in response.headers.multi_items()
            if name.lower() not in _BODY_FRAMING]
    result = httpx.Response(response.status_code, headers=kept, content=body,
                            request=request)
    if raise_for_status:
        check_status(result, what)
    return result


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host
    except httpx.InvalidURL:
        return "an invalid URL"


def _read_capped(response: httpx.Response, what: str, max_bytes: int,
                 deadline: float) -> bytes:
    """The decoded body; refused once it grows past ``max_bytes``, before reading more."""
    too_large = SourceError(f"{what} answered with more than {max_bytes / 2**20:g} MiB, "
                            "more than the bot reads: ask for less (a narrower query, fewer "
                            "rows or a smaller file).", permanent=True)
    if response.is_stream_consumed:  # built in memory (e.g. httpx.MockTransport): read
        if len(response.content) > max_bytes:
            raise too_large
        return response.content
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip"):
        raise SourceError(f"{what} answered in a content encoding the bot does not read "
                          "(it asks for gzip or none).", permanent=True)
    # Inflating with a bound on the output keeps a compressed bomb from filling memory.
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if "gzip" in encoding else None
    body = bytearray()
    try:
        for chunk in response.iter_raw(_CHUNK):
            while chunk and len(body) <= max_bytes:
                if inflate is None:
                    body += chunk
                    break
                body += inflate.decompress(chunk, max_bytes + 1 - len(body))
                chunk = inflate.unconsumed_tail
            if len(body) > max_bytes:
                raise too_large
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout("the whole answer took too long",
                                        request=response.request)
        if inflate is not None:
            body += inflate.flush()
    except zlib.error:
        raise SourceError(f"{what} answered with a damaged gzip body.",
                          permanent=False) from None
    if len(body) > max_bytes:
        raise too_large
    return bytes(body)


def check_status(response: httpx.Response, what: str) -> None:
    """Raise for an error status: permanent for the 4xx that retrying cannot fix."""
    if response.status_code >= 400:
        raise SourceError(f"{what} answered {_describe_status(response)}.",
                          permanent=response.status_code in PERMANENT_STATUS)


def json_body(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        # What the body was is not shown (it is fetched content); an HTML page is named,
        # as it usually means a login page or a wrong URL.
        html = response.headers.get("content-type", "").lower().startswith("text/html")
        log.warning("%s did not answer with JSON (content type %.60s)", what,
                    response.headers.get("content-type", "none"))
        # A server that sends HTML or half a document now may send JSON on the next try.
        raise SourceError(f"{what} did not answer with JSON"
                          + (" but with an HTML page (a login page or a wrong URL?)"
                             if html else "") + ".", permanent=False) from None


def to_number(value: Any, what: str) -> float:
    """A finite float from a JSON/SQL/CSV value; strings like "1,234.5" are accepted.

    Errors say what type the value is, never the value: it is fetched content.
    """
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.replace(",", "").replace("_", "").strip())
        except ValueError:
            raise SourceError(f"{what} is text, not a number.", permanent=True) from None
    else:
        raise SourceError(f"{what} is {_kind(value)}, not a number.", permanent=True)
    if not math.isfinite(number):
        raise SourceError(f"{what} is not a finite number (NaN or infinity).",
                          permanent=True)
    return number


def _kind(value: Any) -> str:
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a value of type {type(value).__name__}"


def segment_name(label: str, value: Any) -> str:
    """``label=value``; a name too long or shaped like a credential is refused, unshown."""
    name = f"{label}={value}"
    if len(name) > MAX_SEGMENT_LENGTH - len(WEIGHT_PREFIX):
        raise SourceError(f"A segment name is longer than "
                          f"{MAX_SEGMENT_LENGTH - len(WEIGHT_PREFIX)} characters: segment by "
                          "a label with shorter values.", permanent=True)
    if name.startswith(WEIGHT_PREFIX):
        raise SourceError(f"A segment label may not start with {WEIGHT_PREFIX!r}: that names "
                          "a segment's weight.", permanent=True)
    if looks_like_secret(name):
        raise SourceError(f"A segment of {label} looks like a credential (a token or "
                          "password), so it is not stored: segment by another label.",
                          permanent=True)
    return name


def parse_total(config: Mapping[str, Any], default: str = "sum", *,
                weights_from: str | None = None) -> str:
    """The ``total`` of a source's config; ``weights_from`` says where the source reads the
    weights of a ``weighted`` total (a source that reads none refuses it)."""
    how = str(config.get("total", default)).lower()
    if how not in TOTALS:
        raise SourceError(f"total must be one of {', '.join(TOTALS)} (got {how!r}).")
    if how == "weighted" and weights_from is None:
        raise SourceError("This source reads no weights, so its total cannot be weighted: "
                          "return the total from the source itself (total=none), or use "
                          "a prometheus source with `weights` or a sql query with a third "
                          "column.", permanent=True)
    return how


def aggregate(values: Sequence[float], how: str) -> float | None:
    if not values or how in ("none", "weighted"):
        return None
    if how == "sum":
        return math.fsum(values)
    if how == "mean":
        return math.fsum(values) / len(values)
    return min(values) if how == "min" else max(values)


def segmented(at: datetime, segments: Mapping[str, float], total: float | None,
              how: str, weights: Mapping[str, float] | None = None) -> list[Reading]:
    """Readings for the segments, led by the total (given, else aggregated by ``how``),
    followed by the segments' ``weights`` when there are any."""
    if total is None:
        total = (weighted_total(segments, weights or {}) if how == "weighted"
                 else aggregate(list(segments.values()), how))
    readings = [Reading(at, value, name) for name, value in sorted(segments.items())]
    if total is not None:
        readings.insert(0, Reading(at, total))
    readings += [Reading(at, weight, weight_segment(name))
                 for name, weight in sorted((weights or {}).items()) if name in segments]
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
