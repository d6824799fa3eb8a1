"""The one-camera-circling-the-object model shared by reconstruction and texturing.

World units are normalised framed-image units: at the rotation axis, one unit spans half the
framed (square) view. ``tan_half`` is the tangent of the half-angle that half a framed view
subtends; 0 means orthographic. The camera sits at distance ``1 / tan_half`` on its
``toward`` axis and looks at the origin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: (right, up, toward-camera) unit axes per slot, glTF world axes (+Y up, front on +Z).
SLOT_AXES: dict[str, tuple[tuple[float, float, float], ...]] = {
    "front": ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
    "back": ((-1, 0, 0), (0, 1, 0), (0, 0, -1)),
    "left": ((0, 0, 1), (0, 1, 0), (-1, 0, 0)),
    "right": ((0, 0, -1), (0, 1, 0), (1, 0, 0)),
}


@dataclass(frozen=True)
class Camera:
    """A view's camera on its framed square image.

    size: edge of the framed image in pixels.
    center: (col, row) of the principal point in framed pixels.
    tan_half: tangent of the half-angle of half the framed image; 0 is orthographic.
    """

    slot: str
    size: int
    center: tuple[float, float]
    tan_half: float = 0.0

    @property
    def basis(self) -> NDArray[np.float64]:
        """(3, 3): rows are the right, up and toward-camera axes in world coordinates."""
        return np.asarray(SLOT_AXES[self.slot], dtype=np.float64)

    @property
    def toward(self) -> NDArray[np.float64]:
        """(3,) unit vector from the object toward the camera."""
        return self.basis[2]

    def position(self) -> NDArray[np.float64] | None:
        """(3,) camera centre in world units, or ``None`` for an orthographic camera."""
        return None if self.tan_half <= 0 else self.toward / self.tan_half

    @property
    def axes(self) -> tuple[int, int, int, int]:
        """``(right_axis, right_sign, toward_axis, toward_sign)`` of this axis-aligned camera."""
        b = self.basis
        ra, ta = int(np.argmax(np.abs(b[0]))), int(np.argmax(np.abs(b[2])))
        return ra, int(np.sign(b[0, ra])), ta, int(np.sign(b[2, ta]))

    def pixel_cols(self, right: NDArray[np.floating], scale: NDArray[np.floating] | float
                   ) -> NDArray[np.float32]:
        """Pixel columns of camera-right coordinates at a depth ``scale``."""
        return np.asarray(self.center[0] + right / scale * (self.size / 2) - 0.5, np.float32)

    def pixel_rows(self, up: NDArray[np.floating], scale: NDArray[np.floating] | float
                   ) -> NDArray[np.float32]:
        """Pixel rows of camera-up coordinates at a depth ``scale``."""
        return np.asarray(self.center[1] - up / scale * (self.size / 2) - 0.5, np.float32)

    def project(self, points: NDArray[np.floating]) -> tuple[NDArray[np.float32], ...]:
        """Project world points (M, 3) to framed pixels.

        Returns ``(col, row, depth_scale)``, each (M,) float32: continuous pixel coordinates
        (pixel centres at integers) and ``1 - z_toward * tan_half``, the factor that turns an
        image-plane length back into world units at that point's depth.
        """
        ra, rs, ta, ts = self.axes
        p = np.asarray(points, dtype=np.float32)
        scale = np.float32(1.0) - ts * p[:, ta] * np.float32(self.tan_half)
        col = self.pixel_cols(rs * p[:, ra], scale)
        row = self.pixel_rows(p[:, 1], scale)
        return col, row, scale.astype(np.float32)

    def view_directions(self, points: NDArray[np.floating]) -> NDArray[np.float32]:
        """(M, 3) float32 unit vectors from each world point toward this camera."""
        pos = self.position()
        if pos is None:
            return np.broadcast_to(self.toward.astype(np.float32), (len(points), 3))
        d = pos.astype(np.float32)[None, :] - np.asarray(points, dtype=np.float32)
        d *= (1.0 / np.sqrt(np.einsum("ij,ij->i", d, d)))[:, None]
        return d
