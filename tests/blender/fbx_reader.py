# ruff: noqa: I001  (bpy must be the first import)
"""An independent FBX reader for the tests: Blender's own FBX importer, in Blender's Python.

    <blender python> -I fbx_reader.py MODEL.fbx REPORT.json

Imports MODEL.fbx into an empty scene and writes what it found as JSON: per mesh object its
polygon sizes, world-space bounds and corners, UV layers, colour attributes and materials;
per material the shader links and the Principled BSDF constants; per image its size,
whether it is packed (embedded), its packed bytes and, for small images, its pixels.
Uses the standard library and bpy only (this runs outside Meshsmith's environment).
"""

import bpy

import json
import sys

SMALL_IMAGE = 128 * 128  # pixels reported in full up to this many


def main() -> None:
    model, report = sys.argv[1], sys.argv[2]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=model)
    found = {
        "objects": [_object(obj) for obj in bpy.data.objects if obj.type == "MESH"],
        "materials": [_material(m) for m in bpy.data.materials if m.node_tree is not None],
        "images": [_image(image) for image in bpy.data.images],
    }
    with open(report, "w", encoding="utf-8") as out:
        json.dump(found, out)


def _object(obj) -> dict:
    mesh = obj.data
    world = [obj.matrix_world @ v.co for v in mesh.vertices]
    corners = [list(world[loop.vertex_index]) for loop in mesh.loops]
    uv_layer = mesh.uv_layers.active
    return {
        "name": obj.name,
        "polygon_sizes": [p.loop_total for p in mesh.polygons],
        "vertex_count": len(mesh.vertices),
        "bounds": [[min(w[i] for w in world) for i in range(3)],
                   [max(w[i] for w in world) for i in range(3)]],
        "corners": corners,
        "corner_uvs": [list(d.uv) for d in uv_layer.data] if uv_layer else None,
        "uv_layers": [layer.name for layer in mesh.uv_layers],
        "color_attributes": [a.name for a in mesh.color_attributes],
        "corner_colors": _colors(mesh),
        "materials": [m.name for m in mesh.materials if m is not None],
    }


def _colors(mesh) -> list | None:
    if not mesh.color_attributes:
        return None
    attribute = mesh.color_attributes[0]
    values = [list(d.color_srgb)[:3] for d in attribute.data]
    if attribute.domain == "CORNER":
        return values
    return [values[loop.vertex_index] for loop in mesh.loops]


def _material(material) -> dict:
    tree = material.node_tree
    bsdf = next((n for n in tree.nodes if n.type == "BSDF_PRINCIPLED"), None)
    links = [[link.from_node.type, link.from_socket.name, link.to_node.type, link.to_socket.name]
             for link in tree.links]
    images = {link.to_socket.name: link.from_node.image.name for link in tree.links
              if link.from_node.type == "TEX_IMAGE" and link.from_node.image is not None}
    constants = {}
    if bsdf is not None:
        constants = {name: _value(bsdf.inputs[name].default_value)
                     for name in ("Base Color", "Metallic", "Roughness")}
    return {"name": material.name, "links": links, "images": images, "constants": constants}


def _value(value):
    try:
        return list(value)
    except TypeError:
        return value


def _image(image) -> dict:
    width, height = image.size
    pixels = None
    if 0 < width * height <= SMALL_IMAGE:
        flat = list(image.pixels)
        pixels = [round(v * 255) for v in flat]
    return {
        "name": image.name,
        "size": [width, height],
        "channels": image.channels,
        "packed": image.packed_file is not None,
        "packed_bytes": image.packed_file.size if image.packed_file else 0,
        "file_format": image.file_format,
        "colorspace": image.colorspace_settings.name,
        "pixels": pixels,
    }


if __name__ == "__main__":
    main()
