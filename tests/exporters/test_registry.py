"""The registry itself and the round trip that every registered format must pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from meshsmith.errors import ExportError, UnsupportedFormatError
from meshsmith.exporters import EXPORTERS, Exporter, export, format_for_path, get_exporter
from meshsmith.mesh import Mesh

from .conftest import TEXTURE_SIZE
from .readers import READERS

MESH_FIXTURES = ["textured_mesh", "untextured_mesh", "vertex_colored_mesh"]


def test_registry_entries_are_consistent() -> None:
    assert set(EXPORTERS) >= {"glb", "gltf", "obj", "stl", "ply"}
    extensions = [exporter.extension for exporter in EXPORTERS.values()]
    assert len(set(extensions)) == len(extensions)
    for name, exporter in EXPORTERS.items():
        assert isinstance(exporter, Exporter)
        assert exporter.name == name
        assert exporter.extension == exporter.extension.lower()
        assert exporter.extension.startswith(".")
        assert "/" in exporter.media_type
        assert exporter.description


def test_every_registered_format_has_an_independent_reader() -> None:
    assert set(EXPORTERS) <= set(READERS), set(EXPORTERS) - set(READERS)


@pytest.mark.parametrize("mesh_fixture", MESH_FIXTURES)
@pytest.mark.parametrize("exporter", EXPORTERS.values(), ids=list(EXPORTERS))
def test_round_trip(
    exporter: Exporter, mesh_fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    mesh: Mesh = request.getfixturevalue(mesh_fixture)
    path = tmp_path / f"model{exporter.extension}"

    written = export(mesh, path)

    assert written[0] == path
    assert all(p.is_file() and p.stat().st_size > 0 for p in written)
    summary = READERS[exporter.name](path)
    assert summary.faces == len(mesh.faces)
    np.testing.assert_allclose(summary.bounds, mesh.bounds, atol=1e-5)
    if exporter.textured and mesh.has_texture:
        assert summary.has_uvs
        assert summary.texture_size == (TEXTURE_SIZE, TEXTURE_SIZE)


@pytest.mark.parametrize("name", list(EXPORTERS))
def test_format_comes_from_the_extension(name: str, textured_mesh: Mesh, tmp_path: Path) -> None:
    extension = EXPORTERS[name].extension
    assert format_for_path(Path(f"a/model{extension}")) == name
    assert format_for_path(Path(f"MODEL{extension.upper()}")) == name
    written = export(textured_mesh, tmp_path / f"model{extension.upper()}")
    assert written[0].is_file()


def test_explicit_format_wins_over_the_extension(untextured_mesh: Mesh, tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    export(untextured_mesh, path, fmt="stl")
    assert path.stat().st_size == 84 + 50 * len(untextured_mesh.faces)


@pytest.mark.parametrize("fmt", ["dwg", "GLB", "", "blend"])
def test_unknown_format_is_rejected(fmt: str, untextured_mesh: Mesh, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError) as info:
        export(untextured_mesh, tmp_path / "model.glb", fmt=fmt)
    assert info.value.code == 10021003
    assert "glb" in info.value.message
    with pytest.raises(UnsupportedFormatError):
        get_exporter(fmt)


@pytest.mark.parametrize("name", ["model.dwg", "model", "model.blend", "glb"])
def test_unknown_extension_is_rejected(name: str, untextured_mesh: Mesh, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError) as info:
        export(untextured_mesh, tmp_path / name)
    assert info.value.code == UnsupportedFormatError.code
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("name", list(EXPORTERS))
def test_empty_mesh_is_an_export_error(name: str, tmp_path: Path) -> None:
    empty = Mesh(vertices=np.zeros((0, 3), np.float32), faces=np.zeros((0, 3), np.int32))
    with pytest.raises(ExportError) as info:
        export(empty, tmp_path / "model.out", fmt=name)
    assert info.value.code == 10060001


@pytest.mark.parametrize("name", list(EXPORTERS))
def test_non_finite_mesh_is_an_export_error(
    name: str, untextured_mesh: Mesh, tmp_path: Path
) -> None:
    vertices = untextured_mesh.vertices.copy()
    vertices[3, 1] = np.nan
    with pytest.raises(ExportError, match="NaN"):
        export(untextured_mesh.with_(vertices=vertices), tmp_path / "model.out", fmt=name)


def test_unwritable_path_is_an_export_error(untextured_mesh: Mesh, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="could not write"):
        export(untextured_mesh, tmp_path / "missing-dir" / "model.glb")
