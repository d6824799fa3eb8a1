"""The ONE internal task spec.

The CLI builds it, and so does every API dialect: each translates its own request into a
:class:`TaskSpec` at the edge, and nothing below that layer knows which dialect asked.
Validation happens here, once, and raises :mod:`meshsmith.errors` types with stable codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from meshsmith.errors import (
    InvalidFaceCountError,
    InvalidRequestError,
    InvalidResolutionError,
    InvalidViewsError,
)

Slot = Literal["front", "back", "left", "right"]
SLOTS: tuple[Slot, ...] = ("front", "back", "left", "right")
Resolution = Literal["512", "1024", "1536", "1536pro"]
RESOLUTIONS: tuple[Resolution, ...] = ("512", "1024", "1536", "1536pro")

#: Reconstruction grid edge (voxels) per resolution name.
GRID_SIZE: Mapping[str, int] = MappingProxyType(
    {"512": 512, "1024": 1024, "1536": 1536, "1536pro": 1536}
)
#: Default face target per resolution name.
DEFAULT_FACES: Mapping[str, int] = MappingProxyType(
    {"512": 500_000, "1024": 1_000_000, "1536": 2_000_000, "1536pro": 2_000_000}
)
#: The face target's range: down to low-poly counts, up to the densest default.
MIN_FACES = 500
MAX_FACES = 2_000_000
TEXTURE_SIZES: tuple[int, ...] = (512, 1024, 2048, 4096)
#: Quad models: the default and the largest quad count (QuadriFlow's time grows with it).
QUAD_DEFAULT_FACES = 10_000
QUAD_MAX_FACES = 150_000
#: Smart low-poly: the face range (triangles; quads with ``quad``) and the default count.
LOW_POLY_FACES: Mapping[bool, tuple[int, int]] = MappingProxyType(
    {False: (1_000, 20_000), True: (500, 10_000)})
LOW_POLY_DEFAULT_FACES = 5_000


@dataclass(frozen=True)
class GeometryOptions:
    """How the shape is reconstructed.

    ``faces`` is the exact triangle count to reach; ``None`` takes the resolution's default.
    With ``quad`` the surface is remeshed into quads and ``faces`` counts QUADS (as Tripo
    counts a quad model's faces): about that many, default :data:`QUAD_DEFAULT_FACES`.
    With ``smart_low_poly`` the model is a feature-preserving low-poly mesh fitted to the
    dense surface, whose detail is baked into a normal map: ``faces`` within
    :data:`LOW_POLY_FACES` (default :data:`LOW_POLY_DEFAULT_FACES` triangles, or the quad
    default with ``quad``). ``parts`` splits the model into named parts by shape diameter
    (:mod:`meshsmith.pipeline.parts`); it cannot be combined with ``quad``.
    """

    resolution: Resolution = "1024"
    faces: int | None = None
    quad: bool = False
    smart_low_poly: bool = False
    parts: bool = False
    #: Random seed for engines that sample; ``None`` lets the engine choose. The geometric
    #: engine has no randomness, so every seed gives the same (reproducible) shape.
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.resolution not in RESOLUTIONS:
            raise InvalidResolutionError(
                f"resolution must be one of {', '.join(RESOLUTIONS)}; got {self.resolution!r}"
            )
        if self.faces is not None and not MIN_FACES <= self.faces <= MAX_FACES:
            raise InvalidFaceCountError(
                f"faces must be between {MIN_FACES:,} and {MAX_FACES:,}; got {self.faces:,}"
            )
        if self.quad and self.faces is not None and self.faces > QUAD_MAX_FACES:
            raise InvalidFaceCountError(
                f"a quad model takes at most {QUAD_MAX_FACES:,} faces; got {self.faces:,}")
        if self.faces is not None and self.faces % 2 and not self.quad:
            raise InvalidFaceCountError(
                f"faces must be even: a closed triangle mesh always has an even face count; "
                f"got {self.faces:,}"
            )
        if self.smart_low_poly:
            self._check_low_poly_range()
        if self.parts and self.quad:
            raise InvalidRequestError("parts cannot be combined with quad")

    def _check_low_poly_range(self) -> None:
        lo, hi = LOW_POLY_FACES[self.quad]
        if not lo <= self.face_target <= hi:
            what = "smart_low_poly with quad" if self.quad else "smart_low_poly"
            raise InvalidFaceCountError(
                f"{what} takes {lo:,}-{hi:,} faces; got {self.face_target:,}")

    @property
    def grid_size(self) -> int:
        """Edge of the reconstruction grid in voxels."""
        return GRID_SIZE[self.resolution]

    @property
    def face_target(self) -> int:
        """The requested face count (quads with ``quad``), or the default."""
        if self.faces is not None:
            return self.faces
        if self.quad:
            return QUAD_DEFAULT_FACES
        return LOW_POLY_DEFAULT_FACES if self.smart_low_poly else DEFAULT_FACES[self.resolution]


@dataclass(frozen=True)
class TextureOptions:
    """Whether and how the colour texture is made. ``enabled=False`` is geometry-only."""

    enabled: bool = True
    size: int = 2048
    image_format: Literal["png", "jpeg"] = "png"
    #: A lit PBR metallic-roughness material; ``False`` marks it unlit (the base colour
    #: already carries the photo's shading), e.g. glTF ``KHR_materials_unlit``.
    pbr: bool = True
    #: Random seed for texturing engines that sample (see :attr:`GeometryOptions.seed`).
    seed: int | None = None
    #: Where views disagree: ``original_image`` lets the front photo win; ``geometry``
    #: blends every view by how squarely it sees the surface, for consistency across seams.
    alignment: Literal["original_image", "geometry"] = "geometry"

    def __post_init__(self) -> None:
        if self.alignment not in ("original_image", "geometry"):
            raise InvalidRequestError(
                f"texture alignment must be 'original_image' or 'geometry'; got {self.alignment!r}"
            )
        if self.size not in TEXTURE_SIZES:
            raise InvalidRequestError(
                f"texture size must be one of {TEXTURE_SIZES}; got {self.size}"
            )
        if self.image_format not in ("png", "jpeg"):
            raise InvalidRequestError(
                f"texture format must be 'png' or 'jpeg'; got {self.image_format!r}"
            )


@dataclass(frozen=True)
class InputOptions:
    """Image preparation. ``autofix`` applies white balance, contrast and denoise first;
    ``preset="portrait"`` frames a head-and-shoulders subject as a bust and makes its
    silhouette left-right symmetric (:mod:`meshsmith.inputs.portrait`)."""

    autofix: bool = False
    preset: Literal["object", "portrait"] = "object"

    def __post_init__(self) -> None:
        if self.preset not in ("object", "portrait"):
            raise InvalidRequestError(f"preset must be 'object' or 'portrait'; got {self.preset!r}")


Orientation = Literal["default", "align_image"]
Compression = Literal["meshopt", "draco"]


@dataclass(frozen=True)
class AssetOptions:
    """How the finished model is shaped for its use (topology, size, placement, files).

    * ``export_uv``: unwrap UVs in the geometry stage (``False`` skips it: a geometry-only
      model then has no UVs; a textured one still gets them while texturing).
    * ``orientation``: ``default`` turns the model to face +Z squarely (+Y up);
      ``align_image`` keeps it as the front photo's camera saw it.
    * ``auto_size``: scale to real-world metres from ``real_height_m``, else from the
      documented default height of ``category`` (:data:`CATEGORY_HEIGHTS_M`).
    * ``pivot_to_center_bottom``: put the origin at the bottom centre of the bounding box.
    * ``scale_factor``: multiply every coordinate last (after sizing).
    * ``compress``: ``meshopt`` (EXT_meshopt_compression) or ``draco``
      (KHR_draco_mesh_compression) for GLB outputs; ``None`` leaves them uncompressed.
    """

    export_uv: bool = True
    orientation: Orientation = "default"
    auto_size: bool = False
    real_height_m: float | None = None
    category: str = "object"
    pivot_to_center_bottom: bool = False
    scale_factor: float = 1.0
    compress: Compression | None = None

    def __post_init__(self) -> None:
        if self.orientation not in ("default", "align_image"):
            raise InvalidRequestError(
                f"orientation must be 'default' or 'align_image'; got {self.orientation!r}")
        if self.real_height_m is not None and not 0.001 <= self.real_height_m <= 1000:
            raise InvalidRequestError(
                f"real_height_m must be between 0.001 and 1000 metres; got {self.real_height_m}")
        if self.category not in CATEGORY_HEIGHTS_M:
            raise InvalidRequestError(f"category must be one of "
                                      f"{', '.join(CATEGORY_HEIGHTS_M)}; got {self.category!r}")
        if not 1e-4 <= self.scale_factor <= 1e4:
            raise InvalidRequestError(
                f"scale_factor must be between 0.0001 and 10000; got {self.scale_factor}")
        if self.compress not in (None, "meshopt", "draco"):
            raise InvalidRequestError(
                f"compress must be 'meshopt' or 'draco'; got {self.compress!r}")


#: Default real-world height (metres) per object category, used by ``auto_size`` when no
#: ``real_height_m`` is given. Meshsmith has no learned size prior: these are documented
#: typical heights, and the task reports which one it used.
CATEGORY_HEIGHTS_M: Mapping[str, float] = MappingProxyType({
    "object": 0.3, "toy": 0.2, "figurine": 0.25, "bust": 0.6, "character": 1.75,
    "animal": 0.5, "furniture": 0.9, "plant": 0.6, "vehicle": 1.5, "building": 10.0,
})


@dataclass(frozen=True)
class TaskSpec:
    """Everything one generation needs, independent of who asked.

    ``views`` maps slot names to local image paths; ``front`` is required.
    """

    views: Mapping[Slot, Path]
    geometry: GeometryOptions = field(default_factory=GeometryOptions)
    texture: TextureOptions = field(default_factory=TextureOptions)
    inputs: InputOptions = field(default_factory=InputOptions)
    asset: AssetOptions = field(default_factory=AssetOptions)
    output_format: str = "glb"
    engine: str = "geometric"
    #: More formats written beside the first, from the same mesh (same stem, own extension).
    extra_formats: tuple[str, ...] = ()
    #: Also write the texture maps as separate image files (``<stem>_base_color.png``).
    texture_maps: bool = False
    #: Render a preview PNG (``<stem>_cover.png``) of the finished model; every service
    #: task has one (the dialects' ``rendered_image`` / ``cover_url``).
    cover: bool = False
    #: Texture this existing mesh instead of reconstructing one (its geometry is kept).
    source_mesh: Path | None = None

    def __post_init__(self) -> None:
        _check_views(self.views)
        object.__setattr__(self, "views", MappingProxyType(dict(self.views)))
        for fmt in (self.output_format, *self.extra_formats):
            _check_format(fmt)
        _check_engine(self.engine)
        extras = tuple(f for f in dict.fromkeys(self.extra_formats) if f != self.output_format)
        object.__setattr__(self, "extra_formats", extras)
        if self.source_mesh is not None:
            self._check_texturing_only()
        if self.geometry.parts and self.texture.enabled:
            raise InvalidRequestError("parts are geometry only: turn the texture off")
        if self.asset.compress is not None and "glb" not in self.output_formats:
            raise InvalidRequestError(
                f"compress={self.asset.compress} applies to GLB output; ask for format glb")

    def _check_texturing_only(self) -> None:
        """Texturing an existing mesh keeps its geometry: shape and placement options do
        not apply, and the texture must be on."""
        if not self.texture.enabled:
            raise InvalidRequestError("texturing an existing mesh needs the texture on")
        unshaped = GeometryOptions()
        if (replace(self.geometry, faces=None, seed=None) != unshaped
                or self.geometry.face_target != unshaped.face_target):
            raise InvalidRequestError("resolution, faces, quad, smart_low_poly and parts do "
                                      "not apply when texturing an existing mesh")
        placement = replace(self.asset, export_uv=True, compress=None)
        if placement != AssetOptions():
            raise InvalidRequestError("orientation, auto size, pivot and scale do not apply "
                                      "when texturing an existing mesh (its geometry is kept)")

    @property
    def output_formats(self) -> tuple[str, ...]:
        """Every format to write, the primary ``output_format`` first."""
        return (self.output_format, *self.extra_formats)

    @property
    def ordered_views(self) -> list[tuple[Slot, Path]]:
        """The present views in canonical slot order (front, back, left, right)."""
        return [(slot, self.views[slot]) for slot in SLOTS if slot in self.views]


def _check_views(views: Mapping[Slot, Path]) -> None:
    unknown = sorted(set(views) - set(SLOTS))
    if unknown:
        raise InvalidViewsError(f"unknown view slot(s) {unknown}; use {', '.join(SLOTS)}")
    if "front" not in views:
        raise InvalidViewsError("the front view is required")


def _check_engine(name: str) -> None:
    from meshsmith.engines import engine_info

    engine_info(name)


def _check_format(fmt: str) -> None:
    from meshsmith.exporters import get_exporter

    get_exporter(fmt)


def spec_to_options(spec: TaskSpec) -> dict[str, Any]:
    """Every option of ``spec`` except the views, as plain JSON values (for storing a task)."""
    return {
        "resolution": spec.geometry.resolution,
        "faces": spec.geometry.face_target,
        "quad": spec.geometry.quad,
        "smart_low_poly": spec.geometry.smart_low_poly,
        "parts": spec.geometry.parts,
        "texture": spec.texture.enabled,
        "texture_size": spec.texture.size,
        "texture_format": spec.texture.image_format,
        "pbr": spec.texture.pbr,
        "model_seed": spec.geometry.seed,
        "texture_seed": spec.texture.seed,
        "autofix": spec.inputs.autofix,
        "preset": spec.inputs.preset,
        "format": spec.output_format,
        "extra_formats": list(spec.extra_formats),
        "texture_maps": spec.texture_maps,
        "engine": spec.engine,
        "texture_alignment": spec.texture.alignment,
        **_asset_options(spec.asset),
    }


def _asset_options(asset: AssetOptions) -> dict[str, Any]:
    return {
        "export_uv": asset.export_uv, "orientation": asset.orientation,
        "auto_size": asset.auto_size, "real_height_m": asset.real_height_m,
        "category": asset.category, "pivot_to_center_bottom": asset.pivot_to_center_bottom,
        "scale_factor": asset.scale_factor, "compress": asset.compress,
    }


def spec_from_options(views: Mapping[Slot, Path], options: Mapping[str, Any],
                      source_mesh: Path | None = None) -> TaskSpec:
    """The inverse of :func:`spec_to_options`, given local paths for the views (and for the
    mesh to texture, when the task textures one)."""
    return TaskSpec(
        views=views,
        geometry=GeometryOptions(resolution=options["resolution"], faces=options["faces"],
                                 seed=options.get("model_seed"),
                                 quad=bool(options.get("quad", False)),
                                 smart_low_poly=bool(options.get("smart_low_poly", False)),
                                 parts=bool(options.get("parts", False))),
        texture=TextureOptions(enabled=options["texture"], size=options["texture_size"],
                               image_format=options["texture_format"],
                               pbr=options.get("pbr", True), seed=options.get("texture_seed"),
                               alignment=options.get("texture_alignment", "geometry")),
        inputs=InputOptions(autofix=options["autofix"], preset=options.get("preset", "object")),
        asset=AssetOptions(**{k: options[k] for k in _asset_options(AssetOptions())
                              if k in options}),
        output_format=options["format"],
        extra_formats=tuple(options.get("extra_formats", ())),
        texture_maps=bool(options.get("texture_maps", False)),
        engine=options["engine"],
        source_mesh=source_mesh,
    )
