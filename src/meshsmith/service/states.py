"""The task status machine: every status and the transitions allowed between them.

::

    queued  -> running | cancelled | failed
    running -> success | failed | cancelled | queued   (queued: its worker died; re-run)
    success -> expired                                  (its files passed their retention)

``failed``, ``cancelled`` and ``expired`` are final. The store refuses any other change.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

QUEUED: Final = "queued"
RUNNING: Final = "running"
SUCCESS: Final = "success"
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"
EXPIRED: Final = "expired"

STATUSES: tuple[str, ...] = (QUEUED, RUNNING, SUCCESS, FAILED, CANCELLED, EXPIRED)

ALLOWED = MappingProxyType({
    QUEUED: frozenset({RUNNING, CANCELLED, FAILED}),
    RUNNING: frozenset({SUCCESS, FAILED, CANCELLED, QUEUED}),
    SUCCESS: frozenset({EXPIRED}),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
    EXPIRED: frozenset(),
})

#: Statuses that count against a key's concurrency limit and hold reserved credits.
ACTIVE: frozenset[str] = frozenset({QUEUED, RUNNING})
#: Statuses at which a task's webhook fires.
TERMINAL: frozenset[str] = frozenset({SUCCESS, FAILED, CANCELLED})


def can_move(old: str, new: str) -> bool:
    """Whether the status machine allows ``old -> new``."""
    return new in ALLOWED.get(old, frozenset())
