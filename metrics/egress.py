"""Where metric sources may connect: an operator's egress policy, enforced in the transport.

A source's HTTP client resolves each host itself, refuses the request when the host name is
not among the policy's allowed hosts or when any address it resolves to lies in a range a
source must not reach (loopback, private, link-local and cloud metadata, multicast,
unspecified, reserved; IPv4 inside IPv6 counts as the IPv4 address), unless the operator
allow-listed that range. It then connects to the address it checked, so a second DNS answer
cannot point the connection elsewhere. Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from bot.core.errors import SourceError

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 10 * 1024 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _ranges(*entries: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(network), label) for network, label in entries)


# Every IPv4 range that is not public unicast, with what it is (first match names it).
_REFUSED_V4 = _ranges(
    ("0.0.0.0/8", "unspecified"), ("127.0.0.0/8", "loopback"),
    ("10.0.0.0/8", "private"), ("172.16.0.0/12", "private"), ("192.168.0.0/16", "private"),
    ("100.64.0.0/10", "private (carrier-grade NAT)"),
    ("169.254.0.0/16", "link-local (cloud metadata)"),
    ("192.0.0.0/24", "reserved"), ("192.0.2.0/24", "reserved"), ("192.88.99.0/24", "reserved"),
    ("198.18.0.0/15", "reserved"), ("198.51.100.0/24", "reserved"),
    ("203.0.113.0/24", "reserved"), ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved (or broadcast)"),
)
# IPv6 outside global unicast (2000::/3) is refused as reserved unless named here first;
# ::ffff:0:0/96 (IPv4-mapped) is checked as its IPv4 address before this table.
_REFUSED_V6 = _ranges(
    ("::/128", "unspecified"), ("::1/128", "loopback"), ("fc00::/7", "private (unique local)"),
    ("fe80::/10", "link-local"), ("fec0::/10", "private (site-local)"),
    ("ff00::/8", "multicast"), ("64:ff9b:1::/48", "private (local NAT64)"),
    ("2001::/23", "reserved (incl. Teredo)"), ("2001:db8::/32", "reserved"),
    ("3fff::/20", "reserved"),
)
_GLOBAL_V6 = ipaddress.ip_network("2000::/3")
# Prefixes that carry an IPv4 address a gateway will connect to: NAT64 (last 32 bits) and
# 6to4 (bits 16-48). The embedded address must be allowed as well.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HOST_NAME = re.compile(r"^(\*\.)?([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.)*"
                        r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$")
_REDIRECTED = ("answered with a redirect to another address; redirects are not followed: "
               "register the final URL as the connection.")


class EgressRefused(SourceError):
    """The egress policy forbids this destination; retrying cannot help."""

    permanent = True


def _normal_host(host: str) -> str:
    """Lower case, no trailing dot, no brackets; an IP literal in its compressed form."""
    name = host.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")
    try:
        return ipaddress.ip_address(name).compressed
    except ValueError:
        return name


def _parse_host(entry: str) -> str:
    name = _normal_host(entry)
    try:
        ipaddress.ip_address(name)
        return name
    except ValueError:
        pass
    if not _HOST_NAME.match(name):
        raise ValueError(f"{entry!r} is not a host name such as api.example.com or "
                         "*.example.com (no scheme, port or path; write international "
                         "names in their xn-- form).")
    return name


def _parse_network(entry: str) -> IPNetwork:
    try:
        return ipaddress.ip_network(entry.strip().removeprefix("[").removesuffix("]"))
    except ValueError as exc:
        raise ValueError(f"{entry!r} is not an IP address or network such as 127.0.0.1, "
                         f"10.0.0.0/8 or ::1 ({exc}).") from None


@dataclass(frozen=True)
class EgressPolicy:
    """What one connection may reach.

    ``allowed_hosts`` holds lower-case host names, exact or ``*.example.com`` (any
    subdomain); empty allows any name. ``allowed_networks`` are normally refused ranges the
    operator allows (e.g. 10.0.0.0/8 for an internal Prometheus).
    """

    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_lists(cls, hosts: Iterable[str], networks: Iterable[str]) -> EgressPolicy:
        """Parse an operator's lists; a bad entry raises ``ValueError`` saying why."""
        return cls(frozenset(_parse_host(str(host)) for host in hosts),
                   tuple(_parse_network(str(network)) for network in networks))

    def check_host(self, host: str) -> None:
        name = _normal_host(host)
        if not self.allowed_hosts or name in self.allowed_hosts or any(
                allowed.startswith("*.") and name.endswith(allowed[1:])
                for allowed in self.allowed_hosts):
            return
        raise EgressRefused(f"{name} may not be reached: it is not among the connection's "
                            "allowed hosts; an operator can add it to allowed_hosts.")

    def check_address(self, address: str, *, host: str | None = None) -> None:
        """Refuse an address in a refused range the policy does not allow.

        ``host`` names the destination in the message instead of the address (a resolved
        address is for the operator's log, not for the member who pulled).
        """
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise EgressRefused(f"{host or address} may not be reached: it has no valid "
                                "IP address.") from None
        label = self._refusal(ip)
        if label is not None:
            article = "an" if label[0] in "aeiou" else "a"
            raise EgressRefused(
                f"{host or ip.compressed} may not be reached: its address is in {article} "
                f"{label} range, which sources may not connect to unless an operator allows "
                "that range (allow_private of the connection).")

    def _allowed(self, ip: IPAddress) -> bool:
        return any(ip.version == network.version and ip in network
                   for network in self.allowed_networks)

    def _refusal(self, ip: IPAddress) -> str | None:
        """What refused range ``ip`` is in (None: it may be reached)."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if self._allowed(ip):
            return None
        if isinstance(ip, ipaddress.IPv4Address):
            return next((label for network, label in _REFUSED_V4 if ip in network), None)
        if ip in _NAT64 or ip.sixtofour is not None:
            embedded = (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64
                        else ip.sixtofour)
            assert embedded is not None
            return self._refusal(embedded)
        label = next((label for network, label in _REFUSED_V6 if ip in network), None)
        return label or (None if ip in _GLOBAL_V6 else "reserved")


def refuse_redirect(response: httpx.Response) -> None:
    """Raise for a 3xx: a redirect could lead anywhere, so none is followed."""
    if 300 <= response.status_code < 400:
        raise EgressRefused(f"{response.request.url.host} {_REDIRECTED}")


def _addresses(host: str, port: int, request: httpx.Request) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order, without repeats."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise httpx.ConnectError(f"name resolution failed ({type(exc).__name__})",
                                 request=request) from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedTransport(httpx.BaseTransport):
    """Checks each request against the policy, then connects to the checked address.

    One connection pool per host name, so a TLS connection verified for one name is never
    reused for another name that resolves to the same address.
    """

    def __init__(self, policy: EgressPolicy, *, max_connections: int = 10,
                 verify: ssl.SSLContext | bool = True) -> None:
        self.policy = policy
        self._verify = verify
        self._tls: ssl.SSLContext | None = None  # built once: loading the CAs takes 0.2 s
        self._limits = httpx.Limits(max_connections=max_connections,
                                    max_keepalive_connections=max_connections)
        self._pools: dict[str, httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def _pool(self, host: str) -> httpx.HTTPTransport:
        with self._lock:
            if host not in self._pools:
                if self._tls is None:
                    self._tls = httpx.create_ssl_context(verify=self._verify)
                self._pools[host] = httpx.HTTPTransport(limits=self._limits,
                                                        verify=self._tls)
            return self._pools[host]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol("the URL must use http or https", request=request)
        host = url.raw_host.decode("ascii")
        self.policy.check_host(host)
        addresses = _addresses(host, url.port or (443 if url.scheme == "https" else 80),
                               request)
        for address in addresses:
            try:
                self.policy.check_address(address, host=_normal_host(host))
            except EgressRefused:
                log.warning("egress refused: %s resolves to %s", host, address)
                raise
        extensions = dict(request.extensions)
        if url.scheme == "https":
            extensions["sni_hostname"] = host
        error: httpx.ConnectError | None = None
        for address in addresses:
            pinned = httpx.Request(request.method, url.copy_with(host=address),
                                   headers=request.headers, stream=request.stream,
                                   extensions=extensions)
            try:
                return self._pool(host).handle_request(pinned)
            except httpx.ConnectError as exc:
                error = exc  # the next checked address may answer (IPv6 then IPv4)
        assert error is not None  # getaddrinfo never returns an empty list
        raise error

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()


def guarded_client(policy: EgressPolicy, *, timeout: float = 30.0, max_connections: int = 10,
                   verify: ssl.SSLContext | bool = True) -> httpx.Client:
    """An HTTP client that reaches only what ``policy`` allows and follows no redirect.

    ``verify`` is the TLS trust (an SSL context for an internal CA); certificates are
    checked against the URL's host name, not the address connected to. The environment's
    proxy and netrc settings are ignored (``trust_env=False``): a proxy would connect on
    the bot's behalf to addresses this transport never checked.
    """
    return httpx.Client(
        transport=GuardedTransport(policy, max_connections=max_connections, verify=verify),
        timeout=timeout, follow_redirects=False, trust_env=False,
        headers={"User-Agent": "outcomes-bot", "Accept-Encoding": "gzip"},
        event_hooks={"response": [refuse_redirect]},
    )
