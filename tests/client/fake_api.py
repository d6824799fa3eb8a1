"""A scripted stand-in for a Meshsmith server on 127.0.0.1 (http.server in a thread), for
what a real server will not do on demand: answer 503 or 429, or lack the events route."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GLB = b"glTF-fake-model-bytes"


@dataclass
class Script:
    """Answers per path: a list of (status, body, headers) used in order, the last repeated.
    ``requests`` records (method, path, JSON body or None) as they arrive."""

    base: str = ""
    answers: dict[str, list[tuple[int, Any, dict[str, str]]]] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)

    def answer(self, method: str, path: str) -> tuple[int, Any, dict[str, str]]:
        queue = self.answers.get(f"{method} {path}", [(404, "no such route", {})])
        return queue.pop(0) if len(queue) > 1 else queue[0]


def unavailable(n: int) -> list[tuple[int, Any, dict[str, str]]]:
    return [(503, {"error": {"code": 10090001, "message": "busy"}}, {})] * n


class _Handler(BaseHTTPRequestHandler):
    script: Script

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw and self.headers.get("Content-Type") == (
            "application/json") else None
        path = self.path.split("?")[0]
        self.script.requests.append((method, path, body))
        self.script.lengths.append(len(raw))
        status, answer, headers = self.script.answer(method, path)
        data = answer if isinstance(answer, bytes) else (
            answer.encode() if isinstance(answer, str) else json.dumps(answer).encode())
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def fake_api(script: Script) -> Iterator[Script]:
    handler = type("Handler", (_Handler,), {"script": script})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    script.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield script
    finally:
        httpd.shutdown()
        httpd.server_close()


def finished_task(base: str) -> dict[str, Any]:
    url = f"{base}/v1/files/t1/model.glb?expires=1&sig=x"
    return {"task_id": "t1", "status": "success", "stage": None, "progress": 100,
            "cost": 30, "charged": 30, "error": None, "stats": {"faces": 5000},
            "outputs": {"model": {"glb": url}, "textures": {}, "files": {"model.glb": url},
                        "cover": None}}
