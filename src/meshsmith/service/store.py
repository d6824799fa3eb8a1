"""The task store: keys, uploads, tasks, credits and webhook deliveries in one database.

Every status change goes through :meth:`Store._move`, which checks the status machine,
records a transition row, settles credits (charge on success; release on failure,
cancellation or timeout) and queues the webhook, all in the same transaction. Changes made
by workers are compare-and-set on the task's status and lease, so a worker that lost its
lease (or a cancelled task) can never overwrite a newer state.

SQLite write transactions start with ``BEGIN IMMEDIATE`` so that concurrent writers queue on
the busy timeout instead of failing; reads use plain deferred transactions.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Insert,
    Select,
    Update,
    bindparam,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from meshsmith.errors import (
    AuthenticationError,
    ConcurrencyLimitError,
    IdempotencyConflictError,
    InsufficientCreditsError,
    MeshsmithError,
    NotFoundError,
    TaskAbandonedError,
    TaskStateError,
    TaskTimeoutError,
    UnknownUploadError,
)
from meshsmith.service import states
from meshsmith.service.db import make_engine, migrate
from meshsmith.service.models import (
    ApiKey,
    Base,
    CreditEntry,
    Task,
    TaskTransition,
    Upload,
    WebhookAttempt,
    WebhookDelivery,
)
from meshsmith.service.render import task_json
from meshsmith.service.settings import Settings

KEY_PREFIX = "tsk_"


def hash_key(raw: str) -> str:
    """The stored form of an API key: its SHA-256 (keys are 256-bit random, so no salt)."""
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class NewTask:
    """What the API hands the store to create a task."""

    owner_id: str
    views: dict[str, str]
    options: dict[str, Any]
    cost: int
    callback_url: str | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None
    client_request: dict[str, Any] | None = None


@dataclass(frozen=True)
class Balance:
    """A key's credits: ``available`` to spend, ``frozen`` in queued or running tasks."""

    available: int
    frozen: int
    spent: int


class Store:
    """All database access of the service. Safe to share between threads."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings.db_url)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock: threading.Lock | contextlib.nullcontext[None] = (
            threading.Lock() if self.engine.dialect.name == "sqlite" else contextlib.nullcontext())
        self._write_engine_ = self._write_engine()
        self._write = sessionmaker(self._write_engine_, expire_on_commit=False)

    def close(self) -> None:
        """Close every pooled connection."""
        self._write_engine_.dispose()
        self.engine.dispose()

    def _write_engine(self) -> Engine:
        if self.engine.dialect.name != "sqlite":
            return self.engine
        engine = make_engine(self.engine.url.render_as_string(hide_password=False))
        event.listen(engine, "connect", _sqlite_manual_transactions)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine

    def migrate(self) -> None:
        """Bring the schema to the newest revision."""
        migrate(self.engine)

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction: commits on success, rolls back on error.

        On SQLite, this process's writers also queue on a lock first: SQLite's own busy
        handler sleeps with growing back-off, which gives contended writes long tails."""
        with self._write_lock, self._write.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    # --- keys and credits -------------------------------------------------------------

    def create_key(self, name: str, credits: int, max_concurrency: int | None = None,
                   rate_limit_per_min: int | None = None) -> tuple[ApiKey, str]:
        """Create a key with ``credits``; returns it and the raw key (shown once, never kept)."""
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        now = time.time()
        key = ApiKey(id="key_" + secrets.token_hex(8), name=name, key_hash=hash_key(raw),
                     key_hint=raw[:8], credits=0, max_concurrency=max_concurrency,
                     rate_limit_per_min=rate_limit_per_min, created_at=now,
                     webhook_secret="whsec_" + secrets.token_urlsafe(24))
        with self.writing() as session:
            session.add(key)
            session.flush()
            self._grant(session, key.id, credits, now)
        key.credits = credits
        return key, raw

    def add_credits(self, key_id: str, amount: int) -> int:
        """Grant ``amount`` credits to a key; returns the new balance."""
        with self.writing() as session:
            if session.get(ApiKey, key_id) is None:
                raise NotFoundError(f"no API key {key_id!r}")
            self._grant(session, key_id, amount, time.time())
            return int(session.get_one(ApiKey, key_id).credits)

    def _grant(self, session: Session, key_id: str, amount: int, now: float) -> None:
        session.execute(update(ApiKey).where(ApiKey.id == key_id)
                        .values(credits=ApiKey.credits + amount))
        session.add(CreditEntry(owner_id=key_id, kind="grant", amount=amount, at=now))

    def list_keys(self) -> list[ApiKey]:
        with self.reading() as session:
            return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))

    def authenticate(self, raw: str) -> ApiKey:
        """The active key whose raw value is ``raw``; raises :class:`AuthenticationError`."""
        with self.reading() as session:
            key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(raw)))
        if key is None or key.revoked_at is not None:
            raise AuthenticationError("invalid API key")
        return key

    def get_key(self, key_id: str) -> ApiKey:
        with self.reading() as session:
            key = session.get(ApiKey, key_id)
        if key is None or key.revoked_at is not None:
            raise AuthenticationError("the API key behind this token no longer exists")
        return key

    def balance(self, owner_id: str) -> Balance:
        with self.reading() as session:
            available = session.get_one(ApiKey, owner_id).credits
            frozen = session.scalar(select(func.coalesce(func.sum(Task.cost), 0)).where(
                Task.owner_id == owner_id, Task.status.in_(states.ACTIVE)))
            spent = session.scalar(select(func.coalesce(func.sum(Task.cost), 0)).where(
                Task.owner_id == owner_id, Task.status.in_((states.SUCCESS, states.EXPIRED))))
        return Balance(available=int(available), frozen=int(frozen or 0), spent=int(spent or 0))

    # --- uploads ----------------------------------------------------------------------

    def add_upload(self, owner_id: str, storage_key: str, width: int, height: int, fmt: str,
                   size_bytes: int, upload_id: str | None = None) -> Upload:
        upload = Upload(id=upload_id or new_id(), owner_id=owner_id, storage_key=storage_key,
                        width=width, height=height, format=fmt, size_bytes=size_bytes,
                        created_at=time.time())
        with self.writing() as session:
            session.add(upload)
        return upload

    def uploads(self, ids: Sequence[str]) -> dict[str, Upload]:
        with self.reading() as session:
            return {u.id: u for u in session.scalars(select(Upload).where(Upload.id.in_(ids)))}

    # --- creating and reading tasks ---------------------------------------------------

    def create_task(self, new: NewTask) -> tuple[Task, bool]:
        """Reserve credits and queue a task; returns ``(task, created)``.

        With an ``idempotency_key`` already used by this key, returns that task instead
        (``created`` False), or raises :class:`IdempotencyConflictError` if the request
        differs. Raises :class:`ConcurrencyLimitError` or :class:`InsufficientCreditsError`.
        """
        try:
            with self.writing() as session:
                existing = self._idempotent(session, new.owner_id, new.idempotency_key,
                                            new.request_hash)
                if existing is not None:
                    return existing, False
                return self._insert_task(session, new), True
        except IntegrityError:  # a concurrent create with the same idempotency key won
            existing = self.find_idempotent(new.owner_id, new.idempotency_key, new.request_hash)
            if existing is None:
                raise
            return existing, False

    def find_idempotent(self, owner_id: str, idempotency_key: str | None,
                        request_hash: str | None) -> Task | None:
        """The key's task created with ``idempotency_key``, if any (see :meth:`create_task`)."""
        with self.reading() as session:
            return self._idempotent(session, owner_id, idempotency_key, request_hash)

    def _idempotent(self, session: Session, owner_id: str, idempotency_key: str | None,
                    request_hash: str | None) -> Task | None:
        if idempotency_key is None:
            return None
        task = session.scalar(select(Task).where(Task.owner_id == owner_id,
                                                 Task.idempotency_key == idempotency_key))
        if task is not None and task.request_hash != request_hash:
            raise IdempotencyConflictError(
                f"idempotency_key {idempotency_key!r} was used for a different request")
        return task

    def _insert_task(self, session: Session, new: NewTask) -> Task:
        """Prebuilt Core statements on the session's connection: creates are the hot write
        path, and building ORM units of work or SQL expressions per request is most of it."""
        conn = session.connection()
        self._check_uploads(conn, new.owner_id, new.views.values())
        limit, credits = conn.execute(_sql.key_limits(), {"owner": new.owner_id}).one()
        self._check_concurrency(conn, new.owner_id, limit)
        self._reserve(conn, new.owner_id, new.cost, credits)
        now = time.time()
        row = {"id": new_id(), "owner_id": new.owner_id, "status": states.QUEUED,
               "stage": None, "progress": 0.0, "views": new.views, "options": new.options,
               "cost": new.cost, "idempotency_key": new.idempotency_key,
               "request_hash": new.request_hash, "callback_url": new.callback_url,
               "client_request": new.client_request, "attempts": 0, "created_at": now,
               "updated_at": now}
        conn.execute(_sql.insert_task(), row)
        conn.execute(_sql.insert_transition(), {
            "task_id": row["id"], "from_status": None, "to_status": states.QUEUED, "at": now,
            "reason": "created"})
        conn.execute(_sql.insert_credit_entry(), {
            "owner_id": new.owner_id, "task_id": row["id"], "kind": "reserve",
            "amount": -new.cost, "at": now})
        return Task(**row)

    @staticmethod
    def _check_uploads(conn: Connection, owner_id: str, upload_ids: Iterable[str]) -> None:
        wanted = set(upload_ids)
        if not wanted:
            return
        found = set(conn.scalars(_sql.owned_uploads(), {"ids": list(wanted), "owner": owner_id}))
        if missing := sorted(wanted - found):
            raise UnknownUploadError(f"no upload with file_token {missing[0]!r}")

    def _check_concurrency(self, conn: Connection, owner_id: str, limit: int | None) -> None:
        limit = limit or self.settings.default_max_concurrency
        active = conn.scalar(_sql.active_count(), {"owner": owner_id}) or 0
        if active >= limit:
            raise ConcurrencyLimitError(
                f"this key already has {active} queued or running tasks; the limit is {limit}")

    @staticmethod
    def _reserve(conn: Connection, owner_id: str, cost: int, credits: int) -> None:
        result = conn.execute(_sql.reserve(), {"owner": owner_id, "cost": cost})
        if result.rowcount != 1:
            raise InsufficientCreditsError(
                f"this task costs {cost} credits; the balance is {credits}")

    def get_task(self, owner_id: str | None, task_id: str) -> Task:
        """The task, if it exists and (unless ``owner_id`` is None) belongs to that key."""
        with self.reading() as session:
            task = session.get(Task, task_id)
        if task is None or (owner_id is not None and task.owner_id != owner_id):
            raise NotFoundError(f"no task {task_id!r}")
        return task

    def changed_since(self, since: float) -> list[tuple[str, float]]:
        """``(task_id, updated_at)`` of every task changed after ``since`` (epoch seconds)."""
        with self.engine.connect() as conn:
            rows = conn.execute(_sql.changed_since(), {"since": since})
            return [(task_id, updated_at) for task_id, updated_at in rows]

    def tasks_by_id(self, task_ids: Sequence[str]) -> list[Task]:
        """The tasks with these IDs (any owner; missing ones are left out)."""
        with self.reading() as session:
            return list(session.scalars(select(Task).where(Task.id.in_(task_ids))))

    def list_tasks(self, owner_id: str, status: str | None, limit: int, offset: int
                   ) -> tuple[list[Task], int]:
        """One page of a key's tasks, newest first, and the total count."""
        where = [Task.owner_id == owner_id]
        if status is not None:
            where.append(Task.status == status)
        with self.reading() as session:
            total = session.scalar(select(func.count()).select_from(Task).where(*where)) or 0
            page = session.scalars(select(Task).where(*where)
                                   .order_by(Task.created_at.desc(), Task.id)
                                   .limit(limit).offset(offset))
            return list(page), int(total)

    def transitions(self, task_id: str) -> list[TaskTransition]:
        with self.reading() as session:
            return list(session.scalars(select(TaskTransition)
                                        .where(TaskTransition.task_id == task_id)
                                        .order_by(TaskTransition.id)))

    def deliveries(self, task_id: str) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
        with self.reading() as session:
            found = list(session.scalars(select(WebhookDelivery)
                                         .where(WebhookDelivery.task_id == task_id)
                                         .order_by(WebhookDelivery.id)))
            return [(d, list(session.scalars(select(WebhookAttempt)
                                             .where(WebhookAttempt.delivery_id == d.id)
                                             .order_by(WebhookAttempt.id)))) for d in found]

    def queued_ids(self, limit: int = 1000) -> list[str]:
        with self.reading() as session:
            return list(session.scalars(select(Task.id).where(Task.status == states.QUEUED)
                                        .order_by(Task.created_at).limit(limit)))

    # --- status changes ---------------------------------------------------------------

    def cancel(self, owner_id: str, task_id: str) -> Task:
        """Cancel a queued or running task; its reserved credits are released."""
        with self.writing() as session:
            task = session.get(Task, task_id, with_for_update=True)
            if task is None or task.owner_id != owner_id:
                raise NotFoundError(f"no task {task_id!r}")
            if not states.can_move(task.status, states.CANCELLED):
                raise TaskStateError(f"a {task.status} task cannot be cancelled")
            self._move(session, task, states.CANCELLED, "cancelled by its owner")
            return task

    def claim(self, task_id: str, worker_id: str) -> Task | None:
        """Take a queued task for ``worker_id`` with a fresh lease; ``None`` if it is not
        queued any more (another worker has it, or it was cancelled). The row is locked
        (on PostgreSQL) so two workers handed the same task (a redelivered message) cannot
        both claim it."""
        with self.writing() as session:
            task = session.get(Task, task_id, with_for_update=True)
            if task is None or task.status != states.QUEUED:
                return None
            now = time.time()
            task.attempts += 1
            task.lease_owner, task.lease_expires_at = worker_id, now + self.settings.lease_s
            task.started_at, task.stage, task.progress = now, "preprocess", 0.0
            self._move(session, task, states.RUNNING, f"attempt {task.attempts} on {worker_id}")
            return task

    def renew(self, task_id: str, worker_id: str, stage: str | None = None,
              progress: float | None = None) -> bool:
        """Extend the lease (and record progress); False if the task is no longer ours."""
        now = time.time()
        values: dict[str, Any] = {"lease_expires_at": now + self.settings.lease_s,
                                  "updated_at": now}
        if stage is not None and progress is not None:
            values |= {"stage": stage, "progress": progress}
        return bool(self._write_one(update(Task).where(
            Task.id == task_id, Task.status == states.RUNNING,
            Task.lease_owner == worker_id).values(**values)))

    def lease_owners(self, prefix: str) -> list[str]:
        """The lease owners of running tasks whose owner name starts with ``prefix``."""
        with self.reading() as session:
            return list(session.scalars(select(Task.lease_owner).where(
                Task.status == states.RUNNING, Task.lease_owner.startswith(prefix,
                                                                            autoescape=True))))

    def renew_leases(self, worker_ids: Sequence[str]) -> int:
        """Extend the leases of every running task held by one of ``worker_ids`` in one
        statement; returns how many were extended."""
        if not worker_ids:
            return 0
        now = time.time()
        return self._write_one(update(Task).where(
            Task.status == states.RUNNING, Task.lease_owner.in_(worker_ids))
            .values(lease_expires_at=now + self.settings.lease_s, updated_at=now))

    def _write_one(self, statement: Update) -> int:
        """Run one write statement as its own transaction; returns the rows it changed.

        On SQLite it is one autocommit step on the driver connection: the database's write
        lock is taken and released inside a single C call that runs without the GIL. A
        thread that is starved of the GIL (a worker's heartbeat beside a pipeline busy in
        NumPy) therefore never holds the lock while it waits, which would stall every other
        writer, the API's task creation included, for as long."""
        if self.engine.dialect.name != "sqlite":
            with self.writing() as session:
                return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]
        compiled = statement.compile(dialect=self._write_engine_.dialect,
                                     compile_kwargs={"render_postcompile": True})
        params = [compiled.params[name] for name in compiled.positiontup or ()]
        with self._write_lock:
            raw = self._write_engine_.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute(str(compiled), params)
                return int(cursor.rowcount)
            finally:
                raw.close()

    def succeed(self, task_id: str, worker_id: str, outputs: dict[str, Any],
                stats: dict[str, Any]) -> bool:
        """Record a finished task and charge it; False if the worker had lost it."""
        with self.writing() as session:
            task = self._leased(session, task_id, worker_id)
            if task is None:
                return False
            task.outputs, task.stats, task.stage, task.progress = outputs, stats, None, 100.0
            self._move(session, task, states.SUCCESS, "finished")
            return True

    def fail(self, task_id: str, worker_id: str | None, error: MeshsmithError) -> bool:
        """Fail a task with ``error`` and release its credits; False if it was not ours."""
        with self.writing() as session:
            task = (session.get(Task, task_id, with_for_update=True) if worker_id is None
                    else self._leased(session, task_id, worker_id))
            if task is None or not states.can_move(task.status, states.FAILED):
                return False
            task.error_code, task.error_message = error.code, error.message
            self._move(session, task, states.FAILED, f"error {error.code}")
            return True

    def _leased(self, session: Session, task_id: str, worker_id: str) -> Task | None:
        task = session.get(Task, task_id, with_for_update=True)
        ours = task is not None and task.status == states.RUNNING and task.lease_owner == worker_id
        return task if ours else None

    def recover(self) -> list[str]:
        """Re-queue running tasks whose lease ran out (their worker died), or fail them after
        ``max_attempts``; fail tasks running past ``task_timeout_s``. Returns re-queued IDs."""
        now = time.time()
        requeued: list[str] = []
        with self.writing() as session:
            for task in session.scalars(select(Task).where(Task.status == states.RUNNING)
                                        .with_for_update(skip_locked=True)):
                requeued += self._recover_one(session, task, now)
        return requeued

    def _recover_one(self, session: Session, task: Task, now: float) -> list[str]:
        if task.started_at is not None and now - task.started_at > self.settings.task_timeout_s:
            err: MeshsmithError = TaskTimeoutError(
                f"the task ran longer than {self.settings.task_timeout_s:.0f} s")
        elif task.lease_expires_at is not None and task.lease_expires_at < now:
            if task.attempts < self.settings.max_attempts:
                task.lease_owner, task.stage, task.progress = None, None, 0.0
                self._move(session, task, states.QUEUED, "worker lost; re-queued")
                return [task.id]
            err = TaskAbandonedError(
                f"the worker was lost on each of {task.attempts} attempts")
        else:
            return []
        task.error_code, task.error_message = err.code, err.message
        self._move(session, task, states.FAILED, f"error {err.code}")
        return []

    def expire_outputs(self, limit: int = 100) -> list[str]:
        """Mark successful tasks older than ``output_retention_s`` expired; returns their IDs
        (the caller deletes their files)."""
        cutoff = time.time() - self.settings.output_retention_s
        with self.writing() as session:
            old = list(session.scalars(select(Task).where(
                Task.status == states.SUCCESS, Task.finished_at < cutoff).limit(limit)))
            for task in old:
                self._move(session, task, states.EXPIRED, "outputs passed their retention")
            return [task.id for task in old]

    def _move(self, session: Session, task: Task, new: str, reason: str) -> None:
        if not states.can_move(task.status, new):
            raise TaskStateError(f"a {task.status} task cannot become {new}")
        now = time.time()
        session.add(TaskTransition(task_id=task.id, from_status=task.status, to_status=new,
                                   at=now, reason=reason))
        task.status, task.updated_at = new, now
        if new in states.TERMINAL:
            task.finished_at, task.lease_owner, task.lease_expires_at = now, None, None
            self._settle(session, task, now)
            self._queue_webhook(session, task, now)

    def _settle(self, session: Session, task: Task, now: float) -> None:
        """Charge a successful task; give a failed or cancelled one its credits back."""
        if task.status == states.SUCCESS:
            session.add(CreditEntry(owner_id=task.owner_id, task_id=task.id, kind="charge",
                                    amount=0, at=now))
            return
        session.add(CreditEntry(owner_id=task.owner_id, task_id=task.id, kind="release",
                                amount=task.cost, at=now))
        session.flush()  # the unique (task, kind) constraint refuses a second refund here
        session.execute(update(ApiKey).where(ApiKey.id == task.owner_id)
                        .values(credits=ApiKey.credits + task.cost))

    def _queue_webhook(self, session: Session, task: Task, now: float) -> None:
        if not task.callback_url:
            return
        payload = json.dumps(task_json(task, self.settings), separators=(",", ":"))
        session.add(WebhookDelivery(task_id=task.id, url=task.callback_url, event=task.status,
                                    payload=payload, state="pending", attempts=0,
                                    next_attempt_at=now, created_at=now))

    # --- webhooks ---------------------------------------------------------------------

    def due_deliveries(self, limit: int = 20) -> list[WebhookDelivery]:
        with self.reading() as session:
            return list(session.scalars(select(WebhookDelivery).where(
                WebhookDelivery.state == "pending",
                WebhookDelivery.next_attempt_at <= time.time())
                .order_by(WebhookDelivery.next_attempt_at).limit(limit)))

    def webhook_secret(self, task_id: str) -> str:
        with self.reading() as session:
            task = session.get_one(Task, task_id)
            return session.get_one(ApiKey, task.owner_id).webhook_secret

    def record_attempt(self, delivery_id: int, status_code: int | None, error: str | None,
                       duration_ms: float, next_at: float | None) -> None:
        """Log one POST; ``next_at`` None means no more retries (delivered or given up)."""
        with self.writing() as session:
            delivery = session.get_one(WebhookDelivery, delivery_id)
            delivery.attempts += 1
            session.add(WebhookAttempt(delivery_id=delivery_id, attempt=delivery.attempts,
                                       at=time.time(), status_code=status_code, error=error,
                                       duration_ms=duration_ms))
            ok = error is None and status_code is not None and 200 <= status_code < 300
            delivery.state = "delivered" if ok else ("pending" if next_at else "failed")
            delivery.next_attempt_at = next_at if not ok else None
            session.execute(update(Task).where(Task.id == delivery.task_id)
                            .values(updated_at=time.time()))  # the task's view changed


class _Statements:
    """The hot paths' statements (creates, read-model refreshes), built once on first use
    (never at import)."""

    @functools.cache  # noqa: B019 - one instance, kept for the life of the process
    def key_limits(self) -> Select[int | None, int]:
        return (select(ApiKey.max_concurrency, ApiKey.credits)
                .where(ApiKey.id == bindparam("owner")).with_for_update())

    @functools.cache  # noqa: B019
    def owned_uploads(self) -> Select[str]:
        return select(Upload.id).where(Upload.id.in_(bindparam("ids", expanding=True)),
                                       Upload.owner_id == bindparam("owner"))

    @functools.cache  # noqa: B019
    def active_count(self) -> Select[int]:
        return select(func.count()).select_from(Task).where(
            Task.owner_id == bindparam("owner"), Task.status.in_(states.ACTIVE))

    @functools.cache  # noqa: B019
    def reserve(self) -> Update:
        return (update(ApiKey).where(ApiKey.id == bindparam("owner"),
                                     ApiKey.credits >= bindparam("cost"))
                .values(credits=ApiKey.credits - bindparam("cost")))

    @functools.cache  # noqa: B019
    def changed_since(self) -> Select[str, float]:
        return select(Task.id, Task.updated_at).where(Task.updated_at > bindparam("since"))

    @functools.cache  # noqa: B019
    def insert_task(self) -> Insert:
        return insert(Base.metadata.tables["tasks"])

    @functools.cache  # noqa: B019
    def insert_transition(self) -> Insert:
        return insert(Base.metadata.tables["task_transitions"])

    @functools.cache  # noqa: B019
    def insert_credit_entry(self) -> Insert:
        return insert(Base.metadata.tables["credit_ledger"])


_sql = _Statements()


def new_id() -> str:
    """A new random ID for a task or upload (a UUID4 string)."""
    return str(uuid.uuid4())


def _sqlite_manual_transactions(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
