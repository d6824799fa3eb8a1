"""The cover image: a real offscreen OpenGL render of the finished model.

Every successful task gets a preview PNG (the dialects' ``cover_url`` / ``rendered_image``):
the model from a three-quarter view (45° from the front toward +X, 20° above), textured and
lit by a key light from the camera's upper left, a fill light and ambient, on a transparent
background. Rendering uses moderngl on EGL (Mesa's llvmpipe on a machine without a GPU) into
a linear float target at twice the size, averaged 2x2 (on llvmpipe that is 2-3x faster than
4x MSAA at the same sample count); the image is encoded to sRGB with straight alpha.

One OpenGL context per process is created on first use and reused under a lock (creating it
costs about 0.4 s on llvmpipe); every other GL object lives for one render only.
"""

from __future__ import annotations

import math
import os
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from meshsmith.errors import MissingDependencyError, RenderError
from meshsmith.exporters._geometry import face_normals, vertex_normals
from meshsmith.exporters._image import srgb_to_linear
from meshsmith.mesh import ByteArray, FloatArray, IntArray, Mesh

AZIMUTH_DEG = 45.0  # from the front (+Z) toward +X
ELEVATION_DEG = 20.0
FOV_DEG = 35.0
#: The bounding sphere fills the view's shorter half-angle divided by this.
MARGIN = 1.08
#: Rendered at this many times the output size, then box-averaged.
SUPERSAMPLE = 2
#: Textures are downscaled to at most max(this, 2 x size) texels a side before upload
#: (uploading a 2048² texture with mipmaps costs about 0.13 s on llvmpipe, 1024² 0.02 s).
MIN_TEXTURE_LIMIT = 1024
#: (ambient, key, fill) intensities; a surface facing the key light reaches 1.0.
LIGHTS = (0.22, 0.78, 0.28)
#: Light directions in camera space (x right, y up, z toward the viewer).
KEY_LIGHT = (-0.55, 0.65, 0.55)
FILL_LIGHT = (0.7, -0.15, 0.45)
#: Faces bending more than this from a corner's smooth normal are shaded flat, on meshes
#: of at most CREASE_MAX_FACES (above that, smooth normals already hold an edge's sharpness
#: within a pixel, and the check costs 0.4 s at 1M faces).
CREASE_DEG = 40.0
CREASE_MAX_FACES = 300_000
#: Linear base colour of untextured, uncoloured models (the GLB writer's default).
UNTEXTURED_GREY = 0.8
#: fast-simplification's aggressiveness (as the decimation step uses).
AGGRESSIVENESS = 9
_GL_SRGB8 = 0x8C41
_EGL_HINT = (
    "offscreen OpenGL (EGL) is unavailable: install Mesa's EGL and OpenGL drivers "
    "(Debian/Ubuntu: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri)"
)


@dataclass(frozen=True)
class _Geometry:
    """One index buffer, ready to upload.

    vertices: (N, 11) float32 rows of position (model units), unit normal, uv, linear colour.
    faces: (F, 3) int32.
    """

    vertices: FloatArray
    faces: IntArray


@dataclass(frozen=True)
class _Camera:
    """mvp: (4, 4) float32 row-major clip-from-model; key, fill: (3,) world-space unit
    vectors toward the lights; eye: (3,) the camera's position (model units)."""

    mvp: FloatArray
    key: FloatArray
    fill: FloatArray
    eye: FloatArray


#: Meshes above this many faces are drawn from a decimated copy. Drawing all of a 1M-face
#: model costs about 0.2 s more than 200k on llvmpipe, while decimating costs 0.7-2 s, so
#: only meshes beyond the pipeline's largest face target are decimated.
COVER_MAX_FACES = 2_000_000

def render_cover(mesh: Mesh, size: int = 512, max_faces: int = COVER_MAX_FACES) -> ByteArray:
    """Render ``mesh`` as a (size, size, 4) uint8 RGBA image (sRGB, straight alpha).

    The background is transparent (alpha 0). Meshes above ``max_faces`` are rendered from a
    decimated copy. Raises :class:`RenderError` when OpenGL is unavailable or the mesh has no
    faces, :class:`MissingDependencyError` when moderngl is not installed.
    """
    if size < 1 or max_faces < 1:
        raise ValueError(f"size and max_faces must be positive; got {size}, {max_faces}")
    if len(mesh.faces) == 0:
        raise RenderError("the mesh has no faces to render")
    geometry = _geometry(mesh, max_faces)
    camera = _camera(geometry.vertices[geometry.faces.ravel(), :3])
    texture = None
    if mesh.has_texture:
        texture = _texture(mesh.material.base_color, max(MIN_TEXTURE_LIMIT, 2 * size))
    with _LOCK:
        renderer = _renderer()
        premultiplied = renderer.render(geometry, camera, texture, mesh.material.unlit,
                                        size * SUPERSAMPLE)
    return _encode(premultiplied, SUPERSAMPLE)


def write_cover(mesh: Mesh, path: Path, size: int = 512) -> Path:
    """Render ``mesh`` (see :func:`render_cover`) and write it to ``path`` as a PNG."""
    from PIL import Image

    Image.fromarray(render_cover(mesh, size)).save(path, format="PNG")
    return path


# --- geometry ------------------------------------------------------------------------------


def _geometry(mesh: Mesh, max_faces: int) -> _Geometry:
    """Split by UV to one index buffer, decimate above ``max_faces``, add normals and colours."""
    positions, uvs, faces, source = _one_index_buffer(mesh)
    decimated = len(faces) > max_faces
    if decimated:
        keep, faces = _decimate(positions, faces, max_faces)
        positions, source = positions[keep], source[keep]
        uvs = None if uvs is None else uvs[keep]
    normals = _welded_normals(positions, faces, source)
    if uvs is None:
        uvs = np.zeros((len(positions), 2), np.float32)
    colors = _vertex_colors(mesh, source)
    rows = np.concatenate([positions, normals, uvs, colors], axis=1, dtype=np.float32)
    faces = np.ascontiguousarray(faces, np.int32)
    if not decimated and len(faces) <= CREASE_MAX_FACES:  # (a decimated copy's slivers
        rows, faces = _flat_at_creases(rows, faces)     # would read as creases)
    return _Geometry(vertices=rows, faces=faces)


def _one_index_buffer(mesh: Mesh
                      ) -> tuple[FloatArray, FloatArray | None, IntArray, NDArray[np.int64]]:
    """:meth:`Mesh.split_by_uv`'s ``(positions, uvs, faces, source)``, fast when it can be.

    When every UV index is used by one vertex only (as atlas UVs are), the UV index buffer
    already is the split: this check costs one gather instead of sorting 3F keys (0.4 s at
    1M faces). Unused UV rows then become stray vertices no face references.
    """
    if mesh.uvs is None or mesh.uv_faces is None:
        return mesh.split_by_uv()
    source = np.zeros(len(mesh.uvs), dtype=np.int64)
    source[mesh.uv_faces.ravel()] = mesh.faces.ravel()
    if not np.array_equal(source[mesh.uv_faces], mesh.faces):
        return mesh.split_by_uv()
    faces = np.ascontiguousarray(mesh.uv_faces, dtype=np.int32)
    return mesh.vertices[source], mesh.uvs, faces, source


def _decimate(positions: FloatArray, faces: IntArray, target: int
              ) -> tuple[NDArray[np.int64], IntArray]:
    """Quadric-decimate toward ``target`` faces, keeping surviving vertices where they were.

    Returns ``(keep (K,), faces (F', 3))``: the indices of the input vertices that survive and
    the new faces indexing them. The faces are rebuilt from the library's collapse history
    (each collapsed vertex becomes its final survivor; faces left with a repeated corner are
    dropped), which gives exactly its faces. Border (UV seam) vertices never collapse, so the
    two sides of a seam stay joined; survivors keep their original position, so their UVs
    stay exact (the library's optimal positions would slide the texture).
    """
    try:
        import fast_simplification
    except ImportError as exc:
        raise MissingDependencyError(
            "fast-simplification is not installed: pip install fast-simplification==0.2.0"
        ) from exc
    _, _, collapses = fast_simplification.simplify(
        positions, faces, target_count=target, agg=AGGRESSIVENESS, return_collapses=True,
        preserve_border=True,
    )
    pairs = np.asarray(collapses, np.int64).reshape(-1, 2)
    final = np.arange(len(positions), dtype=np.int64)
    final[pairs[:, 1]] = pairs[:, 0]
    while not np.array_equal(hop := final[final], final):  # follow chains to their survivor
        final = hop
    new = final[faces]
    new = new[(new[:, 0] != new[:, 1]) & (new[:, 1] != new[:, 2]) & (new[:, 2] != new[:, 0])]
    used = np.zeros(len(positions), dtype=bool)
    used[new.ravel()] = True
    index = np.cumsum(used) - 1
    return np.flatnonzero(used), index[new].astype(np.int32)


def _welded_normals(positions: FloatArray, faces: IntArray, source: NDArray[np.int64]
                    ) -> FloatArray:
    """(N, 3) float32 smooth unit normals, area-weighted and shared by every split copy of an
    original vertex (``source``), so UV seams do not show in the shading."""
    welded = np.zeros((int(source.max()) + 1, 3), dtype=np.float32)
    welded[source] = positions
    return vertex_normals(welded, source[faces].astype(np.int32))[source]


def _flat_at_creases(rows: FloatArray, faces: IntArray) -> tuple[FloatArray, IntArray]:
    """Give faces that meet a sharp edge their own flat-shaded corners.

    rows: (N, 11) as :class:`_Geometry`; a face whose normal is more than
    :data:`CREASE_DEG` from a corner's smooth normal (a cube's faces, a cylinder's rim) gets
    three new rows carrying the face normal, so low-poly models keep crisp edges.
    """
    normals = face_normals(rows[:, :3], faces)
    cosines = np.einsum("fk,fck->fc", normals, rows[:, 3:6][faces])
    creased = (cosines.min(axis=1) < math.cos(math.radians(CREASE_DEG))) & normals.any(axis=1)
    if not creased.any():
        return rows, faces
    corners = rows[faces[creased]].reshape(-1, rows.shape[1])
    corners[:, 3:6] = np.repeat(normals[creased], 3, axis=0)
    faces = faces.copy()
    faces[creased] = (len(rows) + np.arange(len(corners))).reshape(-1, 3)
    return np.concatenate([rows, corners]), faces


def _vertex_colors(mesh: Mesh, source: NDArray[np.int64]) -> FloatArray:
    """(N, 3) float32 linear colour multiplying the texture: vertex colours for untextured
    meshes, white under a texture, else flat grey (as the GLB writer does)."""
    if mesh.has_texture:
        return np.ones((len(source), 3), np.float32)
    if mesh.vertex_colors is not None:
        lut = srgb_to_linear(np.arange(256, dtype=np.uint8)[:, None])[:, 0]
        return lut[mesh.vertex_colors[source]]
    return np.full((len(source), 3), UNTEXTURED_GREY, np.float32)


def _texture(image: ByteArray | None, limit: int) -> ByteArray | None:
    """The (H, W, 3) uint8 sRGB base colour, downscaled to at most ``limit`` texels a side."""
    if image is None or max(image.shape[:2]) <= limit:
        return image
    from PIL import Image

    scale = limit / max(image.shape[:2])
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    resized = Image.fromarray(np.ascontiguousarray(image)).resize(size, Image.Resampling.BOX)
    return np.asarray(resized, dtype=np.uint8)


# --- camera --------------------------------------------------------------------------------


def _camera(points: FloatArray) -> _Camera:
    """A perspective camera framing the bounding sphere of (N, 3) ``points``."""
    low, high = points.min(axis=0).astype(np.float64), points.max(axis=0).astype(np.float64)
    centre = (low + high) / 2
    radius = max(float(np.sqrt(((points - centre) ** 2).sum(axis=1).max())), 1e-6)
    half_fov = math.radians(FOV_DEG) / 2
    distance = radius * MARGIN / math.sin(half_fov)
    az, el = math.radians(AZIMUTH_DEG), math.radians(ELEVATION_DEG)
    direction = np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
    eye = centre + distance * direction
    view = _look_at(eye, centre)
    near = max(distance - radius * 1.05, distance * 1e-3)
    proj = _perspective(half_fov, near, distance + radius * 1.05)
    to_world = view[:3, :3].T  # camera space -> world space (rotation only)
    key, fill = (to_world @ _unit(np.array(d)) for d in (KEY_LIGHT, FILL_LIGHT))
    return _Camera(mvp=(proj @ view).astype(np.float32), key=key.astype(np.float32),
                   fill=fill.astype(np.float32), eye=eye.astype(np.float32))


def _look_at(eye: NDArray[np.float64], target: NDArray[np.float64]) -> NDArray[np.float64]:
    """(4, 4) view matrix, +Y up (the camera is never straight above the model)."""
    back = _unit(eye - target)
    right = _unit(np.cross([0.0, 1.0, 0.0], back))
    up = np.cross(back, right)
    view = np.eye(4)
    view[:3, :3] = np.stack([right, up, back])
    view[:3, 3] = -view[:3, :3] @ eye
    return view


def _perspective(half_fov: float, near: float, far: float) -> NDArray[np.float64]:
    """(4, 4) OpenGL projection, square aspect."""
    f = 1.0 / math.tan(half_fov)
    return np.array([
        [f, 0, 0, 0],
        [0, f, 0, 0],
        [0, 0, (far + near) / (near - far), 2 * far * near / (near - far)],
        [0, 0, -1, 0],
    ])


def _unit(v: NDArray[np.float64]) -> NDArray[np.float64]:
    return v / np.linalg.norm(v)


# --- encoding ------------------------------------------------------------------------------


def _encode(premultiplied: NDArray[np.float32], factor: int) -> ByteArray:
    """(H, W, 4) linear premultiplied float, rows bottom-up -> (H/factor, W/factor, 4) uint8
    sRGB with straight alpha, rows top-down; each output pixel averages factor² samples."""
    h, w = premultiplied.shape[0] // factor, premultiplied.shape[1] // factor
    blocks = premultiplied[: h * factor, : w * factor].reshape(h, factor, w, factor, 4)
    image = np.flipud(blocks.mean(axis=(1, 3), dtype=np.float32))
    alpha = np.clip(image[..., 3:], 0.0, 1.0)
    rgb = np.clip(np.divide(image[..., :3], alpha, out=np.zeros_like(image[..., :3]),
                            where=alpha > 0), 0.0, 1.0)
    srgb = np.where(rgb <= 0.0031308, rgb * 12.92, 1.055 * rgb ** (1 / 2.4) - 0.055)
    out = np.concatenate([srgb, alpha], axis=2) * 255.0 + 0.5
    return out.astype(np.uint8)


# --- OpenGL --------------------------------------------------------------------------------

_VERTEX_SHADER = """
#version 330
uniform mat4 mvp;
in vec3 in_position;
in vec3 in_normal;
in vec2 in_uv;
in vec3 in_color;
out vec3 v_position;
out vec3 v_normal;
out vec2 v_uv;
out vec3 v_color;
void main() {
    gl_Position = mvp * vec4(in_position, 1.0);
    v_position = in_position;
    v_normal = in_normal;
    v_uv = in_uv;
    v_color = in_color;
}
"""

_FRAGMENT_SHADER = """
#version 330
uniform sampler2D base_color;
uniform bool textured;
uniform bool unlit;
uniform vec3 key_dir;
uniform vec3 fill_dir;
uniform vec3 lights;  // ambient, key, fill
uniform vec3 eye;
in vec3 v_position;
in vec3 v_normal;
in vec2 v_uv;
in vec3 v_color;
out vec4 frag;
void main() {
    vec3 albedo = v_color;
    if (textured) {
        // Mesh UVs start at the image's bottom-left; the image was uploaded top row first.
        albedo *= texture(base_color, vec2(v_uv.x, 1.0 - v_uv.y)).rgb;
    }
    vec3 n = normalize(v_normal);
    // The inside of an open surface is lit like its outside. A folded sliver (back-facing by
    // winding, but its smooth normal faces the camera) keeps its normal.
    if (!gl_FrontFacing && dot(n, eye - v_position) < 0.0) n = -n;
    float shade = lights.x + lights.y * max(dot(n, key_dir), 0.0)
                + lights.z * max(dot(n, fill_dir), 0.0);
    frag = vec4(albedo * (unlit ? 1.0 : shade), 1.0);
}
"""


class _Renderer:
    """An EGL context and its compiled program, owned by the process that created it."""

    def __init__(self, ctx: Any) -> None:
        import moderngl

        self.ctx, self.pid, self.gl_error = ctx, os.getpid(), moderngl.Error
        try:
            with ctx:
                self.program = ctx.program(vertex_shader=_VERTEX_SHADER,
                                           fragment_shader=_FRAGMENT_SHADER)
        except moderngl.Error as exc:
            raise RenderError(f"the cover shaders did not compile: {exc}") from exc

    def render(self, geometry: _Geometry, camera: _Camera, texture: ByteArray | None,
               unlit: bool, size: int) -> NDArray[np.float32]:
        """(size, size, 4) float32 linear premultiplied RGBA, rows bottom-up."""
        try:
            return self._render(geometry, camera, texture, unlit, size)
        except self.gl_error as exc:
            raise RenderError(f"the cover render failed ({size}² samples): {exc}") from exc

    def _render(self, geometry: _Geometry, camera: _Camera, texture: ByteArray | None,
                unlit: bool, size: int) -> NDArray[np.float32]:
        with self.ctx, ExitStack() as stack:
            own = _releaser(stack)
            ctx, prog = self.ctx, self.program
            target = own(ctx.framebuffer([own(ctx.renderbuffer((size, size), 4, dtype="f2"))],
                                         own(ctx.depth_renderbuffer((size, size)))))
            vao = own(ctx.vertex_array(
                prog, [(own(ctx.buffer(geometry.vertices.tobytes())), "3f 3f 2f 3f",
                        "in_position", "in_normal", "in_uv", "in_color")],
                index_buffer=own(ctx.buffer(geometry.faces.tobytes())), index_element_size=4))
            self._set_uniforms(camera, unlit, texture is not None)
            own(self._upload_texture(texture)).use(location=0)
            target.use()
            ctx.enable(ctx.DEPTH_TEST)
            ctx.clear(0.0, 0.0, 0.0, 0.0)
            vao.render()
            data = target.read(components=4, dtype="f4")
        return np.frombuffer(data, dtype=np.float32).reshape(size, size, 4)

    def _set_uniforms(self, camera: _Camera, unlit: bool, textured: bool) -> None:
        prog = self.program
        prog["mvp"].write(np.ascontiguousarray(camera.mvp.T).tobytes())
        prog["key_dir"].value = tuple(float(x) for x in camera.key)
        prog["fill_dir"].value = tuple(float(x) for x in camera.fill)
        prog["lights"].value = LIGHTS
        prog["eye"].value = tuple(float(x) for x in camera.eye)
        prog["unlit"].value = unlit
        prog["textured"].value = textured
        prog["base_color"].value = 0

    def _upload_texture(self, image: ByteArray | None) -> Any:
        """An sRGB texture with mipmaps (sampling returns linear colour); 1x1 white if none."""
        if image is None:
            image = np.full((1, 1, 3), 255, np.uint8)
        h, w = image.shape[:2]
        tex = self.ctx.texture((w, h), 3, np.ascontiguousarray(image, np.uint8).tobytes(),
                               alignment=1, internal_format=_GL_SRGB8)
        tex.repeat_x = tex.repeat_y = False
        tex.build_mipmaps()
        tex.anisotropy = 8.0
        return tex


def _releaser(stack: ExitStack) -> Any:
    """``own(obj)``: release ``obj`` (a moderngl object) when ``stack`` closes; returns it."""
    def own(obj: Any) -> Any:
        stack.callback(obj.release)
        return obj

    return own


class _Cache:
    renderer: _Renderer | None = None


_CACHE = _Cache()
_LOCK = threading.Lock()


def _renderer() -> _Renderer:
    """The process's renderer, created on first use (call with :data:`_LOCK` held).

    A forked child does not reuse its parent's context: it creates its own.
    """
    renderer = _CACHE.renderer
    if renderer is None or renderer.pid != os.getpid():
        renderer = _Renderer(_create_context())
        _CACHE.renderer = renderer
    return renderer


def _create_context() -> Any:
    """A standalone OpenGL 3.3 context on EGL (no display needed)."""
    try:
        import moderngl
    except ImportError as exc:
        raise MissingDependencyError(
            "moderngl is not installed (needed for cover images): "
            "pip install moderngl==5.13.0 glcontext==3.1.0"
        ) from exc
    try:
        settings: dict[str, Any] = {"backend": "egl"}  # the stubs mistype **settings
        return moderngl.create_context(require=330, standalone=True, **settings)
    except Exception as exc:  # moderngl/glcontext raise bare Exceptions
        raise RenderError(f"{_EGL_HINT} ({exc})") from exc
