# ruff: noqa: I001  (bpy must be the first import; see below)
"""The Blender side: one job per process, run by Blender's own Python (``.venv-blender``).

This file runs under a different interpreter from Meshsmith: it may import the standard
library, numpy and bpy only, never ``meshsmith``. ``bpy`` is imported first because it fails
to load after some native libraries (pymeshlab, coacd) in the same process.

Protocol (see :func:`meshsmith.blender.run_job`): ``python -I _worker.py JOB``; stdin holds an
``np.savez`` archive of arrays plus ``params`` (UTF-8 JSON as a uint8 array). The reply on
stdout is :data:`MAGIC` followed by an ``np.savez`` archive of result arrays plus ``result``
(JSON). Anything Blender prints goes to stderr. A failure Meshsmith expects is a result
``{"error": {"kind": ..., "message": ...}}``; anything else is a traceback and exit status 1.

Axes: the arrays arrive in Blender's axes (Z up, front facing -Y); the caller converts.
"""

import bpy

import io
import json
import os
import sys
from typing import Any

import numpy as np
from numpy.typing import NDArray

MAGIC = b"MESHSMITH-BLENDER-RESULT\n"
Arrays = dict[str, NDArray[Any]]


def main() -> int:
    """Run the job named in ``sys.argv[1]`` on the archive read from stdin."""
    result_fd = os.dup(1)
    os.dup2(2, 1)  # whatever Blender prints (C or Python) now goes to stderr
    job = sys.argv[1]
    bpy.ops.wm.read_factory_settings(use_empty=True)  # before reading: the caller is busy
    with np.load(io.BytesIO(sys.stdin.buffer.read()), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    params = json.loads(arrays.pop("params").tobytes().decode("utf-8"))
    out_arrays, result = JOBS[job](arrays, params)
    _reply(result_fd, out_arrays, result)
    return 0


def _reply(fd: int, arrays: Arrays, result: dict[str, Any]) -> None:
    """Write :data:`MAGIC` and the archive of ``arrays`` plus ``result`` to ``fd``."""
    payload = io.BytesIO()
    text = np.frombuffer(json.dumps(result).encode("utf-8"), dtype=np.uint8)
    contents: dict[str, Any] = {**arrays, "result": text}
    np.savez(payload, **contents)
    with os.fdopen(fd, "wb") as out:
        out.write(MAGIC + payload.getvalue())


# --- FBX export ----------------------------------------------------------------------------


def export_fbx(arrays: Arrays, params: dict[str, Any]) -> tuple[Arrays, dict[str, Any]]:
    """Build one object per part (``p{i}_*`` arrays), one material, and write ``params.path``.

    Per part: ``vertices`` (V, 3) float32, ``corners`` (L,) int32 vertex index per polygon
    corner, ``sizes`` (P,) int32 corners per polygon (3 or 4), optional ``uvs`` (L, 2) float32
    per corner and ``colors`` (V, 3) uint8 sRGB. Images: ``image_<slot>`` encoded bytes.
    """
    material = _material(arrays, params)
    for index, name in enumerate(params["part_names"]):
        part = {k.split("_", 1)[1]: v for k, v in arrays.items() if k.startswith(f"p{index}_")}
        obj = _object(name, part)
        obj.data.materials.append(material)
    bpy.ops.export_scene.fbx(
        filepath=params["path"],
        object_types={"MESH"},
        axis_forward="-Z",
        axis_up="Y",
        apply_scale_options="FBX_SCALE_ALL",
        bake_space_transform=True,
        mesh_smooth_type="OFF",  # per-corner normals, no smoothing groups
        use_mesh_edges=False,
        use_tspace=False,  # tangents: readers compute MikkTSpace ones (2-5 s at 1M faces)
        bake_anim=False,
        path_mode="COPY",
        embed_textures=True,
        colors_type="SRGB",
    )
    return {}, {"objects": [obj.name for obj in bpy.data.objects]}


def _object(name: str, part: Arrays) -> Any:
    """A mesh object named ``name`` linked to the scene, built from one part's arrays."""
    mesh = _mesh(name, part["vertices"], part["corners"], part["sizes"])
    if "uvs" in part:
        layer = mesh.uv_layers.new(name="UVMap")
        layer.data.foreach_set("uv", part["uvs"].astype(np.float32).ravel())
    if "colors" in part:
        _vertex_colors(mesh, part["colors"])
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def _mesh(name: str, vertices: NDArray[Any], corners: NDArray[Any], sizes: NDArray[Any]) -> Any:
    """A smooth-shaded bpy mesh from (V, 3) positions and polygons given as corner runs."""
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(vertices))
    mesh.vertices.foreach_set("co", vertices.astype(np.float32).ravel())
    mesh.loops.add(len(corners))
    # The corner attribute takes the array at memory speed; loops.foreach_set is 400x slower.
    mesh.attributes[".corner_vert"].data.foreach_set("value", corners.astype(np.int32))
    mesh.polygons.add(len(sizes))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int32)
    mesh.polygons.foreach_set("loop_start", starts)
    mesh.update(calc_edges=True)
    mesh.shade_smooth()
    return mesh


def _vertex_colors(mesh: Any, colors: NDArray[Any]) -> None:
    """Store (V, 3) uint8 sRGB colours as a byte colour attribute on the points."""
    attribute = mesh.color_attributes.new(name="Color", type="BYTE_COLOR", domain="POINT")
    rgba = np.ones((len(colors), 4), dtype=np.float32)
    rgba[:, :3] = colors / 255.0
    attribute.data.foreach_set("color_srgb", rgba.ravel())
    mesh.color_attributes.active_color = attribute


def _material(arrays: Arrays, params: dict[str, Any]) -> Any:
    """A Principled BSDF material wired to the images in ``arrays`` (constants otherwise)."""
    material = bpy.data.materials.new(params["material_name"])
    material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    bsdf = nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*params["base_color"], 1.0)
    bsdf.inputs["Metallic"].default_value = params["metallic"]
    bsdf.inputs["Roughness"].default_value = params["roughness"]
    for slot, (socket, colorspace) in IMAGE_SLOTS.items():
        if f"image_{slot}" not in arrays:
            continue
        node = nodes.new("ShaderNodeTexImage")
        node.image = _image(f"{params['stem']}_{slot}", arrays[f"image_{slot}"], params, slot)
        node.image.colorspace_settings.name = colorspace
        if slot == "normal":
            normal = nodes.new("ShaderNodeNormalMap")
            links.new(node.outputs["Color"], normal.inputs["Color"])
            links.new(normal.outputs["Normal"], bsdf.inputs["Normal"])
        else:
            links.new(node.outputs["Color"], bsdf.inputs[socket])
    return material


#: Image slot -> (Principled BSDF input, colour space). Metallic and roughness are separate
#: grey images linked straight to their sockets, the form Blender's FBX exporter writes.
IMAGE_SLOTS = {
    "basecolor": ("Base Color", "sRGB"),
    "normal": ("Normal", "Non-Color"),
    "metallic": ("Metallic", "Non-Color"),
    "roughness": ("Roughness", "Non-Color"),
}


def _image(name: str, data: NDArray[Any], params: dict[str, Any], slot: str) -> Any:
    """A packed image decoded from encoded bytes (PNG or JPEG) in a (N,) uint8 array."""
    extension = params["image_extensions"][slot]
    image = bpy.data.images.new(name, 1, 1)
    image.filepath = f"//{name}.{extension}"
    image.pack(data=data.tobytes(), data_len=len(data))
    image.source = "FILE"
    return image


# --- QuadriFlow ----------------------------------------------------------------------------


def quadriflow(arrays: Arrays, params: dict[str, Any]) -> tuple[Arrays, dict[str, Any]]:
    """Remesh ``vertices`` (V, 3) / ``faces`` (F, 3) with QuadriFlow to ``params.faces`` quads.

    Returns ``vertices`` (N, 3) float32, ``corners`` (L,) int32 and ``sizes`` (P,) int32.
    """
    faces = arrays["faces"]
    mesh = _mesh("remesh", arrays["vertices"], faces.ravel(), np.full(len(faces), 3, np.int32))
    obj = bpy.data.objects.new("remesh", mesh)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    status = bpy.ops.object.quadriflow_remesh(
        mode="FACES", target_faces=int(params["faces"]), seed=int(params["seed"]),
        use_mesh_symmetry=False, use_preserve_sharp=False, use_preserve_boundary=False,
    )
    if "FINISHED" not in status or not _has_quads(obj.data):
        message = (
            "QuadriFlow could not remesh this mesh: it needs a closed, manifold surface "
            "with consistently oriented faces"
        )
        return {}, {"error": {"kind": "remesh", "message": message}}
    return _polygon_arrays(obj.data), {}


def _has_quads(mesh: Any) -> bool:
    """Whether any polygon of a bpy mesh has four corners (QuadriFlow produced output)."""
    sizes = np.empty(len(mesh.polygons), dtype=np.int32)
    mesh.polygons.foreach_get("loop_total", sizes)
    return bool((sizes == 4).any())


def _polygon_arrays(mesh: Any) -> Arrays:
    """(N, 3) vertices, (L,) corners and (P,) sizes of a bpy mesh."""
    vertices = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", vertices)
    corners = np.empty(len(mesh.loops), dtype=np.int32)
    mesh.loops.foreach_get("vertex_index", corners)
    sizes = np.empty(len(mesh.polygons), dtype=np.int32)
    mesh.polygons.foreach_get("loop_total", sizes)
    return {"vertices": vertices.reshape(-1, 3), "corners": corners, "sizes": sizes}


JOBS = {"fbx": export_fbx, "quadriflow": quadriflow}

if __name__ == "__main__":
    sys.exit(main())
