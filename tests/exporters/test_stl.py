"""STL: binary layout and facet normals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

from meshsmith.exporters import export
from meshsmith.mesh import Mesh


def test_stl_is_binary(textured_mesh: Mesh, tmp_path: Path) -> None:
    path = tmp_path / "model.stl"
    export(textured_mesh, path)
    data = path.read_bytes()
    assert len(data) == 84 + 50 * len(textured_mesh.faces)
    assert not data.startswith(b"solid")
    assert int.from_bytes(data[80:84], "little") == len(textured_mesh.faces)


def test_stl_facets_and_normals(untextured_mesh: Mesh, tmp_path: Path) -> None:
    path = tmp_path / "model.stl"
    export(untextured_mesh, path)
    dtype = np.dtype([("normal", "<f4", (3,)), ("corners", "<f4", (3, 3)), ("attr", "<u2")])
    facets = np.frombuffer(path.read_bytes(), dtype=dtype, offset=84)
    normals, corners = facets["normal"], facets["corners"]
    assert (facets["attr"] == 0).all()
    np.testing.assert_array_equal(corners, untextured_mesh.vertices[untextured_mesh.faces])
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-6)
    loaded = trimesh.load(path, force="mesh", process=False)
    np.testing.assert_allclose(loaded.face_normals, normals, atol=1e-5)
