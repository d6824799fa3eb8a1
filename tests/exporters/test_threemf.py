"""3MF output re-read by trimesh's 3MF reader (lxml) and checked as a zip package."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import trimesh

from meshsmith.exporters import export
from meshsmith.mesh import Mesh


def _to_gltf_metres(vertices: np.ndarray) -> np.ndarray:
    """3MF millimetres, +Z up -> glTF metres, +Y up (the inverse of the writer's mapping)."""
    v = np.asarray(vertices, dtype=np.float64) / 1000.0
    return np.column_stack([v[:, 0], v[:, 2], -v[:, 1]])


def test_3mf_round_trip_keeps_a_closed_outward_surface_in_millimetres(
    untextured_mesh: Mesh, tmp_path: Path
) -> None:
    path = tmp_path / "model.3mf"
    assert export(untextured_mesh, path) == [path]
    loaded = trimesh.load(path, force="mesh", process=False)
    assert len(loaded.faces) == len(untextured_mesh.faces)
    back = _to_gltf_metres(loaded.vertices)
    np.testing.assert_allclose([back.min(axis=0), back.max(axis=0)], untextured_mesh.bounds,
                               atol=1e-5)
    merged = trimesh.Trimesh(loaded.vertices, loaded.faces)  # merges the duplicate vertices
    assert merged.is_watertight
    assert merged.volume > 0  # counter-clockwise from outside, as 3MF requires


def test_3mf_package_has_the_opc_parts_slicers_look_for(untextured_mesh: Mesh,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "model.3mf"
    export(untextured_mesh, path)
    with zipfile.ZipFile(path) as z:
        assert {"[Content_Types].xml", "_rels/.rels", "3D/3dmodel.model"} <= set(z.namelist())
        model = z.read("3D/3dmodel.model").decode()
    assert 'unit="millimeter"' in model
    assert model.count("<triangle ") == len(untextured_mesh.faces)


def test_3mf_writes_each_part_as_its_own_named_object(untextured_mesh: Mesh,
                                                      tmp_path: Path) -> None:
    upper = untextured_mesh.vertices[untextured_mesh.faces].mean(axis=1)[:, 1] > 0
    mesh = untextured_mesh.with_(part_ids=upper.astype(np.int32), part_names=("base", "top"))
    path = tmp_path / "parts.3mf"
    export(mesh, path)
    scene = trimesh.load(path, process=False)
    assert isinstance(scene, trimesh.Scene)
    assert len(scene.geometry) == 2
    assert sum(len(g.faces) for g in scene.geometry.values()) == len(mesh.faces)
    with zipfile.ZipFile(path) as z:
        model = z.read("3D/3dmodel.model").decode()
    assert 'name="base"' in model and 'name="top"' in model


@pytest.mark.parametrize("name", ['a "quoted" & <odd> part'])
def test_3mf_escapes_part_names(untextured_mesh: Mesh, tmp_path: Path, name: str) -> None:
    mesh = untextured_mesh.with_(part_ids=np.zeros(len(untextured_mesh.faces), np.int32),
                                 part_names=(name,))
    export(mesh, tmp_path / "odd.3mf")
    assert len(trimesh.load(tmp_path / "odd.3mf", force="mesh").faces) == len(mesh.faces)
