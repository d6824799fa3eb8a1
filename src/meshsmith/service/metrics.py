"""Prometheus metrics: HTTP traffic, and task counts by status read at scrape time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meshsmith.service import states
from meshsmith.service.models import Task
from meshsmith.service.queue import TaskQueue
from meshsmith.service.store import Store


class _TaskCollector(Collector):
    def __init__(self, store: Store) -> None:
        self._store = store

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily("meshsmith_tasks", "Tasks by status", labels=["status"])
        with self._store.reading() as session:
            counts = dict(session.execute(select(Task.status, func.count())
                                          .group_by(Task.status)).tuples().all())
        for status in states.STATUSES:
            gauge.add_metric([status], counts.get(status, 0))
        yield gauge


class _QueueCollector(Collector):
    """Queue depth and live workers, read from the queue (the broker) at scrape time."""

    def __init__(self, queue: TaskQueue) -> None:
        self._queue = queue

    def collect(self) -> Iterator[Metric]:
        try:
            stats = self._queue.stats()
        except Exception:  # the broker is down: say so rather than fail the scrape
            yield GaugeMetricFamily("meshsmith_queue_up", "Whether the queue answers", value=0)
            return
        yield GaugeMetricFamily("meshsmith_queue_up", "Whether the queue answers", value=1)
        depth = GaugeMetricFamily("meshsmith_queue_depth", "Task messages waiting",
                                  labels=["queue"])
        for name, waiting in stats.depth.items():
            depth.add_metric([name], waiting)
        yield depth
        yield GaugeMetricFamily("meshsmith_workers", "Live worker processes (Celery: "
                                "`meshsmith worker` instances)", value=stats.workers)
        yield GaugeMetricFamily("meshsmith_worker_slots", "Tasks the workers can run at once",
                                value=stats.slots)


class Metrics:
    """One registry per app (so several apps can live in one test process)."""

    def __init__(self, store: Store, queue: TaskQueue | None = None) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("meshsmith_http_requests", "HTTP requests",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("meshsmith_http_request_seconds", "HTTP request latency",
                                 ["method", "route"], registry=self.registry)
        self.registry.register(_TaskCollector(store))
        if queue is not None:
            self.registry.register(_QueueCollector(queue))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def instrument(self, app: Any) -> None:
        """Count and time every HTTP request, labelled by route template."""
        app.add_middleware(_MetricsMiddleware, metrics=self)


class _MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], route, str(status[0])).inc()
            self.metrics.latency.labels(scope["method"], route).observe(
                time.perf_counter() - start)
