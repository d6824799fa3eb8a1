"""The engine registry: ``/engines`` and ``meshsmith engines`` are derived from it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from meshsmith.engines.base import Engine
from meshsmith.errors import UnknownEngineError


@dataclass(frozen=True)
class EngineInfo:
    """What the registry knows about an engine without loading it."""

    name: str
    description: str
    device: str
    needs_weights: bool
    factory: Callable[[], Engine]


def _geometric() -> Engine:
    from meshsmith.engines.geometric import GeometricEngine

    return GeometricEngine()


ENGINES: dict[str, EngineInfo] = {
    "geometric": EngineInfo(
        name="geometric",
        description="CPU-only silhouette inflation / visual hull with projected textures; "
        "no weights, no GPU",
        device="cpu",
        needs_weights=False,
        factory=_geometric,
    ),
}

_instances: dict[str, Engine] = {}
_instances_lock = threading.Lock()


def engine_info(name: str) -> EngineInfo:
    """The registry entry for ``name``; raises :class:`UnknownEngineError` otherwise."""
    info = ENGINES.get(name)
    if info is None:
        raise UnknownEngineError(f"unknown engine {name!r}; available: {', '.join(ENGINES)}")
    return info


def get_engine(name: str) -> Engine:
    """The shared instance of a registered engine (created on first use, loaded lazily)."""
    info = engine_info(name)
    with _instances_lock:
        if name not in _instances:
            _instances[name] = info.factory()
        return _instances[name]
