"""The asynchronous client, :class:`AsyncClient`, on ``httpx.AsyncClient``: the same methods
as :class:`~meshsmith.client.Client`, awaited."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import replace
from itertools import count
from pathlib import Path
from typing import Any

import httpx

from meshsmith.client import _common as c
from meshsmith.client.errors import AuthError, ForbiddenError, TaskFailedError
from meshsmith.client.models import Balance, Task, TaskPage, TaskProgress, Upload
from meshsmith.client.sync import ProgressCallback, StreamUnavailable, _check_deadline
from meshsmith.errors import MeshsmithError

log = logging.getLogger("meshsmith.client")


class AsyncClient:
    """The native API (``/v1``), asynchronously; arguments as :class:`Client`'s."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 60.0,
                 retry: c.RetryPolicy | None = None, sse: bool = True,
                 poll_interval: float = 1.0) -> None:
        self.base_url, self.retry = base_url.rstrip("/"), retry or c.RetryPolicy()
        self.sse, self.poll_interval = sse, poll_interval
        self._auth = {"Authorization": f"Bearer {api_key}"}
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- transport -------------------------------------------------------------------------

    async def _send(self, method: str, url: str, *, idempotent: bool, stream: bool = False,
                    auth: bool = True, **kwargs: Any) -> httpx.Response:
        """Send with retries; a success (read unless ``stream``) or the typed error."""
        request = self._http.build_request(method, url, headers=self._auth if auth else None,
                                           **kwargs)
        for attempt in count():
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                await self._pause(attempt, idempotent, None, exc)
                continue
            if response.is_success:
                return response if stream else await self._read(response)
            await (await self._read(response)).aclose()
            await self._pause(attempt, idempotent, response, None)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    async def _read(response: httpx.Response) -> httpx.Response:
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def _pause(self, attempt: int, idempotent: bool, response: httpx.Response | None,
                     exc: httpx.TransportError | None) -> None:
        """Sleep before the next try, or raise the final error when none is allowed."""
        await asyncio.sleep(c.next_delay(self.retry, self.base_url, attempt, idempotent,
                                         response, exc))

    async def _json(self, method: str, url: str, *, idempotent: bool, **kw: Any) -> Any:
        response = await self._send(method, url, idempotent=idempotent, **kw)
        return c.parse_json(response, url)

    # --- the API ---------------------------------------------------------------------------

    async def upload(self, image: str | Path | bytes, filename: str = "image") -> Upload:
        """Upload one image file (or its bytes); retried like a GET (see Client.upload)."""
        data = image if isinstance(image, bytes) else Path(image).read_bytes()
        name = filename if isinstance(image, bytes) else Path(image).name
        body = await self._json("POST", "/v1/uploads", idempotent=True,
                                files={"file": (name, data, "application/octet-stream")})
        return Upload(body["file_token"], body["width"], body["height"], body["format"])

    async def create_task(self, views: Mapping[str, str], **options: Any) -> Task:
        """Create a task; one idempotency key per call makes its retries safe."""
        body = c.task_body(views, options)
        return Task.from_json(await self._json("POST", "/v1/tasks", idempotent=True,
                                               json=body))

    async def get_task(self, task: Task | str) -> Task:
        """The task's current state."""
        return Task.from_json(await self._json("GET", f"/v1/tasks/{c.task_id(task)}",
                                               idempotent=True))

    async def list_tasks(self, status: str | None = None, limit: int = 20, offset: int = 0
                         ) -> TaskPage:
        """A page of this key's tasks, newest first."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status:
            params["status"] = status
        body = await self._json("GET", "/v1/tasks", idempotent=True, params=params)
        return TaskPage([Task.from_json(t) for t in body["items"]], body["total"],
                        body["limit"], body["offset"])

    async def cancel(self, task: Task | str) -> Task:
        """Cancel a queued or running task; retried only when the server did nothing."""
        return Task.from_json(await self._json(
            "POST", f"/v1/tasks/{c.task_id(task)}/cancel", idempotent=False))

    async def balance(self) -> Balance:
        """The key's credits."""
        body = await self._json("GET", "/v1/balance", idempotent=True)
        return Balance(body["balance"], body["frozen"], body["spent"])

    # --- waiting ---------------------------------------------------------------------------

    async def wait(self, task: Task | str, on_progress: ProgressCallback | None = None, *,
                   timeout: float | None = None, sse: bool | None = None) -> Task:
        """Until the task is done: the event stream, or polling when it is unavailable."""
        deadline = None if timeout is None else time.monotonic() + timeout
        tid = c.task_id(task)
        if self.sse if sse is None else sse:
            try:
                return await self._wait_events(tid, on_progress, deadline)
            except StreamUnavailable as exc:
                log.info("event stream of %s unavailable (%s); polling", tid, exc)
        return await self._wait_poll(tid, on_progress, deadline)

    async def _wait_events(self, tid: str, on_progress: ProgressCallback | None,
                           deadline: float | None) -> Task:
        async with aclosing(self._events(tid)) as events:  # closes the stream on return
            async for event, data in events:
                if event == "done":
                    return Task.from_json(data)
                if event == "progress" and on_progress is not None:
                    on_progress(TaskProgress(data["status"], data.get("stage"),
                                             data["progress"]))
                _check_deadline(tid, deadline)
        raise StreamUnavailable("the stream ended before its done event")

    async def _events(self, tid: str) -> AsyncGenerator[tuple[str, dict[str, Any]], None]:
        try:
            response = await self._send("GET", f"/v1/tasks/{tid}/events", idempotent=True,
                                        stream=True, timeout=httpx.Timeout(60, connect=10))
        except (AuthError, ForbiddenError):
            raise
        except (MeshsmithError, httpx.HTTPError) as exc:
            raise StreamUnavailable(str(exc)) from exc
        try:
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                raise StreamUnavailable(f"not an event stream: {response.headers}")
            decoder = c.SseDecoder()
            async for line in response.aiter_lines():
                if line.startswith(":"):  # a keep-alive: lets wait() check its deadline
                    yield "comment", {}
                event = decoder.feed(line)
                if event is not None:
                    yield event[0], json.loads(event[1])
        except httpx.TransportError as exc:
            raise StreamUnavailable(f"the stream of {tid} broke: {exc!r}") from exc
        finally:
            await response.aclose()

    async def _wait_poll(self, tid: str, on_progress: ProgressCallback | None,
                         deadline: float | None) -> Task:
        last = None
        while True:
            task = await self.get_task(tid)
            if on_progress is not None and task.progress_report() != last:
                last = task.progress_report()
                on_progress(last)
            if task.done:
                return task
            _check_deadline(tid, deadline)
            await asyncio.sleep(self.poll_interval)

    # --- files -----------------------------------------------------------------------------

    async def download(self, task: Task | str, directory: str | Path = ".",
                       formats: Sequence[str] | None = None) -> list[Path]:
        """As :meth:`Client.download`."""
        if not isinstance(task, Task) or not task.outputs:
            task = await self.get_task(task)
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        return [await self._fetch(url, folder / name)
                for name, url in c.download_plan(task, formats)]

    async def _fetch(self, url: str, path: Path) -> Path:
        for attempt in count():
            try:
                response = await self._send("GET", url, idempotent=True, stream=True,
                                            auth=False)
                part = path.with_name(path.name + ".part")
                try:
                    with part.open("wb") as f:
                        async for chunk in response.aiter_bytes():
                            f.write(chunk)
                finally:
                    await response.aclose()
                return part.replace(path)
            except httpx.TransportError as exc:
                await self._pause(attempt, True, None, exc)
        raise AssertionError("unreachable")  # pragma: no cover

    # --- all in one ------------------------------------------------------------------------

    async def generate(self, images: Sequence[str | Path] | Mapping[str, str | Path],
                       out_dir: str | Path = ".", formats: Sequence[str] = ("glb",), *,
                       views: Sequence[str] | None = None,
                       on_progress: ProgressCallback | None = None, **options: Any) -> Task:
        """As :meth:`Client.generate`."""
        slots = c.image_slots(images, views)
        refs = {slot: (await self.upload(path)).file_token for slot, path in slots.items()}
        created = await self.create_task(refs, format=list(formats), **options)
        task = await self.wait(created, on_progress)
        if task.status != "success":
            raise TaskFailedError(task)
        return replace(task, files=tuple(await self.download(task, out_dir, formats)))
