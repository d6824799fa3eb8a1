"""Webhook signatures: the documented scheme, checked both ways."""

from __future__ import annotations

import hashlib
import hmac

from meshsmith.service.webhooks import sign, verify


def test_signature_is_hmac_sha256_of_timestamp_dot_body_as_documented() -> None:
    body = b'{"task_id":"t1","status":"success"}'
    expected = hmac.new(b"whsec_x", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("whsec_x", body, 1700000000) == f"t=1700000000,v1={expected}"


def test_verify_accepts_a_fresh_signature_and_rejects_tampering_or_age() -> None:
    body = b'{"a":1}'
    header = sign("s3cret", body, 1000)
    assert verify("s3cret", body, header, now=1010)
    assert not verify("s3cret", b'{"a":2}', header, now=1010)
    assert not verify("other", body, header, now=1010)
    assert not verify("s3cret", body, header, now=1000 + 301)
    assert not verify("s3cret", body, "garbage", now=1000)
