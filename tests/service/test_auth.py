"""Access tokens and the per-key rate limit."""

from __future__ import annotations

import pytest

from meshsmith.errors import AuthenticationError, RateLimitError, TokenExpiredError
from meshsmith.service.auth import Authenticator, issue_token, token_key_id
from meshsmith.service.settings import Settings
from meshsmith.service.store import Store


def test_access_token_carries_its_key_and_expires() -> None:
    settings = Settings(secret_key="k" * 40, access_token_ttl_s=60)
    token, ttl = issue_token(settings, "key_abc", now=1000)
    assert ttl == 60 and token.startswith("mst_")
    assert token_key_id(settings, token, now=1059) == "key_abc"
    with pytest.raises(TokenExpiredError) as err:
        token_key_id(settings, token, now=1061)
    assert err.value.code == 10010002


def test_token_signed_with_another_secret_or_edited_is_refused_with_10010001() -> None:
    token, _ = issue_token(Settings(secret_key="a" * 40), "key_abc", now=1000)
    with pytest.raises(AuthenticationError) as err:
        token_key_id(Settings(secret_key="b" * 40), token, now=1000)
    assert err.value.code == 10010001
    with pytest.raises(AuthenticationError):
        token_key_id(Settings(secret_key="a" * 40), token.replace("key_abc", "key_xyz"), now=1)


def test_rate_limit_refuses_requests_beyond_the_keys_budget(store: Store) -> None:
    _, raw = store.create_key("a", 0, rate_limit_per_min=3)
    auth = Authenticator(store, store.settings)
    found = auth.key_for(f"Bearer {raw}")
    for _ in range(3):
        auth.check_rate(found)
    with pytest.raises(RateLimitError) as err:
        auth.check_rate(found)
    assert err.value.code == 10040003 and err.value.http_status == 429


def test_missing_or_unknown_credentials_are_refused(store: Store) -> None:
    auth = Authenticator(store, store.settings)
    for header in (None, "Basic abc", "Bearer ", "Bearer tsk_unknown", "Bearer hello"):
        with pytest.raises(AuthenticationError):
            auth.key_for(header)
