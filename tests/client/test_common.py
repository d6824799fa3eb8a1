"""The pure parts the two clients share: event decoding, Retry-After, download plans."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from meshsmith.client import RetryPolicy, Task
from meshsmith.client._common import SseDecoder, download_plan, retry_after


def test_sse_decoder_joins_data_lines_and_skips_keep_alive_comments() -> None:
    decoder = SseDecoder()
    lines = [": keep-alive", "", "event: progress", "data: {\"a\":", "data: 1}", "",
             "data: x", ""]
    events = [e for e in map(decoder.feed, lines) if e is not None]
    assert events == [("progress", "{\"a\":\n1}"), ("message", "x")]


def test_retry_after_reads_seconds_and_http_dates() -> None:
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert retry_after(httpx.Response(429, headers={"Retry-After": "2.5"})) == 2.5
    assert retry_after(httpx.Response(429, headers={"Retry-After": later})) == pytest.approx(
        30, abs=2)
    assert retry_after(httpx.Response(429)) is None


def test_retry_policy_waits_at_least_retry_after_and_gives_up_on_a_long_one() -> None:
    policy = RetryPolicy(retries=2, backoff=0.01, max_retry_after=10)
    assert policy.delay(0, httpx.Response(503, headers={"Retry-After": "3"})) == 3
    assert policy.delay(0, httpx.Response(503, headers={"Retry-After": "60"})) is None
    assert policy.delay(2, None) is None


def _task(url: str = "http://h/v1/files/t/") -> Task:
    files = ["model.obj", "model.mtl", "base_color.png", "model.glb", "model_cover.png"]
    return Task.from_json({"task_id": "t", "status": "success", "outputs": {
        "model": {"obj": url + "model.obj", "glb": url + "model.glb"},
        "cover": url + "model_cover.png", "files": {n: url + n for n in files}}})


def test_download_plan_adds_an_objs_files_but_not_other_models_or_the_cover() -> None:
    assert [n for n, _ in download_plan(_task(), ["obj"])] == [
        "model.obj", "model.mtl", "base_color.png"]
    assert [n for n, _ in download_plan(_task(), ["glb"])] == ["model.glb"]
    assert [n for n, _ in download_plan(_task(), None)][:2] == ["model.obj", "model.glb"]
