"""What the client returns: tasks, uploads, balances (plain frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class TaskProgress:
    """One progress report: ``status``, pipeline ``stage`` (or ``None``), ``progress`` 0-100."""

    status: str
    stage: str | None
    progress: int


@dataclass(frozen=True)
class Task:
    """A task as ``GET /v1/tasks/{id}`` shows it; ``data`` is the whole JSON and ``files``
    the local paths of what was downloaded (empty until then)."""

    id: str
    status: str
    stage: str | None = None
    progress: int = 0
    cost: int = 0
    charged: int = 0
    error: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    files: tuple[Path, ...] = ()

    @property
    def done(self) -> bool:
        """True once the task can change no more (success, failed, cancelled, expired)."""
        return self.status not in ACTIVE

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Task:
        """Build from the native task JSON (or the create answer's subset of it)."""
        return cls(id=data["task_id"], status=data["status"], stage=data.get("stage"),
                   progress=int(data.get("progress") or 0), cost=int(data.get("cost") or 0),
                   charged=int(data.get("charged") or 0), error=data.get("error"),
                   outputs=data.get("outputs"), data=data)

    def progress_report(self) -> TaskProgress:
        """The task's status, stage and progress."""
        return TaskProgress(self.status, self.stage, self.progress)


@dataclass(frozen=True)
class Upload:
    """An uploaded image: the ``file_token`` to use as a view, and what the server read."""

    file_token: str
    width: int
    height: int
    format: str


@dataclass(frozen=True)
class Balance:
    """Credits: ``balance`` available, ``frozen`` in queued or running tasks, ``spent``."""

    balance: int
    frozen: int
    spent: int


@dataclass(frozen=True)
class TaskPage:
    """One page of ``GET /v1/tasks``, newest first."""

    items: list[Task]
    total: int
    limit: int
    offset: int
