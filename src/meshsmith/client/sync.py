"""The synchronous client, :class:`Client`, on ``httpx.Client``."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from itertools import count
from pathlib import Path
from typing import Any

import httpx

from meshsmith.client import _common as c
from meshsmith.client.errors import AuthError, ForbiddenError, TaskFailedError
from meshsmith.client.models import Balance, Task, TaskPage, TaskProgress, Upload
from meshsmith.errors import MeshsmithError

log = logging.getLogger("meshsmith.client")
ProgressCallback = Callable[[TaskProgress], None]


class StreamUnavailable(Exception):
    """The event stream could not be read to its end; :meth:`Client.wait` polls instead."""


class Client:
    """The native API (``/v1``) of a Meshsmith server. ``retry`` governs retries of 429s,
    5xx answers and connection errors (see :class:`~meshsmith.client.RetryPolicy`);
    ``sse=False`` makes :meth:`wait` poll every ``poll_interval`` seconds."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 60.0,
                 retry: c.RetryPolicy | None = None, sse: bool = True,
                 poll_interval: float = 1.0) -> None:
        self.base_url, self.retry = base_url.rstrip("/"), retry or c.RetryPolicy()
        self.sse, self.poll_interval = sse, poll_interval
        self._auth = {"Authorization": f"Bearer {api_key}"}
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport -------------------------------------------------------------------------

    def _send(self, method: str, url: str, *, idempotent: bool, stream: bool = False,
              auth: bool = True, **kwargs: Any) -> httpx.Response:
        """Send with retries; a success (read unless ``stream``) or the typed error."""
        request = self._http.build_request(method, url, headers=self._auth if auth else None,
                                           **kwargs)
        for attempt in count():
            try:
                response = self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                self._pause(attempt, idempotent, None, exc)
                continue
            if response.is_success:
                return response if stream else self._read(response)
            self._read(response).close()
            self._pause(attempt, idempotent, response, None)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _read(response: httpx.Response) -> httpx.Response:
        try:
            response.read()
        finally:
            response.close()
        return response

    def _pause(self, attempt: int, idempotent: bool, response: httpx.Response | None,
               exc: httpx.TransportError | None) -> None:
        """Sleep before the next try, or raise the final error when none is allowed."""
        time.sleep(c.next_delay(self.retry, self.base_url, attempt, idempotent, response, exc))

    def _json(self, method: str, url: str, *, idempotent: bool, **kw: Any) -> Any:
        response = self._send(method, url, idempotent=idempotent, **kw)
        return c.parse_json(response, url)

    # --- the API ---------------------------------------------------------------------------

    def upload(self, image: str | Path | bytes, filename: str = "image") -> Upload:
        """Upload one image file (or its bytes). Retried like a GET: a repeated upload
        costs nothing and at worst leaves an unused upload on the server."""
        data = image if isinstance(image, bytes) else Path(image).read_bytes()
        name = filename if isinstance(image, bytes) else Path(image).name
        body = self._json("POST", "/v1/uploads", idempotent=True,
                          files={"file": (name, data, "application/octet-stream")})
        return Upload(body["file_token"], body["width"], body["height"], body["format"])

    def create_task(self, views: Mapping[str, str], **options: Any) -> Task:
        """Create a task from view refs (file tokens, URLs or data URIs) and the native
        request fields (``resolution``, ``faces``, ``format``, ...). One idempotency key per
        call makes its retries safe."""
        body = c.task_body(views, options)
        return Task.from_json(self._json("POST", "/v1/tasks", idempotent=True, json=body))

    def get_task(self, task: Task | str) -> Task:
        """The task's current state (fresh download links when it succeeded)."""
        return Task.from_json(self._json("GET", f"/v1/tasks/{c.task_id(task)}",
                                         idempotent=True))

    def list_tasks(self, status: str | None = None, limit: int = 20, offset: int = 0
                   ) -> TaskPage:
        """A page of this key's tasks, newest first, optionally of one status."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status:
            params["status"] = status
        body = self._json("GET", "/v1/tasks", idempotent=True, params=params)
        return TaskPage([Task.from_json(t) for t in body["items"]], body["total"],
                        body["limit"], body["offset"])

    def cancel(self, task: Task | str) -> Task:
        """Cancel a queued or running task (its credits are released). Retried only when
        the server surely did nothing (429, no connection)."""
        return Task.from_json(self._json("POST", f"/v1/tasks/{c.task_id(task)}/cancel",
                                         idempotent=False))

    def balance(self) -> Balance:
        """The key's credits."""
        body = self._json("GET", "/v1/balance", idempotent=True)
        return Balance(body["balance"], body["frozen"], body["spent"])

    # --- waiting ---------------------------------------------------------------------------

    def wait(self, task: Task | str, on_progress: ProgressCallback | None = None, *,
             timeout: float | None = None, sse: bool | None = None) -> Task:
        """Block until the task is done and return it. Follows the event stream
        (``/events``) and falls back to polling when the stream is unavailable or breaks;
        ``on_progress`` gets each change of status, stage or progress."""
        deadline = None if timeout is None else time.monotonic() + timeout
        tid = c.task_id(task)
        if self.sse if sse is None else sse:
            try:
                return self._wait_events(tid, on_progress, deadline)
            except StreamUnavailable as exc:
                log.info("event stream of %s unavailable (%s); polling", tid, exc)
        return self._wait_poll(tid, on_progress, deadline)

    def _wait_events(self, tid: str, on_progress: ProgressCallback | None,
                     deadline: float | None) -> Task:
        for event, data in self._events(tid):
            if event == "done":
                return Task.from_json(data)
            if event == "progress" and on_progress is not None:
                on_progress(TaskProgress(data["status"], data.get("stage"), data["progress"]))
            _check_deadline(tid, deadline)
        raise StreamUnavailable("the stream ended before its done event")

    def _events(self, tid: str) -> Iterator[tuple[str, dict[str, Any]]]:
        try:
            response = self._send("GET", f"/v1/tasks/{tid}/events", idempotent=True,
                                  stream=True, timeout=httpx.Timeout(60, connect=10))
        except (AuthError, ForbiddenError):
            raise
        except (MeshsmithError, httpx.HTTPError) as exc:
            raise StreamUnavailable(str(exc)) from exc
        try:
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                raise StreamUnavailable(f"not an event stream: {response.headers}")
            yield from _decode(response.iter_lines(), tid)
        finally:
            response.close()

    def _wait_poll(self, tid: str, on_progress: ProgressCallback | None,
                   deadline: float | None) -> Task:
        last = None
        while True:
            task = self.get_task(tid)
            if on_progress is not None and task.progress_report() != last:
                last = task.progress_report()
                on_progress(last)
            if task.done:
                return task
            _check_deadline(tid, deadline)
            time.sleep(self.poll_interval)

    # --- files -----------------------------------------------------------------------------

    def download(self, task: Task | str, directory: str | Path = ".",
                 formats: Sequence[str] | None = None) -> list[Path]:
        """Download a successful task's model in ``formats`` (all when ``None``) and, for a
        format that is not self-contained (OBJ, glTF, USD), its other files, into
        ``directory``; returns the paths written. Links come from the task (fetched again
        when ``task`` is an ID or has no outputs)."""
        if not isinstance(task, Task) or not task.outputs:
            task = self.get_task(task)
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        return [self._fetch(url, folder / name) for name, url in c.download_plan(task, formats)]

    def _fetch(self, url: str, path: Path) -> Path:
        """Stream one signed link to ``path`` (no key is sent: the link is the credential)."""
        for attempt in count():
            try:
                response = self._send("GET", url, idempotent=True, stream=True, auth=False)
                part = path.with_name(path.name + ".part")
                try:
                    with part.open("wb") as f:
                        for chunk in response.iter_bytes():
                            f.write(chunk)
                finally:
                    response.close()
                return part.replace(path)
            except httpx.TransportError as exc:  # the body broke off: fetch it again
                self._pause(attempt, True, None, exc)
        raise AssertionError("unreachable")  # pragma: no cover

    # --- all in one ------------------------------------------------------------------------

    def generate(self, images: Sequence[str | Path] | Mapping[str, str | Path],
                 out_dir: str | Path = ".", formats: Sequence[str] = ("glb",), *,
                 views: Sequence[str] | None = None,
                 on_progress: ProgressCallback | None = None, **options: Any) -> Task:
        """Upload the photos, create the task, wait and download its files into
        ``out_dir``: the finished task, with ``files`` set. ``images`` fill front, back,
        left, right (or ``views``), or map slots to files. A failed or cancelled task
        raises :class:`TaskFailedError`."""
        slots = c.image_slots(images, views)
        refs = {slot: self.upload(path).file_token for slot, path in slots.items()}
        task = self.wait(self.create_task(refs, format=list(formats), **options), on_progress)
        if task.status != "success":
            raise TaskFailedError(task)
        return replace(task, files=tuple(self.download(task, out_dir, formats)))


def _decode(lines: Iterator[str], tid: str) -> Iterator[tuple[str, dict[str, Any]]]:
    decoder = c.SseDecoder()
    try:
        for line in lines:
            if line.startswith(":"):  # a keep-alive: lets wait() check its deadline
                yield "comment", {}
            event = decoder.feed(line)
            if event is not None:
                yield event[0], json.loads(event[1])
    except httpx.TransportError as exc:
        raise StreamUnavailable(f"the stream of {tid} broke: {exc!r}") from exc


def _check_deadline(tid: str, deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise TimeoutError(f"task {tid} is not done yet (wait timed out)")
