"""Engine invariants on synthetic silhouettes (no photos needed)."""

from __future__ import annotations

import numpy as np
import pytest

from meshsmith.engines.base import ViewInput
from meshsmith.engines.geometric import GeometricEngine, surface
from meshsmith.errors import ReconstructionError
from meshsmith.mesh import Mesh
from meshsmith.pipeline.clean import edge_use, is_watertight, signed_volume
from meshsmith.spec import GeometryOptions

SIZE = 384


def _view(slot: str, mask: np.ndarray) -> ViewInput:
    rgb = np.where(mask[..., None], np.uint8(180), np.uint8(255)).astype(np.uint8)
    return ViewInput(slot=slot, rgb=np.repeat(rgb, 3, axis=2), mask=mask)


def _disc(radius: float) -> np.ndarray:
    yy, xx = np.mgrid[:SIZE, :SIZE] + 0.5
    return np.hypot(xx - SIZE / 2, yy - SIZE / 2) < radius


def _rect(half_w: float, half_h: float) -> np.ndarray:
    yy, xx = np.mgrid[:SIZE, :SIZE] + 0.5
    return (np.abs(xx - SIZE / 2) < half_w) & (np.abs(yy - SIZE / 2) < half_h)


def _reconstruct(views: dict[str, ViewInput]) -> Mesh:
    return GeometricEngine().reconstruct(views, GeometryOptions(resolution="512")).mesh


@pytest.fixture(scope="module")
def sphere() -> Mesh:
    return _reconstruct({"front": _view("front", _disc(120))})


def test_disc_silhouette_gives_a_near_sphere(sphere: Mesh) -> None:
    centred = sphere.vertices - sphere.vertices.mean(axis=0)
    radius = np.linalg.norm(centred, axis=1)
    assert radius.std() / radius.mean() < 0.02
    extent = np.ptp(sphere.vertices, axis=0)
    assert np.allclose(extent / extent.max(), 1.0, atol=0.03)


def test_single_view_mesh_is_watertight_manifold_and_outward(sphere: Mesh) -> None:
    assert is_watertight(sphere)
    _, counts = edge_use(sphere.faces)
    assert (counts == 2).all()
    assert signed_volume(sphere) > 0


def test_three_box_silhouettes_give_a_near_box() -> None:
    # an orthographic box 0.8 wide (x), 0.6 tall (y), 0.4 deep (z), in framed units
    w, h, d = 0.8, 0.6, 0.4
    px = SIZE / 2 * 0.8  # pixels per unit so that the widest side fills 80% of the frame
    front = _rect(w / 2 * px, h / 2 * px)
    side = _rect(d / 2 * px, h / 2 * px)
    views = {"front": _view("front", front), "back": _view("back", front),
             "left": _view("left", side)}
    mesh = _reconstruct(views)
    extent = np.ptp(mesh.vertices, axis=0)
    assert np.allclose(extent / extent[1], [w / h, 1.0, d / h], atol=0.04)
    box_volume = float(np.prod(extent))
    assert signed_volume(mesh) / box_volume > 0.95
    assert is_watertight(mesh)


def test_reconstruction_is_deterministic() -> None:
    views = {"front": _view("front", _disc(100) | _rect(150, 20))}
    first, second = _reconstruct(views), _reconstruct(views)
    assert np.array_equal(first.vertices, second.vertices)
    assert np.array_equal(first.faces, second.faces)


def test_higher_resolution_gives_finer_detail() -> None:
    views = {"front": _view("front", _disc(120))}
    coarse = GeometricEngine().reconstruct(views, GeometryOptions(resolution="512")).mesh
    fine = GeometricEngine().reconstruct(views, GeometryOptions(resolution="1024")).mesh
    assert len(fine.faces) > 3 * len(coarse.faces)


def test_silhouettes_that_share_no_volume_are_rejected() -> None:
    left_blob = _rect(20, 20)
    front = np.roll(left_blob, 150, axis=1)
    with pytest.raises(ReconstructionError) as info:
        _reconstruct({"front": _view("front", front), "back": _view("back", front),
                      "left": _view("left", np.roll(left_blob, -170, axis=0))})
    assert info.value.code == 10051002


def test_differently_cropped_photos_give_the_same_shape_as_uncropped_ones() -> None:
    from pathlib import Path

    from meshsmith.inputs import prepare_view

    robot = Path(__file__).resolve().parents[3] / "examples" / "robot"
    full = {}
    for slot in ("front", "back", "left", "right"):
        v = prepare_view(robot / f"{slot}.png")
        full[slot] = ViewInput(slot=slot, rgb=v.rgb, mask=v.mask)
    crops = {"front": (0, 0, 640, 640), "back": (40, 70, 600, 560),
             "left": (90, 150, 580, 520), "right": (10, 180, 600, 460)}  # rows, cols
    cropped = {s: ViewInput(s, v.rgb[r0:r1, c0:c1], v.mask[r0:r1, c0:c1])
               for (s, v), (r0, c0, r1, c1) in zip(full.items(), crops.values(), strict=True)}
    reference = np.ptp(_reconstruct(full).vertices, axis=0)
    extent = np.ptp(_reconstruct(cropped).vertices, axis=0)
    assert np.allclose(extent / extent[1], reference / reference[1], atol=0.06)


def test_the_texture_is_projected_from_the_photo_at_its_own_resolution() -> None:
    """A 1600-px photo at the 512 grid: the texture's view keeps about 1,400 px across the
    crop, and its camera still puts the model's silhouette on the photo's object."""
    yy, xx = np.mgrid[:1600, :1200] + 0.5
    mask = np.hypot((xx - 600) / 420, (yy - 800) / 620) < 1
    view = ViewInput(slot="front", rgb=np.repeat(np.where(mask, 90, 255).astype(np.uint8)[
        ..., None], 3, axis=2), mask=mask)
    recon = GeometricEngine().reconstruct({"front": view}, GeometryOptions(resolution="512"))
    image = recon.views["front"]
    assert image.rgb.shape[0] > 1300 and image.camera.size == image.rgb.shape[0]
    col, row, _ = image.camera.project(recon.mesh.vertices)
    c = np.clip(np.rint(col).astype(int), 0, image.mask.shape[1] - 1)
    r = np.clip(np.rint(row).astype(int), 0, image.mask.shape[0] - 1)
    inside = image.mask[r, c]
    near = np.zeros_like(image.mask)  # the mask's boundary pixels (the surface's edge)
    near[np.nonzero(np.hypot(*np.gradient(image.mask.astype(float))) > 0)] = True
    assert (inside | near[r, c]).mean() > 0.99


def test_meshing_in_forked_processes_gives_the_same_surface_as_meshing_here(
        monkeypatch: pytest.MonkeyPatch) -> None:
    views = {"front": _view("front", _disc(100) | _rect(150, 20))}
    monkeypatch.setattr(surface, "mesh_processes", lambda chunks: 0)
    here = _reconstruct(views)
    monkeypatch.setattr(surface, "mesh_processes", lambda chunks: 2)
    forked = _reconstruct(views)
    assert np.array_equal(here.vertices, forked.vertices)
    assert np.array_equal(here.faces, forked.faces)


def test_meshing_stays_in_this_process_when_other_threads_run() -> None:
    import threading

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert surface.mesh_processes(10) == 0
    finally:
        stop.set()
        other.join()
