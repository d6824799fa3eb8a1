"""Colour by projection: charts -> UV rasterisation -> view blending -> texture."""

from __future__ import annotations

from collections.abc import Mapping

from meshsmith.engines.base import ViewImage
from meshsmith.mesh import Material, Mesh
from meshsmith.spec import TextureOptions


def texture_mesh(mesh: Mesh, views: Mapping[str, ViewImage], options: TextureOptions) -> Mesh:
    """A copy of ``mesh`` with projection-chart UVs and a baked base-colour texture."""
    from meshsmith.texturing.bake import bake
    from meshsmith.texturing.charts import build_atlas
    from meshsmith.texturing.raster import rasterize

    atlas = build_atlas(mesh.vertices, mesh.faces, options.size)
    texels = rasterize(atlas.uvs, atlas.uv_faces, options.size)
    image = bake(mesh, texels, views)
    material = Material(base_color=image, image_format=options.image_format,
                        unlit=not options.pbr)
    return mesh.with_(uvs=atlas.uvs, uv_faces=atlas.uv_faces, material=material)
