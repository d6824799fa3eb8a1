"""Tests for meshsmith.service.fetch: data URIs, the SSRF guard, redirects, limits, sniffing.

Every connection goes to a real HTTP server on 127.0.0.1 started here; an autouse fixture
fails any test that tries to connect elsewhere, and name lookups never leave the process.
"""

from __future__ import annotations

import base64
import io
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PIL import Image

from meshsmith.errors import (
    BlockedAddressError,
    FetchError,
    ImageFileTooLargeError,
    InvalidDataUriError,
    NotAnImageError,
)
from meshsmith.service.fetch import FetchPolicy, fetch_image_bytes

LOCAL = FetchPolicy(allow=("127.0.0.1",))
FAKE_DNS = {
    "localhost": "127.0.0.1",
    "metadata.google.internal": "169.254.169.254",
    "images.example.test": "127.0.0.1",
    "public.example.test": "93.184.216.34",
}


def _image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 60)).save(buffer, format=fmt)
    return buffer.getvalue()


PNG = _image("PNG")
JPEG = _image("JPEG")
WEBP = _image("WEBP")


# --- fixtures: network guard, fake DNS, the local server ---------------------------------


@dataclass
class NetLog:
    connects: list[Any] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)


@pytest.fixture(autouse=True)
def net(monkeypatch: pytest.MonkeyPatch) -> NetLog:
    """Record connects and lookups; refuse any connect not to 127.0.0.1 and any real DNS."""
    log = NetLog()
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        log.connects.append(address)
        if not (isinstance(address, tuple) and address[0] == "127.0.0.1"):
            raise AssertionError(f"test tried to connect to {address!r}")
        real_connect(sock, address)

    def fake_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        log.lookups.append(name)
        if name in FAKE_DNS:
            return real_getaddrinfo(FAKE_DNS[name], port, type=socket.SOCK_STREAM)
        kwargs["flags"] = kwargs.get("flags", 0) | socket.AI_NUMERICHOST
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    return log


class Server:
    """A threaded HTTP server on 127.0.0.1 that records what it was asked."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stop = threading.Event()
        self.huge_finished = False
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,))

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def _make_handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.requests.append((self.path, dict(self.headers.items())))
            route = ROUTES.get(self.path.split("?")[0])
            try:
                if route is None:
                    self.send_error(404)
                else:
                    route(self, server)
            except OSError:
                pass  # the client hung up on purpose (size limit, timeout)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _send(handler: BaseHTTPRequestHandler, body: bytes, ctype: str, length: bool = True) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", ctype)
    if length:
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _redirect(handler: BaseHTTPRequestHandler, location: str) -> None:
    handler.send_response(302)
    handler.send_header("Location", location)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def _huge(handler: BaseHTTPRequestHandler, server: Server) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "image/png")
    handler.end_headers()  # HTTP/1.0 and no Content-Length: the body ends at close
    handler.wfile.write(PNG[:16])
    for _ in range(800):  # 50 MiB if nobody stops us
        if server.stop.is_set():
            return
        handler.wfile.write(b"\0" * 65536)
    server.huge_finished = True


def _declared_huge(handler: BaseHTTPRequestHandler, server: Server) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "image/png")
    handler.send_header("Content-Length", str(10**12))
    handler.end_headers()
    handler.wfile.write(PNG[:16])
    handler.wfile.flush()
    server.stop.wait(5)  # a client that waits for the body would time out instead


def _slow(handler: BaseHTTPRequestHandler, server: Server) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "image/png")
    handler.send_header("Content-Length", str(len(PNG)))
    handler.end_headers()
    handler.wfile.flush()
    if not server.stop.wait(3):
        handler.wfile.write(PNG)


Route = Callable[[BaseHTTPRequestHandler, Server], None]
ROUTES: dict[str, Route] = {
    "/x.png": lambda h, s: _send(h, PNG, "image/png"),
    "/x.jpg": lambda h, s: _send(h, JPEG, "image/jpeg"),
    "/x.webp": lambda h, s: _send(h, WEBP, "image/webp"),
    "/page.png": lambda h, s: _send(h, b"<html><body>hi</body></html>", "image/png"),
    "/no-length.png": lambda h, s: _send(h, PNG, "image/png", length=False),
    "/huge": _huge,
    "/declared-huge": _declared_huge,
    "/slow": _slow,
    "/r/1": lambda h, s: _redirect(h, "/x.png"),
    "/r/2": lambda h, s: _redirect(h, "/r/1"),
    "/r/3": lambda h, s: _redirect(h, f"http://127.0.0.1:{s.port}/r/2"),
    "/r/loop": lambda h, s: _redirect(h, "/r/loop"),
    "/to-private": lambda h, s: _redirect(h, "http://10.1.2.3/x.png"),
    "/to-metadata": lambda h, s: _redirect(h, "http://169.254.169.254/latest/meta-data"),
    "/to-file": lambda h, s: _redirect(h, "file:///etc/passwd"),
}


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    srv.thread.start()
    yield srv
    srv.stop.set()
    srv.httpd.shutdown()
    srv.httpd.server_close()


def _code(excinfo: pytest.ExceptionInfo[Any]) -> int:
    return int(excinfo.value.code)


# --- data: URIs --------------------------------------------------------------------------


def test_data_uri_with_valid_png_returns_the_exact_bytes() -> None:
    ref = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert fetch_image_bytes(ref, FetchPolicy()) == PNG


def test_data_uri_accepts_jpeg_and_webp_media_types() -> None:
    for media, data in (("image/jpeg", JPEG), ("image/jpg", JPEG), ("image/webp", WEBP)):
        ref = f"data:{media};base64," + base64.b64encode(data).decode()
        assert fetch_image_bytes(ref, FetchPolicy()) == data


def test_data_uri_with_bad_base64_raises_invalid_data_uri_10032003() -> None:
    with pytest.raises(InvalidDataUriError) as excinfo:
        fetch_image_bytes("data:image/png;base64,iVBOR*w0KGgo=", FetchPolicy())
    assert _code(excinfo) == 10032003


def test_data_uri_with_text_plain_media_type_raises_10032003() -> None:
    ref = "data:text/plain;base64," + base64.b64encode(b"hello").decode()
    with pytest.raises(InvalidDataUriError, match="text/plain") as excinfo:
        fetch_image_bytes(ref, FetchPolicy())
    assert _code(excinfo) == 10032003


def test_data_uri_without_base64_marker_or_comma_raises_10032003() -> None:
    for ref in ("data:image/png,rawbytes", "data:image/png;base64", "data:;base64,AAAA"):
        with pytest.raises(InvalidDataUriError):
            fetch_image_bytes(ref, FetchPolicy())


def test_data_uri_over_max_bytes_raises_image_file_too_large_10031001() -> None:
    ref = "data:image/png;base64," + base64.b64encode(PNG).decode()
    with pytest.raises(ImageFileTooLargeError) as excinfo:
        fetch_image_bytes(ref, FetchPolicy(max_bytes=len(PNG) - 1))
    assert _code(excinfo) == 10031001


def test_huge_data_uri_is_refused_by_length_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_decode(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("decoded a payload that was too long")

    monkeypatch.setattr(base64, "b64decode", no_decode)
    with pytest.raises(ImageFileTooLargeError):
        fetch_image_bytes("data:image/png;base64," + "A" * 4_000_000, FetchPolicy(max_bytes=1000))


def test_data_uri_whose_payload_is_not_an_image_raises_not_an_image_10031005() -> None:
    ref = "data:image/png;base64," + base64.b64encode(b"<html></html>").decode()
    with pytest.raises(NotAnImageError) as excinfo:
        fetch_image_bytes(ref, FetchPolicy())
    assert _code(excinfo) == 10031005


# --- schemes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref",
    ["file:///etc/passwd", "ftp://127.0.0.1/x.png", "gopher://127.0.0.1:70/_x", "x.png", ""],
)
def test_refuses_non_http_schemes_with_fetch_error_10032002(ref: str, net: NetLog) -> None:
    with pytest.raises(FetchError) as excinfo:
        fetch_image_bytes(ref, LOCAL)
    assert _code(excinfo) == 10032002
    assert net.connects == []


# --- the address guard -------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref",
    [
        "http://10.0.0.1/x.png",
        "http://172.16.5.4/x.png",
        "http://192.168.1.1/x.png",
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00:ec2::254]/latest/meta-data",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://2130706433/",
        "http://017700000001/",
        "http://0x7f.1/",
        "http://127.1/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA.google.internal./",
        "https://10.0.0.1/x.png",
    ],
)
def test_refuses_forbidden_address_with_code_10032001_before_connecting(
    ref: str, net: NetLog
) -> None:
    with pytest.raises(BlockedAddressError) as excinfo:
        fetch_image_bytes(ref, FetchPolicy(allow=("127.0.0.2", "example.org")))
    assert _code(excinfo) == 10032001
    assert net.connects == []


def test_refuses_localhost_url_with_code_10032001_before_connecting(
    server: Server, net: NetLog
) -> None:
    with pytest.raises(BlockedAddressError):
        fetch_image_bytes(server.url("/x.png", host="localhost"), FetchPolicy())
    assert net.connects == []
    assert server.requests == []


def test_refuses_loopback_url_with_code_10032001_before_connecting(
    server: Server, net: NetLog
) -> None:
    with pytest.raises(BlockedAddressError) as excinfo:
        fetch_image_bytes(server.url("/x.png"), FetchPolicy())
    assert _code(excinfo) == 10032001
    assert net.connects == []
    assert server.requests == []
    # the very same URL works once 127.0.0.1 is allowed
    assert fetch_image_bytes(server.url("/x.png"), LOCAL) == PNG
    assert len(server.requests) == 1


def test_refuses_name_when_any_resolved_address_is_private(
    monkeypatch: pytest.MonkeyPatch, net: NetLog
) -> None:
    def two_answers(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        net.lookups.append(str(host))
        public = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))
        private = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))
        return [public, private]

    monkeypatch.setattr(socket, "getaddrinfo", two_answers)
    with pytest.raises(BlockedAddressError, match=r"10\.0\.0\.7"):
        fetch_image_bytes("http://mixed.example.test/x.png", FetchPolicy())
    assert net.connects == []


def test_unresolvable_host_raises_fetch_error_without_connecting(net: NetLog) -> None:
    with pytest.raises(FetchError, match="cannot resolve"):
        fetch_image_bytes("http://no-such-host.example.test/x.png", FetchPolicy())
    assert net.connects == []


def test_allow_entry_may_be_a_cidr_or_a_hostname(server: Server) -> None:
    assert fetch_image_bytes(server.url("/x.png"), FetchPolicy(allow=("127.0.0.0/8",))) == PNG
    by_name = FetchPolicy(allow=("images.example.test",))
    assert fetch_image_bytes(server.url("/x.png", host="images.example.test"), by_name) == PNG


# --- pinning (DNS rebinding) ---------------------------------------------------------------


def test_connects_to_vetted_ip_and_sends_original_host_header(server: Server, net: NetLog) -> None:
    data = fetch_image_bytes(server.url("/x.png", host="images.example.test"), LOCAL)
    assert data == PNG
    path, headers = server.requests[0]
    assert path == "/x.png"
    assert headers["Host"] == f"images.example.test:{server.port}"
    assert headers["User-Agent"] == "meshsmith-fetch/0.1"
    assert net.connects == [("127.0.0.1", server.port)]


def test_rebinding_name_is_resolved_once_and_the_checked_address_is_used(
    server: Server, monkeypatch: pytest.MonkeyPatch, net: NetLog
) -> None:
    answers = iter(["127.0.0.1", "10.0.0.1", "10.0.0.1"])
    real_getaddrinfo = socket.getaddrinfo

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example.test":
            return real_getaddrinfo(next(answers), port, type=socket.SOCK_STREAM)
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    assert fetch_image_bytes(server.url("/x.png", host="rebind.example.test"), LOCAL) == PNG
    assert net.connects == [("127.0.0.1", server.port)]
    assert next(answers) == "10.0.0.1"  # only the first answer was consumed
    assert server.requests[0][1]["Host"] == f"rebind.example.test:{server.port}"


def test_https_sends_original_hostname_as_sni_to_the_vetted_ip(net: NetLog) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    hello: list[bytes] = []

    def capture() -> None:
        conn, _ = listener.accept()
        with conn:
            hello.append(conn.recv(4096))

    thread = threading.Thread(target=capture)
    thread.start()
    try:
        with pytest.raises(FetchError) as excinfo:
            fetch_image_bytes(f"https://images.example.test:{port}/x.png", LOCAL)
    finally:
        thread.join(5)
        listener.close()
    assert _code(excinfo) == 10032002
    assert net.connects == [("127.0.0.1", port)]
    assert hello and hello[0][:1] == b"\x16"  # a TLS handshake record
    assert b"images.example.test" in hello[0]


# --- successful downloads ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [("/x.png", PNG), ("/x.jpg", JPEG), ("/x.webp", WEBP)],
    ids=["png", "jpeg", "webp"],
)
def test_fetches_real_images_from_the_allowed_local_server(
    server: Server, path: str, data: bytes
) -> None:
    assert fetch_image_bytes(server.url(path), LOCAL) == data


def test_fetches_body_without_content_length(server: Server) -> None:
    assert fetch_image_bytes(server.url("/no-length.png"), LOCAL) == PNG


# --- redirects -----------------------------------------------------------------------------


def test_follows_a_redirect_chain_of_max_redirects_hops(server: Server) -> None:
    assert fetch_image_bytes(server.url("/r/3"), LOCAL) == PNG
    assert [path for path, _ in server.requests] == ["/r/3", "/r/2", "/r/1", "/x.png"]


def test_too_many_redirects_raise_fetch_error_10032002(server: Server) -> None:
    policy = FetchPolicy(max_redirects=2, allow=("127.0.0.1",))
    with pytest.raises(FetchError, match="redirected more than 2") as excinfo:
        fetch_image_bytes(server.url("/r/3"), policy)
    assert _code(excinfo) == 10032002
    assert len(server.requests) == 3


def test_redirect_loop_stops_after_max_redirects(server: Server) -> None:
    with pytest.raises(FetchError, match="redirected"):
        fetch_image_bytes(server.url("/r/loop"), LOCAL)
    assert len(server.requests) == LOCAL.max_redirects + 1


@pytest.mark.parametrize("path", ["/to-private", "/to-metadata"])
def test_redirect_to_forbidden_address_is_refused_with_10032001(
    server: Server, net: NetLog, path: str
) -> None:
    with pytest.raises(BlockedAddressError) as excinfo:
        fetch_image_bytes(server.url(path), LOCAL)
    assert _code(excinfo) == 10032001
    assert net.connects == [("127.0.0.1", server.port)]


def test_redirect_to_file_scheme_is_refused_with_fetch_error(server: Server) -> None:
    with pytest.raises(FetchError, match="scheme 'file'"):
        fetch_image_bytes(server.url("/to-file"), LOCAL)


# --- limits, errors and sniffing -------------------------------------------------------------


def test_huge_streamed_body_is_aborted_once_past_max_bytes(server: Server) -> None:
    with pytest.raises(ImageFileTooLargeError) as excinfo:
        fetch_image_bytes(server.url("/huge"), FetchPolicy(max_bytes=200_000, allow=LOCAL.allow))
    assert _code(excinfo) == 10031001
    assert not server.huge_finished


def test_too_large_content_length_is_refused_before_reading_the_body(server: Server) -> None:
    policy = FetchPolicy(max_bytes=1_000_000, read_timeout_s=3.0, allow=LOCAL.allow)
    with pytest.raises(ImageFileTooLargeError, match="Content-Length"):
        fetch_image_bytes(server.url("/declared-huge"), policy)


def test_http_404_raises_fetch_error_naming_the_status(server: Server) -> None:
    with pytest.raises(FetchError, match="404") as excinfo:
        fetch_image_bytes(server.url("/missing.png"), LOCAL)
    assert _code(excinfo) == 10032002


def test_read_timeout_raises_fetch_error_chained_from_httpx(server: Server) -> None:
    policy = FetchPolicy(read_timeout_s=0.3, allow=LOCAL.allow)
    with pytest.raises(FetchError, match="timed out") as excinfo:
        fetch_image_bytes(server.url("/slow"), policy)
    assert type(excinfo.value.__cause__).__module__.startswith("httpx")


def test_connection_refused_raises_fetch_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as spare:
        port = spare.getsockname()[1]
    with pytest.raises(FetchError, match="could not fetch"):
        fetch_image_bytes(f"http://127.0.0.1:{port}/x.png", LOCAL)


def test_html_served_as_image_png_raises_not_an_image_naming_the_claimed_type(
    server: Server,
) -> None:
    with pytest.raises(NotAnImageError, match="image/png") as excinfo:
        fetch_image_bytes(server.url("/page.png"), LOCAL)
    assert _code(excinfo) == 10031005
