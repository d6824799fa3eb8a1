"""Scale-out: the task queue on Celery over Redis (``MESHSMITH_QUEUE=celery``).

The API process sends task IDs; ``meshsmith worker`` processes on any machine run them with
:func:`meshsmith.service.worker.run_task`, exactly like the embedded pool. The database stays
the source of truth, so a lost or duplicated message is harmless: a message for a task that
is not queued any more is skipped (the claim is compare-and-set), and the scheduler sends
again every queued task whose message may be gone.

* Messages go to one queue per engine, ``<prefix>.<engine>``; a worker consumes the queues of
  the engines it runs (``meshsmith worker --engines``).
* Long CPU/GPU tasks: late acks with ``reject_on_worker_lost`` (a killed pool process gets
  its message redelivered), prefetch 1, a visibility timeout longer than the task time
  limit, and soft/hard time limits just past ``task_timeout_s`` (+30 s, +90 s), behind the
  scheduler's own timeout.
* Leases: each running task's lease is renewed by the worker's heartbeat thread *and* by
  the ``meshsmith worker`` main process (:class:`LeaseKeeper`), which runs no pipeline code,
  for the pool processes it can see alive; a pipeline holding the GIL in native code cannot
  starve it, and when the machine or the pool process dies the renewals stop, the lease
  runs out and the scheduler re-queues the task (as with the embedded pool).

celery and redis are imported by the functions here only, never by the embedded default.
"""

from __future__ import annotations

import logging
import os
import queue as stdqueue
import socket
import threading
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from meshsmith.errors import ServiceUnavailableError
from meshsmith.service import states
from meshsmith.service.queue import QueueStats
from meshsmith.service.settings import Settings
from meshsmith.service.store import Store

if TYPE_CHECKING:
    from celery import Celery
    from redis import Redis

log = logging.getLogger("meshsmith.celery")

TASK_NAME = "meshsmith.run_task"


def queue_name(settings: Settings, engine: str) -> str:
    """The Celery queue of ``engine``'s tasks: ``<prefix>.<engine>``."""
    return f"{settings.queue_prefix}.{engine}"


def redis_client(settings: Settings) -> Redis:
    """A client for the broker's Redis with short timeouts (health checks, keys)."""
    from redis import Redis

    assert settings.broker_url is not None
    return Redis.from_url(settings.broker_url, socket_timeout=2, socket_connect_timeout=2)


def probe_broker(client: Redis) -> None:
    """Ping the broker; raises :class:`ServiceUnavailableError` if it does not answer."""
    from redis.exceptions import RedisError

    try:
        client.ping()
    except RedisError as exc:
        raise ServiceUnavailableError(f"the broker (Redis) is unreachable: {exc}") from exc


def make_celery(settings: Settings) -> Celery:
    """The Celery app of ``settings``, with the one task, ``meshsmith.run_task``."""
    from celery import Celery

    app = Celery("meshsmith", broker=settings.broker_url, set_as_current=False)
    app.conf.update(celery_config(settings))
    app.conf.meshsmith_settings = settings.model_dump_json()
    app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True,
             ignore_result=True)(_run)
    return app


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings for long CPU/GPU tasks (see the module docstring)."""
    limit = settings.task_timeout_s
    return {
        "task_acks_late": True, "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1, "task_ignore_result": True,
        # The scheduler fails a task at ``task_timeout_s`` (TaskTimeoutError) and its
        # heartbeat then stops the pipeline; Celery's limits are the backstop just after.
        "task_soft_time_limit": limit + 30, "task_time_limit": limit + 90,
        "task_default_queue": queue_name(settings, "geometric"),
        "task_serializer": "json", "accept_content": ["json"],
        "broker_transport_options": {"visibility_timeout": int(limit) + 600,
                                     "global_keyprefix": f"{settings.queue_prefix}:"},
        "broker_connection_timeout": 2, "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "task_publish_retry_policy": {"max_retries": 2, "interval_start": 0,
                                      "interval_step": 0.5, "interval_max": 1},
        "worker_enable_remote_control": False, "worker_send_task_events": False,
        "worker_hijack_root_logger": False, "worker_redirect_stdouts": False,
    }


def _run(self: Any, task_id: str) -> str:
    """The Celery task: claim and run one task by ID in this pool process."""
    from meshsmith.service.worker import run_task

    outcome = run_task(task_id, self.app.conf.meshsmith_settings)
    log.info("task %s: %s", task_id, outcome)
    return outcome


class CeleryQueue:
    """The API side: sends task IDs to Celery from one sender thread (never from the event
    loop), and watches the broker so the API can refuse new tasks while it is down.

    The scheduler enqueues every queued task each second; this process looks a task up at
    most once per ``resend_s``, and sends it once per (task ID, attempt): a Redis key
    ``<prefix>:sent:<id>:<attempt>`` (kept ``sent_ttl_s``) marks it sent, across API
    processes and restarts. A claim counts an attempt, so a task re-queued after its worker
    died is sent again. When the broker comes back after an outage every queued task is
    looked up again: a restarted Redis may have lost its messages, and then its keys too.
    """

    def __init__(self, settings: Settings, store: Store, resend_s: float = 5.0,
                 sent_ttl_s: int = 600) -> None:
        self._settings, self._store = settings, store
        self._resend_s, self._sent_ttl_s = resend_s, sent_ttl_s
        self._ids: stdqueue.Queue[str | None] = stdqueue.Queue()
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._up = threading.Event()
        self._stop = threading.Event()
        self._app: Celery | None = None
        self._redis: Redis | None = None
        self._threads = [threading.Thread(target=self._send_loop, name="celery-sender",
                                          daemon=True),
                         threading.Thread(target=self._watch, name="broker-watch", daemon=True)]

    def start(self) -> None:
        self._app, self._redis = make_celery(self._settings), redis_client(self._settings)
        self._up.set()
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._ids.put(None)
        for thread in self._threads:
            thread.join(timeout=10)

    def enqueue(self, task_id: str) -> None:
        """Hand ``task_id`` to the sender thread (non-blocking)."""
        now = time.monotonic()
        with self._lock:
            if now - self._seen.get(task_id, -self._resend_s) < self._resend_s:
                return
            self._seen[task_id] = now
        self._ids.put(task_id)

    def ensure_available(self) -> None:
        """Raise :class:`ServiceUnavailableError` while the broker is known to be down."""
        if not self._up.is_set():
            raise ServiceUnavailableError(
                "the task queue's broker (Redis) is unreachable; no task was created, "
                "retry in a few seconds")

    def probe(self) -> None:
        """Ping the broker now; raises :class:`ServiceUnavailableError`."""
        probe_broker(self._client())

    def stats(self) -> QueueStats:
        """Queue depths and live workers, read from Redis."""
        return read_stats(self._settings, self._client())

    def _client(self) -> Redis:
        if self._redis is None:
            self._redis = redis_client(self._settings)
        return self._redis

    def _send_loop(self) -> None:
        stopping = False
        while not stopping:
            batch = [self._ids.get()]
            while len(batch) < 500 and not self._ids.empty():
                batch.append(self._ids.get_nowait())
            stopping = None in batch
            ids = [task_id for task_id in batch if task_id is not None]
            if not self._up.is_set():  # the watcher says the broker is down: wait for it
                self._forget(ids)
                continue
            try:
                self._send(ids)
            except Exception as exc:
                self._forget(ids)
                self._up.clear()
                log.warning("could not send %d task(s) to the broker (%s); the scheduler "
                            "sends them again", len(ids), exc)

    def _send(self, task_ids: list[str]) -> None:
        """Send the tasks among ``task_ids`` that are queued and not sent for this attempt."""
        tasks = [t for t in self._store.tasks_by_id(task_ids) if t.status == states.QUEUED]
        if not tasks:
            return
        prefix, client = self._settings.queue_prefix, self._client()
        keys = [f"{prefix}:sent:{t.id}:{t.attempts}" for t in tasks]
        assert self._app is not None
        for task, key, sent in zip(tasks, keys, client.mget(keys), strict=True):
            if sent is None:
                self._app.send_task(TASK_NAME, args=[task.id], queue=queue_name(
                    self._settings, task.options["engine"]))
                client.set(key, "1", ex=self._sent_ttl_s)

    def _forget(self, task_ids: list[str]) -> None:
        with self._lock:
            for task_id in task_ids:
                self._seen.pop(task_id, None)

    def _watch(self) -> None:
        """Ping the broker every second; after an outage, look every queued task up again."""
        while not self._stop.wait(1.0):
            try:
                self.probe()
            except ServiceUnavailableError:
                if self._up.is_set():
                    log.warning("the broker is unreachable; refusing new tasks")
                self._up.clear()
                continue
            if not self._up.is_set():
                log.warning("the broker is back; sending every queued task again")
                with self._lock:
                    self._seen.clear()
                self._up.set()
            self._prune()

    def _prune(self) -> None:
        cutoff = time.monotonic() - self._resend_s
        with self._lock:
            for task_id in [t for t, at in self._seen.items() if at < cutoff]:
                del self._seen[task_id]


def read_stats(settings: Settings, client: Redis) -> QueueStats:
    """Messages waiting in each ``<prefix>.*`` queue, and the registered live workers."""
    from meshsmith.engines import ENGINES

    prefix = settings.queue_prefix
    depth = {queue_name(settings, e): int(client.llen(f"{prefix}:{queue_name(settings, e)}"))
             for e in ENGINES}
    slots = [int(v) for v in (client.get(k) for k in client.scan_iter(f"{prefix}:worker:*"))
             if v is not None]
    return QueueStats(depth=depth, workers=len(slots), slots=sum(slots))


class LeaseKeeper:
    """The ``meshsmith worker`` main process's thread: every second (at most ``lease_s / 3``)
    it renews the leases of the tasks its live pool processes run, and registers this worker
    in Redis (``<prefix>:worker:<host>:<pid>``, expiring) for the worker count in
    ``/metrics``, which is also how it notices a broker outage."""

    def __init__(self, settings: Settings, store: Store, concurrency: int) -> None:
        self._settings, self._store, self._concurrency = settings, store, concurrency
        self._host = socket.gethostname()
        self._broker_lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lease-keeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def tick(self) -> int:
        """One pass; returns how many leases were renewed."""
        children = child_pids(os.getpid())
        owners = [owner for owner in self._store.lease_owners(f"{self._host}:")
                  if _pid_of(owner) in children]
        return self._store.renew_leases(owners)

    def register(self) -> None:
        """Say this worker is alive; after a broker outage, restart it (see
        :func:`restart_worker`)."""
        key = f"{self._settings.queue_prefix}:worker:{self._host}:{os.getpid()}"
        try:
            redis_client(self._settings).set(key, self._concurrency,
                                             ex=max(5, int(self._settings.lease_s)))
        except Exception:
            if not self._broker_lost:
                log.warning("the broker is unreachable", exc_info=True)
            self._broker_lost = True
            return
        if self._broker_lost:
            self._broker_lost = False
            restart_worker()

    def _loop(self) -> None:
        renewed = -float("inf")
        while not self._stop.is_set():
            if time.monotonic() - renewed >= self._settings.lease_s / 3:
                renewed = time.monotonic()
                try:
                    self.tick()
                except Exception as exc:
                    log.warning("lease renewal failed (%s); retrying", exc)
            self.register()
            self._stop.wait(1.0)


def restart_worker() -> None:
    """Warm-restart this ``meshsmith worker`` (finish the running tasks, then exec itself).

    Celery's Redis consumer does not always resume after the broker restarts (it stays
    connected to nothing: celery/celery#8030, #8091, #10205), so a worker that saw the
    broker go away starts over with fresh connections once it is back."""
    import atexit
    import sys

    from celery.worker import state

    log.warning("the broker is back; restarting this worker (after its running tasks) so "
                "its consumer reconnects")
    atexit.register(os.execv, sys.executable, [sys.executable, "-m", "meshsmith.cli",
                                                *sys.argv[1:]])
    state.should_stop = 0


def _pid_of(owner: str) -> int | None:
    parts = owner.split(":")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def child_pids(parent: int) -> set[int]:
    """The live child processes of ``parent`` (from /proc; empty where there is none)."""
    found: set[int] = set()
    for name in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(parent) and fields[0] != "Z":
            found.add(int(name))
    return found


def run_worker(settings: Settings, engines: list[str], concurrency: int) -> None:
    """``meshsmith worker``: validate the services, then consume the queues of ``engines``
    with a pool of ``concurrency`` processes until stopped (SIGTERM: finish running tasks;
    a second one, or SIGQUIT, stops at once and the tasks are redelivered)."""
    from celery.signals import worker_process_init

    from meshsmith.service.checks import check_database, check_schema
    from meshsmith.service.storage import make_storage

    store = Store(settings)
    check_database(store)
    check_schema(store)
    make_storage(settings).check()
    probe_broker(redis_client(settings))
    worker_process_init.connect(partial(_init_pool_process, settings, store), weak=False)
    keeper = LeaseKeeper(settings, store, concurrency)
    keeper.start()
    queues = ",".join(queue_name(settings, engine) for engine in engines)
    try:
        make_celery(settings).worker_main([
            "worker", "--queues", queues, "--concurrency", str(concurrency), "--pool", "prefork",
            "--hostname", f"meshsmith-{os.getpid()}@{socket.gethostname()}",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"])
    finally:
        keeper.stop()


def _init_pool_process(settings: Settings, store: Store, **_signal: Any) -> None:
    """In each new pool process: leave the main process's database connections alone,
    run below its priority, and exit when it is gone (like the embedded pool)."""
    from meshsmith.service.queue import _init_worker

    store.engine.dispose(close=False)
    _init_worker(settings.worker_nice, os.getppid())
