"""Colour by projection: charts -> UV rasterisation -> view blending -> texture."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from meshsmith.engines.base import ViewImage
from meshsmith.mesh import Material, Mesh
from meshsmith.spec import TextureOptions

if TYPE_CHECKING:
    from meshsmith.texturing.bake import DepthMap


def unwrap_mesh(mesh: Mesh, size: int) -> Mesh:
    """A copy of ``mesh`` with projection-chart UVs packed for a ``size``² texture."""
    from meshsmith.texturing.charts import build_atlas

    atlas = build_atlas(mesh.vertices, mesh.faces, size)
    return mesh.with_(uvs=atlas.uvs, uv_faces=atlas.uv_faces)


def texture_mesh(mesh: Mesh, views: Mapping[str, ViewImage], options: TextureOptions,
                 depths: Mapping[str, DepthMap] | None = None) -> Mesh:
    """A copy of ``mesh`` with a baked base-colour texture, on its own UVs when it has them
    (unwrapped in the geometry stage), else on new projection-chart UVs. With ``pbr`` the
    material also gets metallic-roughness and normal maps (:func:`~.pbr.pbr_maps`).
    ``depths``: the views' visibility depth maps when already made (see
    :func:`~.bake.depth_maps`)."""
    from meshsmith.texturing.bake import bake
    from meshsmith.texturing.raster import rasterize

    if mesh.uvs is None:
        mesh = unwrap_mesh(mesh, options.size)
    assert mesh.uvs is not None and mesh.uv_faces is not None
    texels = rasterize(mesh.uvs, mesh.uv_faces, options.size)
    image = bake(mesh, texels, views, front_wins=options.alignment == "original_image",
                 depths=depths)
    material = Material(base_color=image, image_format=options.image_format,
                        unlit=not options.pbr)
    textured = mesh.with_(material=material)
    if not options.pbr:
        return textured
    from meshsmith.texturing.pbr import pbr_maps

    return pbr_maps(textured, covered=texels.covered)
