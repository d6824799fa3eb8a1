"""Fetch an image reference (an http(s) URL or a ``data:image/...;base64,`` URI) safely.

URLs are guarded against server-side request forgery: the host is resolved once with
``socket.getaddrinfo`` and refused when any resolved address is loopback, private,
link-local, multicast, reserved, unspecified, shared (100.64/10) or a cloud metadata
address, unless :attr:`FetchPolicy.allow` names the host or the address. The connection
then goes to the exact address that was vetted (the URL carries the IP; the request keeps
the original ``Host`` header and TLS server name), so DNS rebinding cannot swap it.
Redirects are followed by hand and every hop is vetted again. Bodies are streamed with a
byte budget and must start with PNG, JPEG, WebP or BMP magic bytes; ``Content-Type`` is
never trusted. The returned bytes are not decoded.
"""

from __future__ import annotations

import base64
import ipaddress
import socket
from dataclasses import dataclass

import httpx

from meshsmith.errors import (
    BlockedAddressError,
    FetchError,
    ImageFileTooLargeError,
    InvalidDataUriError,
    NotAnImageError,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

USER_AGENT = "meshsmith-fetch/0.1"
_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DATA_MEDIA_TYPES = frozenset({"image/png", "image/jpeg", "image/jpg", "image/webp", "image/bmp"})
_METADATA_HOSTS = frozenset({"metadata.google.internal"})
_METADATA_IPS = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_SHARED_NET = ipaddress.ip_network("100.64.0.0/10")
_NAT64_NET = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for one fetch.

    ``max_bytes`` bounds the decoded/downloaded size in bytes; timeouts are in seconds;
    ``allow`` lists hostnames, IPs or CIDRs that bypass the address block.
    """

    max_bytes: int = 20_000_000
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 15.0
    max_redirects: int = 3
    allow: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Target:
    """One vetted hop: the URL as given and the address the connection is pinned to."""

    url: httpx.URL
    host: str
    ip: IPAddress

    @property
    def pinned_url(self) -> httpx.URL:
        return self.url.copy_with(host=str(self.ip))


def fetch_image_bytes(ref: str, policy: FetchPolicy) -> bytes:
    """http(s) URL or data:image/<fmt>;base64, URI -> raw image bytes (not decoded).

    Raises ``InvalidDataUriError``, ``FetchError``, ``BlockedAddressError``,
    ``ImageFileTooLargeError`` or ``NotAnImageError``.
    """
    if ref[:5].lower() == "data:":
        return _decode_data_uri(ref, policy.max_bytes)
    return _fetch_url(ref, policy)


# --- data: URIs -------------------------------------------------------------------------


def _decode_data_uri(ref: str, max_bytes: int) -> bytes:
    header, comma, payload = ref[5:].partition(",")
    params = [p.strip() for p in header.lower().split(";")]
    if not comma or len(params) < 2 or params[-1] != "base64":
        raise InvalidDataUriError("data URI must look like data:image/<format>;base64,<payload>")
    if params[0] not in _DATA_MEDIA_TYPES:
        allowed = ", ".join(sorted(_DATA_MEDIA_TYPES))
        raise InvalidDataUriError(f"data URI media type {params[0]!r} is not one of {allowed}")
    if len(payload) > (max_bytes + 2) // 3 * 4:
        raise _too_large(max_bytes)
    try:
        data = base64.b64decode(payload, validate=True)
    except ValueError as exc:  # binascii.Error, or non-ASCII text
        raise InvalidDataUriError(f"data URI payload is not valid base64: {exc}") from exc
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    _sniff(data, claimed=params[0])
    return data


# --- URL validation and the address guard -----------------------------------------------


def _parse_url(ref: str) -> httpx.URL:
    try:
        url = httpx.URL(ref)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError(f"not a valid URL: {exc}") from exc
    if url.scheme not in _SCHEMES:
        shown = url.scheme or "none"
        raise FetchError(f"URL scheme {shown!r} is not allowed; use http or https")
    if not url.raw_host:
        raise FetchError("URL has no host")
    return url


def _vet(url: httpx.URL, policy: FetchPolicy) -> _Target:
    """Resolve ``url``'s host once and check every address; pin the first one."""
    host = url.raw_host.decode("ascii")
    names, networks = _parse_allow(policy.allow)
    host_allowed = host.rstrip(".").lower() in names
    if host.rstrip(".").lower() in _METADATA_HOSTS and not host_allowed:
        raise BlockedAddressError(f"URL host {host!r} is a cloud metadata service")
    ips = _resolve(host, url.port or _DEFAULT_PORTS[url.scheme])
    for ip in ips:
        if not host_allowed and _is_blocked(ip) and not any(ip in n for n in networks):
            raise BlockedAddressError(
                f"URL host {host!r} resolves to a non-public address ({ip})"
            )
    return _Target(url=url, host=host, ip=ips[0])


def _parse_allow(allow: tuple[str, ...]) -> tuple[frozenset[str], list[IPNetwork]]:
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in allow:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            names.add(entry.strip().rstrip(".").lower())
    return frozenset(names), networks


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"cannot resolve URL host {host!r}: {exc}") from exc
    ips = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not ips:
        raise FetchError(f"URL host {host!r} has no addresses")
    return ips


def _is_blocked(ip: IPAddress) -> bool:
    """True for any address a fetch must not reach without an explicit allow entry."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64_NET:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and _is_blocked(embedded):
            return True
    return (
        ip in _METADATA_IPS
        or ip in _SHARED_NET
        or ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


# --- HTTP -------------------------------------------------------------------------------


def _fetch_url(ref: str, policy: FetchPolicy) -> bytes:
    url = _parse_url(ref)
    with _client(policy) as client:
        for _ in range(policy.max_redirects + 1):
            result = _get(client, _vet(url, policy), policy)
            if isinstance(result, bytes):
                return result
            url = result
    raise FetchError(f"image URL redirected more than {policy.max_redirects} times")


def _client(policy: FetchPolicy) -> httpx.Client:
    timeout = httpx.Timeout(
        connect=policy.connect_timeout_s,
        read=policy.read_timeout_s,
        write=policy.read_timeout_s,
        pool=policy.connect_timeout_s,
    )
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", "Accept": "image/*"}
    # trust_env=False: an environment proxy would bypass the pinned address.
    return httpx.Client(
        timeout=timeout, follow_redirects=False, verify=True, trust_env=False, headers=headers
    )


def _get(client: httpx.Client, target: _Target, policy: FetchPolicy) -> bytes | httpx.URL:
    """One GET to the pinned address: the body, or the next URL when redirected."""
    try:
        with client.stream(
            "GET",
            target.pinned_url,
            headers={"Host": target.url.netloc.decode("ascii")},
            extensions={"sni_hostname": target.host},
        ) as response:
            return _handle(response, target.url, policy.max_bytes)
    except httpx.TimeoutException as exc:
        raise FetchError(f"timed out fetching image from {target.host!r}") from exc
    except (httpx.HTTPError, httpx.StreamError, httpx.InvalidURL) as exc:
        raise FetchError(f"could not fetch image from {target.host!r}: {exc}") from exc


def _handle(response: httpx.Response, url: httpx.URL, max_bytes: int) -> bytes | httpx.URL:
    status = response.status_code
    if status in _REDIRECT_STATUSES:
        location = response.headers.get("location")
        if not location:
            raise FetchError(f"image URL answered HTTP {status} without a Location header")
        return _parse_url(str(url.join(location)))
    if not 200 <= status < 300:
        raise FetchError(f"image URL answered HTTP {status} {response.reason_phrase}".rstrip())
    _check_content_length(response, max_bytes)
    data = _read_limited(response, max_bytes)
    _sniff(data, claimed=response.headers.get("content-type", "no Content-Type"))
    return data


def _check_content_length(response: httpx.Response, max_bytes: int) -> None:
    declared = response.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes, f" (Content-Length says {int(declared)})")


def _read_limited(response: httpx.Response, max_bytes: int) -> bytes:
    """The raw body; abort as soon as more than ``max_bytes`` have arrived."""
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_raw():
        total += len(chunk)
        if total > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


# --- shared -----------------------------------------------------------------------------


def _sniff(data: bytes, claimed: str) -> None:
    """Raise ``NotAnImageError`` unless ``data`` starts with PNG, JPEG, WebP or BMP magic."""
    if (
        data.startswith(b"\x89PNG\r\n\x1a\n")
        or data.startswith(b"\xff\xd8\xff")
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
        or data.startswith(b"BM")
    ):
        return
    raise NotAnImageError(
        f"fetched content is not a PNG, JPEG, WebP or BMP image (it claimed to be {claimed!r})"
    )


def _too_large(max_bytes: int, detail: str = "") -> ImageFileTooLargeError:
    return ImageFileTooLargeError(f"image is larger than the {max_bytes}-byte limit{detail}")


def post_pinned(url: str, body: bytes, headers: dict[str, str], policy: FetchPolicy) -> int:
    """POST ``body`` to ``url`` under the same address rules as image fetches (no redirects
    followed); returns the HTTP status. Used for webhooks. Raises the fetch errors."""
    target = _vet(_parse_url(url), policy)
    try:
        with _client(policy) as client:
            response = client.post(
                target.pinned_url,
                content=body,
                headers={**headers, "Host": target.url.netloc.decode("ascii")},
                extensions={"sni_hostname": target.host},
            )
    except httpx.TimeoutException as exc:
        raise FetchError(f"timed out posting to {target.host!r}") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"could not post to {target.host!r}: {exc}") from exc
    return response.status_code


def check_url(url: str, policy: FetchPolicy) -> None:
    """Refuse ``url`` now if its scheme or any address it resolves to is not allowed."""
    _vet(_parse_url(url), policy)
