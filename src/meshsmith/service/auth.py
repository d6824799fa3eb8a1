"""Who is asking: API keys, short-lived access tokens, and the per-key rate limit.

A request carries ``Authorization: Bearer <key>`` (``tsk_...``) or ``Bearer <token>``
(``mst_...``, from ``POST /v1/auth/token``, for dialects that exchange a key for a token).
Tokens are stateless: ``mst_<key id>.<expiry>.<HMAC-SHA256 under the server secret>``.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass

from meshsmith.errors import AuthenticationError, RateLimitError, TokenExpiredError
from meshsmith.service.models import ApiKey
from meshsmith.service.settings import Settings
from meshsmith.service.store import KEY_PREFIX, Store, hash_key

TOKEN_PREFIX = "mst_"
#: How long a key lookup is trusted before the database is asked again (seconds).
KEY_CACHE_S = 5.0


def issue_token(settings: Settings, key_id: str, now: float | None = None) -> tuple[str, int]:
    """A new access token for ``key_id`` and its lifetime in seconds."""
    expires = int((now if now is not None else time.time()) + settings.access_token_ttl_s)
    body = f"{key_id}.{expires}"
    return f"{TOKEN_PREFIX}{body}.{_mac(settings.secret_key, body)}", settings.access_token_ttl_s


def token_key_id(settings: Settings, token: str, now: float | None = None) -> str:
    """The key ID inside a valid, unexpired token; raises the authentication errors."""
    try:
        key_id, expires, mac = token.removeprefix(TOKEN_PREFIX).rsplit(".", 2)
        expiry = int(expires)
    except ValueError:
        raise AuthenticationError("malformed access token") from None
    if not hmac.compare_digest(mac, _mac(settings.secret_key, f"{key_id}.{expires}")):
        raise AuthenticationError("invalid access token")
    if expiry < (now if now is not None else time.time()):
        raise TokenExpiredError("the access token has expired; exchange the key for a new one")
    return key_id


def _mac(secret: str, body: str) -> str:
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()[:40]


def _bearer(authorization: str | None) -> str | None:
    """The credential of a ``Bearer`` header value, or None when there is none."""
    scheme, _, credential = (authorization or "").partition(" ")
    return credential.strip() or None if scheme.lower() == "bearer" else None


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class Authenticator:
    """Resolves bearer credentials to a key (briefly cached) and applies its rate limit."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self._store, self._settings = store, settings
        self._cache: dict[str, tuple[float, ApiKey]] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def key_for(self, authorization: str | None) -> ApiKey:
        """The key behind an ``Authorization`` header value; raises AuthenticationError."""
        credential = _bearer(authorization)
        if credential is None:
            raise AuthenticationError(
                "missing credentials: send 'Authorization: Bearer <API key>'")
        key = self._cache_hit(credential)
        if key is None:
            key = self._lookup(credential)
            self._cache[hash_key(credential)] = (time.monotonic(), key)
        return key

    def cached(self, authorization: str | None) -> ApiKey | None:
        """The key for this header if it was looked up in the last few seconds, else None
        (a cache miss, not an error: call :meth:`key_for`)."""
        credential = _bearer(authorization)
        return None if credential is None else self._cache_hit(credential)

    def _cache_hit(self, credential: str) -> ApiKey | None:
        hit = self._cache.get(hash_key(credential))
        return hit[1] if hit is not None and time.monotonic() - hit[0] < KEY_CACHE_S else None

    def _lookup(self, credential: str) -> ApiKey:
        if credential.startswith(TOKEN_PREFIX):
            return self._store.get_key(token_key_id(self._settings, credential))
        if not credential.startswith(KEY_PREFIX):
            raise AuthenticationError("invalid API key")
        return self._store.authenticate(credential)

    def check_rate(self, key: ApiKey) -> None:
        """Take one request from the key's token bucket; raises :class:`RateLimitError`."""
        per_min = key.rate_limit_per_min or self._settings.default_rate_limit_per_min
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.setdefault(key.id, _Bucket(float(per_min), now))
            bucket.tokens = min(per_min, bucket.tokens + (now - bucket.stamp) * per_min / 60)
            bucket.stamp = now
            if bucket.tokens < 1:
                raise RateLimitError(f"more than {per_min} requests per minute for this key")
            bucket.tokens -= 1
