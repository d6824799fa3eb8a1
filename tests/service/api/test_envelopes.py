"""The one place errors become responses: each dialect's envelope, even for a crash."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from meshsmith.service.api.envelopes import DialectMiddleware


async def _crash(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("a bug")


def _call(path: str) -> tuple[int, Any]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
    asyncio.run(DialectMiddleware(_crash)(scope, receive, send))
    return sent[0]["status"], json.loads(sent[1]["body"])


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/tasks", {"error": {"code": 10090001, "message": "internal error (RuntimeError)"}}),
    ("/v2/openapi/task", {"code": 1000, "message": "internal error (RuntimeError)",
                          "suggestion": "Meshsmith error 10090001."}),
    ("/open-api/v1/query-task", {"code": 10090001, "data": None,
                                 "msg": "internal error (RuntimeError)"})])
def test_a_crash_answers_500_in_the_dialects_envelope(path: str, body: dict[str, Any]) -> None:
    assert _call(path) == (500, body)


def test_a_crash_under_spark_3d_uses_its_generation_error_code() -> None:
    status, body = _call("/v1/3d/generations")
    assert status == 500 and body["error"]["code"] == "003020095"
