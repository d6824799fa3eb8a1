"""The base every engine shares: a lazy ``load()`` under a lock, a public ``reconstruct()``
and a protected ``_reconstruct()`` that subclasses implement."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from meshsmith.camera import Camera
from meshsmith.mesh import Mesh
from meshsmith.spec import GeometryOptions

#: Reports a stage fraction in [0, 1].
ProgressFn = Callable[[float], None]


def no_progress(_: float) -> None:
    """A progress callback that ignores its reports."""


@dataclass(frozen=True)
class ViewInput:
    """One prepared input view, uncropped.

    rgb: (H, W, 3) uint8 sRGB; mask: (H, W) bool foreground.
    """

    slot: str
    rgb: NDArray[np.uint8]
    mask: NDArray[np.bool_]


@dataclass(frozen=True)
class ViewImage:
    """A framed view as the engine saw it: the image the texture is projected from.

    rgb: (S, S, 3) uint8; mask: (S, S) bool; camera maps world points onto it.
    """

    rgb: NDArray[np.uint8]
    mask: NDArray[np.bool_]
    camera: Camera


@dataclass(frozen=True)
class Reconstruction:
    """An engine's output: the shape in world units plus the views that explain its colour.

    ``detail``: a denser surface of the same shape whose normals are baked into the
    delivered model's normal map (smart low-poly), or ``None``.
    ``depths``: per view, a (D, D) float32 depth map of the engine's dense surface for the
    texture's visibility test (:func:`meshsmith.texturing.bake.depth_maps`), when it was
    made while the surface was decimated; else ``None`` and texturing makes its own."""

    mesh: Mesh
    views: Mapping[str, ViewImage]
    detail: Mesh | None = None
    depths: Mapping[str, NDArray[np.float32]] | None = None


class Engine(ABC):
    """Images in, a shape (and the cameras to colour it) out."""

    name: ClassVar[str]
    description: ClassVar[str]
    device: ClassVar[str] = "cpu"
    needs_weights: ClassVar[bool] = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded = False

    def load(self) -> None:
        """Load weights or other heavy state once; safe to call from several threads."""
        with self._lock:
            if not self._loaded:
                self._load()
                self._loaded = True

    def _load(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Subclasses that hold weights load them here; engines without state need not."""

    def reconstruct(self, views: Mapping[str, ViewInput], options: GeometryOptions,
                    progress: ProgressFn = no_progress) -> Reconstruction:
        """Reconstruct closed, outward-wound surface(s) from the views (front required).

        The mesh may still hold small separate pieces; the pipeline keeps the largest.
        """
        self.load()
        return self._reconstruct(views, options, progress)

    @abstractmethod
    def _reconstruct(self, views: Mapping[str, ViewInput], options: GeometryOptions,
                     progress: ProgressFn) -> Reconstruction:
        """The engine's own reconstruction."""
