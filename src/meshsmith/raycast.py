"""First-hit ray casting against one triangle mesh, on Embree (``embreex``).

The scene is built once and queried many times. Coordinates are shifted to the mesh's
lower corner and scaled to a box of about :data:`_BOX` units before they reach Embree's
float32 arithmetic, so precision does not depend on where or how large the model is.
``embreex`` is used directly: going through trimesh would import scipy.optimize and
networkx (about half a second) for a wrapper around the same call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

_BOX = 100.0


class RayCaster:
    """Embree's first-hit query over ``vertices`` (V, 3) and ``faces`` (F, 3) int."""

    def __init__(self, vertices: NDArray[np.floating[Any]], faces: NDArray[np.integer[Any]]
                 ) -> None:
        from embreex import rtcore_scene
        from embreex.mesh_construction import TriangleMesh

        v = np.asarray(vertices, dtype=np.float64)
        self._origin = v.min(axis=0) if len(v) else np.zeros(3)
        extent = float(np.ptp(v, axis=0).max()) if len(v) else 0.0
        self._scale = _BOX / extent if extent > 0 else 1.0
        self._scene = rtcore_scene.EmbreeScene()
        TriangleMesh(scene=self._scene,
                     vertices=((v - self._origin) * self._scale).astype(np.float32),
                     indices=np.ascontiguousarray(faces, dtype=np.int32))

    def first_hits(self, origins: NDArray[np.floating[Any]], dirs: NDArray[np.floating[Any]]
                   ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """Rays (origins, dirs: (N, 3), world units; dirs need not be unit length).

        Returns ``(ray indices (H,), face indices (H,), distances (H,))`` for the rays that
        hit, each distance in world units along the unit direction.
        """
        d = np.asarray(dirs, dtype=np.float64)
        d = d / np.linalg.norm(d, axis=1, keepdims=True)
        o = (np.asarray(origins, dtype=np.float64) - self._origin) * self._scale
        out = self._scene.run(o.astype(np.float32), d.astype(np.float32), output=1)
        prim = np.asarray(out["primID"], dtype=np.int64)
        ray = np.nonzero(prim >= 0)[0]
        dist = np.asarray(out["tfar"], dtype=np.float64)[ray] / self._scale
        return ray, prim[ray], dist
