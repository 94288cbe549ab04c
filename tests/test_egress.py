"""Sources reach only what an operator allowed: the egress policy on real loopback servers.

Every test talks to real servers on 127.0.0.1 (a canned JSON API, a real Prometheus, a
server that streams, one that never answers, a TLS one) through the guarded client. Name
resolution is faked only where a test needs a name that points at loopback ("public.test"),
by replacing ``getaddrinfo`` for that one name.
"""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fake_api import Answer, FakeApi
from prometheus_server import PrometheusServer, serve

import metrics.egress
from bot.core.errors import SourceError
from metrics.csv import CsvSource
from metrics.egress import MAX_RESPONSE_BYTES, EgressPolicy, EgressRefused, guarded_client
from metrics.http import HttpSource
from metrics.prometheus import PrometheusSource

AT = datetime(2026, 11, 20, 12, tzinfo=UTC)
MiB = 2**20
LOOPBACK = EgressPolicy.from_lists([], ["127.0.0.1/32"])


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi() as api:
        yield api


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every TCP connection the process opens (httpcore connects through this)."""
    opened: list[tuple[str, int]] = []
    original = socket.create_connection

    def spy(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        opened.append((address[0], address[1]))
        return original(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    return opened


class FakeDns:
    """Answers for chosen names; every other name goes to the real resolver."""

    def __init__(self) -> None:
        self.names: dict[str, list[str]] = {}
        self.asked: list[str] = []
        self.real = socket.getaddrinfo

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in self.names:
            return self.real(host, port, *args, **kwargs)
        self.asked.append(host)
        return [(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM,
                 6, "", (address, port)) for address in self.names[host]]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns()
    monkeypatch.setattr(metrics.egress.socket, "getaddrinfo", fake.getaddrinfo)
    return fake


def http_source(url: str, client: httpx.Client, **config: Any) -> HttpSource:
    return HttpSource({"url": url, "value": "n", **config}, client)


# ------------------------------------------------------------------ refused addresses


@pytest.mark.parametrize("host", [
    "127.0.0.1", "localhost", "[::1]", "0.0.0.0", "[::ffff:127.0.0.1]", "[::]",
    "10.1.2.3", "172.16.0.9", "192.168.1.1", "100.64.0.1", "169.254.169.254",
    "[fd00:ec2::254]", "[fe80::1]", "224.0.0.1", "255.255.255.255", "[ff02::1]",
    "[64:ff9b::7f00:1]", "[2002:7f00:1::1]", "[2001::1]",
])
def test_loopback_private_link_local_and_metadata_addresses_are_refused_before_connecting(
        api, connects, host) -> None:
    port = api.server.server_address[1]
    with guarded_client(EgressPolicy()) as client, \
            pytest.raises(EgressRefused, match="may not be reached") as caught:
        http_source(f"http://{host}:{port}/v", client).read(AT)

    assert caught.value.permanent
    assert "allow_private" in caught.value.message
    assert connects == [] and api.hits == []


@pytest.mark.parametrize(("address", "label"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.0.0.1", "private"),
    ("100.64.0.1", "carrier-grade NAT"), ("169.254.169.254", "cloud metadata"),
    ("fd00:ec2::254", "unique local"), ("fe80::1", "link-local"), ("0.0.0.0", "unspecified"),
    ("::", "unspecified"), ("239.1.1.1", "multicast"), ("::ffff:10.0.0.1", "private"),
    ("64:ff9b::a9fe:a9fe", "cloud metadata"), ("2002:c0a8:0101::1", "private"),
    ("192.0.2.1", "reserved"), ("::127.0.0.1", "reserved"), ("4000::1", "reserved"),
])
def test_each_refused_range_is_named(address, label) -> None:
    with pytest.raises(EgressRefused, match=label):
        EgressPolicy().check_address(address)


@pytest.mark.parametrize("address", [
    "93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8",
    "64:ff9b::808:808", "2002:0808:0808::1",
])
def test_public_addresses_pass(address) -> None:
    EgressPolicy().check_address(address)


def test_an_allow_listed_range_passes_and_only_that_range() -> None:
    policy = EgressPolicy.from_lists([], ["10.0.0.0/8", "127.0.0.1", "::1"])

    for address in ("10.9.8.7", "127.0.0.1", "::ffff:127.0.0.1", "::1"):
        policy.check_address(address)
    for address in ("127.0.0.2", "192.168.0.1", "169.254.169.254", "fe80::1"):
        with pytest.raises(EgressRefused):
            policy.check_address(address)


@pytest.mark.parametrize(("hosts", "networks", "words"), [
    (["http://api.example.com"], [], "no scheme, port or path"),
    (["api.example.com:443"], [], "api.example.com:443"),
    (["*"], [], "host name"),
    (["api.*.com"], [], "host name"),
    ([""], [], "host name"),
    ([], ["10.0.0.1/8"], "has host bits set"),
    ([], ["intranet"], "10.0.0.0/8"),
])
def test_a_bad_policy_entry_is_refused_saying_what_is_expected(hosts, networks, words) -> None:
    with pytest.raises(ValueError, match=words):
        EgressPolicy.from_lists(hosts, networks)


def test_allowed_hosts_match_exactly_or_by_wildcard_in_any_case() -> None:
    policy = EgressPolicy.from_lists(["API.example.com.", "*.corp.example"], [])

    for host in ("api.example.com", "Api.Example.Com", "a.corp.example", "x.y.corp.example"):
        policy.check_host(host)
    for host in ("example.com", "evil-api.example.com", "corp.example", "evilcorp.example"):
        with pytest.raises(EgressRefused, match="allowed_hosts"):
            policy.check_host(host)


def test_a_host_not_among_the_allowed_hosts_is_refused_even_on_an_allowed_range(
        api, connects) -> None:
    policy = EgressPolicy.from_lists(["api.example.com"], ["127.0.0.1/32"])
    url = api.route("/v", json={"n": 1})

    with guarded_client(policy) as client, pytest.raises(EgressRefused, match="allowed hosts"):
        http_source(url, client).read(AT)

    assert connects == [] and api.hits == []


# --------------------------------------------------------- what an operator allowed


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    yield from serve(tmp_path_factory)


def test_an_allow_listed_loopback_serves_the_http_and_csv_sources(api) -> None:
    api.route("/count", json={"n": 17})
    api.route("/sheet.csv", body="week,n\n2026-11-02,3\n2026-11-09,5\n",
              content_type="text/csv")

    with guarded_client(LOOPBACK) as client:
        http_value = http_source(api.url("/count"), client).read(AT)[0].value
        csv_value = CsvSource({"url": api.url("/sheet.csv"), "column": "n",
                               "time_column": "week"}, client).read(AT)[0].value

    assert (http_value, csv_value) == (17, 5)


def test_an_allow_listed_loopback_serves_a_real_prometheus(prometheus) -> None:
    at = prometheus.history.start + timedelta(hours=10)

    with guarded_client(LOOPBACK) as client:
        readings = PrometheusSource({"url": prometheus.url, "query": "signups_total"},
                                    client).read(at)

    assert [r.value for r in readings] == [110]


def test_the_transport_connects_to_the_address_it_checked(api, connects, dns) -> None:
    dns.names["public.test"] = ["127.0.0.1"]
    port = api.server.server_address[1]
    api.route("/count", json={"n": 4})

    with guarded_client(LOOPBACK) as client:
        assert http_source(f"http://public.test:{port}/count", client).read(AT)[0].value == 4

    assert dns.asked == ["public.test"]  # resolved once, by the check
    assert connects == [("127.0.0.1", port)]
    assert api.hits[0].headers["Host"] == f"public.test:{port}"


def test_a_name_resolving_to_a_refused_address_is_refused_without_showing_it(
        api, connects, dns, caplog) -> None:
    # DNS rebinding: a public-looking name whose answers include loopback.
    dns.names["public.test"] = ["93.184.215.14", "127.0.0.1"]
    port = api.server.server_address[1]

    with guarded_client(EgressPolicy()) as client, pytest.raises(EgressRefused) as caught:
        http_source(f"http://public.test:{port}/v", client).read(AT)

    assert caught.value.message.startswith("public.test may not be reached")
    assert "loopback" in caught.value.message and "127.0.0.1" not in caught.value.message
    assert "egress refused: public.test resolves to 127.0.0.1" in caplog.messages
    assert connects == [] and api.hits == []


# ---------------------------------------------------------------------- redirects


def test_a_redirect_is_not_followed_and_its_target_is_not_shown(api, connects) -> None:
    with FakeApi() as elsewhere:
        target = elsewhere.route("/internal-target", json={"n": 1})
        api.route("/moved", Answer(302, body="", headers={"Location": target}))

        with guarded_client(LOOPBACK) as client:
            with pytest.raises(EgressRefused, match="register the final URL") as caught:
                http_source(api.url("/moved"), client).read(AT)
            with pytest.raises(EgressRefused):
                client.get(api.url("/moved"), follow_redirects=True)

    assert caught.value.permanent
    assert "internal-target" not in caught.value.message
    assert str(elsewhere.server.server_address[1]) not in caught.value.message
    assert elsewhere.hits == [] and len(connects) == 2


# --------------------------------------------------------------------- byte cap


class Streamer:
    """A loopback server answering every GET with ``body`` (or ``size`` zero bytes),
    written 64 KiB at a time; ``sent`` counts what the client took before it hung up."""

    def __init__(self, *, size: int = 0, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.sent = 0
        self.done = threading.Event()
        streamer = self
        chunk = bytes(64 * 1024)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()  # HTTP/1.0: the body ends when the connection closes
                try:
                    if body is not None:
                        self.wfile.write(body)
                        streamer.sent += len(body)
                    while streamer.sent < size:
                        self.wfile.write(chunk)
                        streamer.sent += len(chunk)
                except OSError:
                    pass  # the client hung up
                finally:
                    streamer.done.set()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/big"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def peak_memory(call: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        call()
    except SourceError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_body_over_the_cap_is_refused_without_being_read_whole() -> None:
    streamer = Streamer(size=50 * MiB)
    caught: list[SourceError] = []

    def pull() -> None:
        with guarded_client(LOOPBACK) as client:
            try:
                http_source(streamer.url, client, timeout=30).read(AT)
            except SourceError as error:
                caught.append(error)

    try:
        peak = peak_memory(pull)
        assert streamer.done.wait(10)
    finally:
        streamer.close()

    assert caught[0].permanent and "more than 10 MiB" in caught[0].message
    assert streamer.sent < 35 * MiB  # the server was stopped well short of 50 MiB
    assert peak < 2.5 * MAX_RESPONSE_BYTES


def test_a_compressed_bomb_is_refused_while_inflating() -> None:
    bomb = gzip.compress(bytes(60 * MiB), compresslevel=1)
    streamer = Streamer(body=bomb, headers={"Content-Encoding": "gzip"})
    try:
        with guarded_client(LOOPBACK) as client:
            source = http_source(streamer.url, client)
            peak = peak_memory(lambda: source.read(AT))
            with pytest.raises(SourceError, match="more than 10 MiB"):
                source.read(AT)
    finally:
        streamer.close()

    assert len(bomb) < MiB and peak < 2.5 * MAX_RESPONSE_BYTES


def test_a_declared_length_over_the_cap_is_refused_before_the_body() -> None:
    streamer = Streamer(size=50 * MiB, headers={"Content-Length": str(50 * MiB)})
    try:
        with guarded_client(LOOPBACK) as client:
            source = http_source(streamer.url, client)
            with pytest.raises(SourceError, match="more than 10 MiB"):
                source.read(AT)
            peak = peak_memory(lambda: source.read(AT))
        assert streamer.done.wait(10)
    finally:
        streamer.close()

    assert peak < MiB  # no part of the body was held


def test_a_csv_has_its_own_larger_cap(api) -> None:
    rows = "n,note\n" + ("1," + "x" * 1000 + "\n") * 11_000  # 11 MB
    api.route("/big.csv", body=rows, content_type="text/csv")

    with guarded_client(LOOPBACK) as client:
        assert CsvSource({"url": api.url("/big.csv"), "column": "n"}, client).read(AT)


# --------------------------------------------------------- open and closed ports alike


def test_a_closed_port_a_silent_server_and_a_non_http_server_read_the_same(caplog) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections in the kernel, never answers
    chatty = socket.socket()
    chatty.bind(("127.0.0.1", 0))
    chatty.listen(8)

    def banner() -> None:
        connection, _ = chatty.accept()
        connection.recv(4096)  # the request, so the banner answers it
        connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
        connection.close()

    threading.Thread(target=banner, daemon=True).start()
    messages = []
    try:
        with guarded_client(LOOPBACK) as client:
            for port in (closed, silent.getsockname()[1], chatty.getsockname()[1]):
                with pytest.raises(SourceError) as caught:
                    http_source(f"http://127.0.0.1:{port}/v", client, timeout=0.5).read(AT)
                assert not caught.value.permanent
                messages.append(caught.value.message)
    finally:
        silent.close()
        chatty.close()

    assert messages == ["The HTTP source (127.0.0.1) could not be reached or did not "
                        "answer within 0.5 s."] * 3
    for detail in ("ConnectError", "ReadTimeout", "RemoteProtocolError"):
        assert detail in caplog.text


# ------------------------------------------------------------------------- TLS


def certificate(name: str) -> tuple[bytes, bytes]:
    """A self-signed certificate for ``name`` (PEM) and its key (PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    public = key.public_key()
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
            .not_valid_after(datetime(2040, 1, 1, tzinfo=UTC))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def test_tls_verifies_the_url_host_name_not_the_address_connected_to(
        dns, tmp_path, caplog) -> None:
    cert, key = certificate("public.test")
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    api = FakeApi()
    api.server.socket = server_tls.wrap_socket(api.server.socket, server_side=True)
    api.route("/count", json={"n": 9})
    port = api.server.server_address[1]
    dns.names["public.test"] = dns.names["other.test"] = ["127.0.0.1"]
    trust = ssl.create_default_context(cadata=cert.decode())

    with api, guarded_client(LOOPBACK, verify=trust) as client:
        value = http_source(f"https://public.test:{port}/count", client).read(AT)[0].value
        with pytest.raises(SourceError, match="could not be reached"):
            http_source(f"https://other.test:{port}/count", client).read(AT)

    assert value == 9
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text or "certificate" in caplog.text
    assert [hit.headers["Host"] for hit in api.hits] == [f"public.test:{port}"]


# ------------------------------------------------------- fetched content stays unshown


@pytest.mark.parametrize(("document", "config", "words"), [
    ({"n": "ghp_abcdefghijklmnopqrstuvwxyz0123"}, {}, "is text, not a number"),
    ({"n": [1, 2]}, {}, "is a list, not a number"),
    ({"n": {"token": "xoxb-1234567890-abcdefghij"}}, {}, "is an object, not a number"),
    ({"s": {"xoxb-1234567890-abcdefghij": 1}}, {"segments": "s", "value": None},
     "looks like a credential"),
    ({"s": {"x" * 300: 1}}, {"segments": "s", "value": None}, "longer than"),
])
def test_errors_about_fetched_values_say_their_type_never_their_content(
        api, document, config, words) -> None:
    url = api.route("/v", json=document)

    with guarded_client(LOOPBACK) as client, pytest.raises(SourceError) as caught:
        http_source(url, client, **config).read(AT)

    assert words in caught.value.message and caught.value.permanent
    for secret in ("ghp_", "xoxb-", "xxxxxxxx"):
        assert secret not in caught.value.message


# ------------------------------------------------ edges found by mutation testing


def refusal(call: Callable[[], object]) -> str:
    with pytest.raises((EgressRefused, ValueError)) as caught:
        call()
    return str(caught.value)


RANGE_TAIL = ("range, which sources may not connect to unless an operator allows that range "
              "(allow_private of the connection).")


@pytest.mark.parametrize(("call", "message"), [
    (lambda: EgressPolicy.from_lists(["api.example.com"], []).check_host("Evil.Example."),
     "evil.example may not be reached: it is not among the connection's allowed hosts; an "
     "operator can add it to allowed_hosts."),
    (lambda: EgressPolicy().check_address("10.0.0.1"),
     f"10.0.0.1 may not be reached: its address is in a private {RANGE_TAIL}"),
    (lambda: EgressPolicy().check_address("0:0:0:0:0:0:0:1"),
     f"::1 may not be reached: its address is in a loopback {RANGE_TAIL}"),
    (lambda: EgressPolicy().check_address("::", host="api.example.com"),
     f"api.example.com may not be reached: its address is in an unspecified {RANGE_TAIL}"),
    (lambda: EgressPolicy().check_address("4000::1"),
     f"4000::1 may not be reached: its address is in a reserved {RANGE_TAIL}"),
    (lambda: EgressPolicy().check_address("not-an-address"),
     "not-an-address may not be reached: it has no valid IP address."),
    (lambda: EgressPolicy().check_address("not-an-address", host="api.example.com"),
     "api.example.com may not be reached: it has no valid IP address."),
    (lambda: EgressPolicy.from_lists(["http://api.example.com"], []),
     "'http://api.example.com' is not a host name such as api.example.com or *.example.com "
     "(no scheme, port or path; write international names in their xn-- form)."),
])
def test_each_refusal_reads_in_full(call, message) -> None:
    assert refusal(call) == message


def test_bracketed_and_uncompressed_ip_entries_match_their_compressed_form() -> None:
    policy = EgressPolicy.from_lists(["[2606:4700:0:0::1111]"], ["[::1]"])

    policy.check_host("2606:4700::1111")
    policy.check_host("[2606:4700::1111]")
    policy.check_address("::1")
    with pytest.raises(EgressRefused):
        policy.check_host("2606:4700::1112")


@pytest.mark.parametrize(("status", "refused"), [
    (200, False), (300, True), (301, True), (399, True), (400, False),
])
def test_every_3xx_is_refused_as_a_redirect_and_nothing_else(api, status, refused) -> None:
    url = api.route("/v", Answer(status, body=""))

    with guarded_client(LOOPBACK) as client:
        if refused:
            with pytest.raises(EgressRefused, match="redirects are not followed"):
                client.get(url)
        else:
            assert client.get(url).status_code == status


def test_the_client_names_itself_and_asks_for_gzip_only(api) -> None:
    url = api.route("/count", json={"n": 3})

    with guarded_client(LOOPBACK) as client:  # used directly, as a plugin's source may
        assert client.get(url).json() == {"n": 3}

    headers = {name.lower(): value for name, value in api.hits[0].headers.items()}
    assert headers["user-agent"] == "outcomes-bot"
    assert headers["accept-encoding"].lower() == "gzip"


def test_a_request_body_reaches_the_checked_address(api, dns) -> None:
    dns.names["public.test"] = ["127.0.0.1"]
    port = api.server.server_address[1]
    api.route("/search", json={"n": 5})

    with guarded_client(LOOPBACK) as client:
        reading = http_source(f"http://public.test:{port}/search", client, method="POST",
                              json={"query": "is:pr"}, timeout=5).read(AT)[0]

    assert reading.value == 5
    assert api.hits[0].method == "POST"
    assert json.loads(api.hits[0].body) == {"query": "is:pr"}


def test_the_default_client_verifies_tls_certificates(dns, tmp_path) -> None:
    cert, key = certificate("public.test")
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    api = FakeApi()
    api.server.socket = server_tls.wrap_socket(api.server.socket, server_side=True)
    url = api.route("/count", json={"n": 9}).replace("http://127.0.0.1", "https://public.test")
    dns.names["public.test"] = ["127.0.0.1"]

    with api, guarded_client(LOOPBACK) as client, \
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        client.get(url)

    assert api.hits == []


def test_connections_to_one_host_are_capped_at_max_connections(api) -> None:
    url = api.route("/v", json={"n": 1})

    with guarded_client(LOOPBACK, max_connections=2) as client:
        with client.stream("GET", url) as first, client.stream("GET", url) as second:
            with pytest.raises(httpx.PoolTimeout):
                client.get(url, timeout=httpx.Timeout(5, pool=0.2))
            first.read()
            second.read()
        assert client.get(url).status_code == 200  # the held connections were returned


def test_the_client_applies_the_timeout_it_was_given() -> None:
    with guarded_client(LOOPBACK, timeout=0.3) as client:
        assert client.timeout == httpx.Timeout(0.3)


def test_a_non_http_url_and_an_unresolvable_name_fail_saying_why(monkeypatch) -> None:
    def no_such_name(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(metrics.egress.socket, "getaddrinfo", no_such_name)
    with guarded_client(EgressPolicy()) as client:
        with pytest.raises(httpx.UnsupportedProtocol, match=r"^the URL must use http or https$"):
            client.get("ftp://files.example.com/report.csv")
        with pytest.raises(httpx.ConnectError, match=r"^name resolution failed \(gaierror\)$"):
            client.get("http://nowhere.example/")
