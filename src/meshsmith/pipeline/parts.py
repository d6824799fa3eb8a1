"""Part segmentation by shape diameter: thick bodies and thin limbs become separate parts.

    proxy (<= PROXY_FACES) -> shape diameter per face -> clusters of log-diameter
    -> smoothing along the surface (cuts prefer concave creases) -> connected segments
    -> small segments merged -> labels carried to every face of the model

The shape diameter function (Shapira, Shamir and Cohen-Or 2008) measures, for each face, the
object's local thickness: rays cast inward in a cone around the face's inward normal, the
trimmed mean of their lengths. It is nearly constant over a part and changes where a part
meets another (a handle on a mug, a leg on a body, the neck of a bottle), so clusters of it,
split into connected pieces, give parts. Every face keeps its place: the parts are patches
of the one closed surface, and the union of the parts is the whole model.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from meshsmith._arrays import unit_rows
from meshsmith.mesh import Mesh

#: Faces of the proxy the segmentation runs on (labels are carried back to every face).
PROXY_FACES = 20_000
#: Rays per face, and the cone they are cast in (half-angle, degrees).
SDF_RAYS = 24
SDF_CONE_DEG = 60.0
#: Clusters of log-thickness, smoothing strength and rounds.
CLUSTERS = 4
SMOOTHNESS = 2.0
SMOOTHING_ROUNDS = 8
#: Neighbouring segments whose typical thickness differs by less than this factor are one
#: part (a sphere's thickness varies this much between its cap and its side).
SAME_PART_RATIO = 1.6
#: Specks under this share of the surface are absorbed before parts are compared.
SPECK_AREA = 0.005
#: A segment under this share of the surface area joins its largest neighbour.
MIN_PART_AREA = 0.02
MAX_PARTS = 12


def segment_parts(mesh: Mesh, max_parts: int = MAX_PARTS) -> Mesh:
    """``mesh`` with ``part_ids`` and ``part_names`` (``part_01``… largest first): its
    faces grouped into at most ``max_parts`` parts by shape diameter."""
    proxy = _proxy(mesh)
    labels = segment_faces(proxy, max_parts)
    ids = _transfer(proxy, labels, mesh)
    ids = _rank_by_area(mesh, ids)
    names = tuple(f"part_{i + 1:02d}" for i in range(int(ids.max()) + 1))
    return mesh.with_(part_ids=ids.astype(np.int32), part_names=names)


def segment_faces(mesh: Mesh, max_parts: int = MAX_PARTS) -> NDArray[np.int64]:
    """(F,) segment index per face of ``mesh`` (a closed surface), 0..S-1."""
    adjacency, weights = _face_graph(mesh)
    sdf = shape_diameter(mesh)
    cost = _cluster_costs(np.log(sdf + 1e-9), CLUSTERS)
    labels = _smooth(cost, adjacency, weights)
    segments = _connected_segments(labels, adjacency)
    segments = _absorb_small(mesh, segments, adjacency, SPECK_AREA)
    segments = _merge_similar(mesh, segments, adjacency, np.log(sdf + 1e-9))
    segments = _absorb_small(mesh, segments, adjacency, MIN_PART_AREA)
    return _cap_count(mesh, segments, adjacency, max_parts)


def shape_diameter(mesh: Mesh, rays: int = SDF_RAYS) -> NDArray[np.float64]:
    """(F,) local thickness per face (model units): the trimmed mean length of ``rays``
    inward rays in a cone around the inward normal (rays that miss are ignored)."""
    from meshsmith.raycast import RayCaster

    tri = mesh.vertices.astype(np.float64)[mesh.faces]
    centre = tri.mean(axis=1)
    normal = unit_rows(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]))
    dirs = _cone(-normal, rays, np.radians(SDF_CONE_DEG))  # (F, R, 3)
    eps = 1e-5 * float(np.linalg.norm(np.ptp(mesh.vertices, axis=0)))
    origins = np.repeat(centre - eps * normal, rays, axis=0)
    flat = dirs.reshape(-1, 3)
    index, _, distance = RayCaster(mesh.vertices, mesh.faces).first_hits(origins, flat)
    length = np.full(len(flat), np.nan)
    length[index] = distance
    return _trimmed_mean(length.reshape(-1, rays))


def _trimmed_mean(lengths: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per row: the mean of the values within one standard deviation of the median."""
    median = np.nanmedian(np.where(np.isnan(lengths).all(axis=1, keepdims=True), 0, lengths),
                          axis=1, keepdims=True)
    spread = np.nanstd(lengths, axis=1, keepdims=True)
    keep = np.abs(lengths - median) <= np.nan_to_num(spread) + 1e-12
    kept = np.where(keep, lengths, np.nan)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(np.where(np.isnan(kept).all(axis=1, keepdims=True), median, kept),
                          axis=1)
    fallback = float(np.nanmedian(mean)) if np.isfinite(mean).any() else 1.0
    return np.where(np.isfinite(mean) & (mean > 0), mean, fallback)


def _cone(axis: NDArray[np.float64], count: int, half_angle: float) -> NDArray[np.float64]:
    """(F, count, 3) unit directions spread over a cone around each axis (a fixed
    golden-angle pattern, so the result is deterministic)."""
    k = np.arange(count) + 0.5
    theta = half_angle * np.sqrt(k / count)
    phi = k * np.pi * (3.0 - np.sqrt(5.0))
    local = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi),
                      np.cos(theta)], axis=1)  # (count, 3) around +Z
    helper = np.where(np.abs(axis[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    u = unit_rows(np.cross(axis, helper))
    v = np.cross(axis, u)
    return (local[None, :, :1] * u[:, None] + local[None, :, 1:2] * v[:, None]
            + local[None, :, 2:] * axis[:, None])


def _cluster_costs(values: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """(F, k) negative log-likelihoods of each value under a 1-D Gaussian mixture fitted by
    EM (started at quantiles, so it is deterministic)."""
    means = np.quantile(values, (np.arange(k) + 0.5) / k)
    sigma = np.full(k, max(float(values.std()) / k, 1e-6))
    weight = np.full(k, 1.0 / k)
    for _ in range(30):
        log_p = _log_gauss(values, means, sigma) + np.log(weight)
        resp = np.exp(log_p - log_p.max(axis=1, keepdims=True))
        resp /= resp.sum(axis=1, keepdims=True)
        mass = resp.sum(axis=0) + 1e-9
        means = (resp * values[:, None]).sum(axis=0) / mass
        sigma = np.sqrt((resp * (values[:, None] - means) ** 2).sum(axis=0) / mass) + 1e-4
        weight = mass / mass.sum()
    return -(_log_gauss(values, means, sigma) + np.log(weight))


def _log_gauss(x: NDArray[np.float64], mean: NDArray[np.float64],
               sigma: NDArray[np.float64]) -> NDArray[np.float64]:
    return -0.5 * ((x[:, None] - mean) / sigma) ** 2 - np.log(sigma)


def _face_graph(mesh: Mesh) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Pairs of faces that share an edge (E, 2) and the cost of cutting between them: low
    across concave creases (where parts meet), high across flat or convex edges."""
    from meshsmith.texturing.charts import face_adjacency, face_normals

    adjacency = face_adjacency(mesh.faces)
    normals = face_normals(mesh.vertices, mesh.faces).astype(np.float64)
    cos = np.clip(np.einsum("ij,ij->i", normals[adjacency[:, 0]], normals[adjacency[:, 1]]),
                  -1, 1)
    tri = mesh.vertices.astype(np.float64)[mesh.faces]
    step = tri[adjacency[:, 1]].mean(axis=1) - tri[adjacency[:, 0]].mean(axis=1)
    concave = np.einsum("ij,ij->i", normals[adjacency[:, 0]], step) > 0
    angle = np.arccos(cos) / np.pi  # 0 flat .. 1 folded back
    weight = np.where(concave, 1.0 - np.minimum(4.0 * angle, 0.95), 1.0)
    return adjacency, weight


def _smooth(cost: NDArray[np.float64], adjacency: NDArray[np.int64],
            weights: NDArray[np.float64]) -> NDArray[np.int64]:
    """Labels minimising data cost + SMOOTHNESS x cut weight, by iterated conditional modes
    from the per-face best label (each round, every face takes its best label given its
    neighbours' labels)."""
    labels = cost.argmin(axis=1)
    n, k = cost.shape
    for _ in range(SMOOTHING_ROUNDS):
        agree = np.zeros((n, k))
        for a, b in ((0, 1), (1, 0)):
            np.add.at(agree, (adjacency[:, a], labels[adjacency[:, b]]), weights)
        total = agree.sum(axis=1, keepdims=True)
        new = (cost + SMOOTHNESS * (total - agree)).argmin(axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
    return labels


def _connected_segments(labels: NDArray[np.int64], adjacency: NDArray[np.int64]
                        ) -> NDArray[np.int64]:
    """(F,) ids of the connected pieces of equal label."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    same = adjacency[labels[adjacency[:, 0]] == labels[adjacency[:, 1]]]
    n = len(labels)
    graph = coo_matrix((np.ones(len(same)), (same[:, 0], same[:, 1])), shape=(n, n))
    return np.asarray(connected_components(graph, directed=False)[1], dtype=np.int64)


def _merge_similar(mesh: Mesh, segments: NDArray[np.int64], adjacency: NDArray[np.int64],
                   log_sdf: NDArray[np.float64]) -> NDArray[np.int64]:
    """Merge neighbouring segments whose mean log-thickness differs by less than
    :data:`SAME_PART_RATIO`: in rounds, each round joining disjoint pairs, closest first."""
    area = _face_areas(mesh)
    limit = np.log(SAME_PART_RATIO)
    while True:
        segments = np.unique(segments, return_inverse=True)[1]
        level = np.bincount(segments, area * log_sdf) / (np.bincount(segments, area) + 1e-30)
        pairs = _segment_pairs(segments, adjacency)
        gap = np.abs(level[pairs[:, 0]] - level[pairs[:, 1]])
        close = pairs[gap < limit][np.argsort(gap[gap < limit], kind="stable")]
        if len(close) == 0:
            return segments
        segments = _join(segments, _disjoint(close))


def _absorb_small(mesh: Mesh, segments: NDArray[np.int64], adjacency: NDArray[np.int64],
                  share: float) -> NDArray[np.int64]:
    """Segments under ``share`` of the surface area join the neighbour they share the most
    edges with (all at once, in rounds, until none is left)."""
    area = _face_areas(mesh)
    while True:
        segments = np.unique(segments, return_inverse=True)[1]
        sizes = np.bincount(segments, area)
        small = np.nonzero(sizes < share * area.sum())[0]
        if len(sizes) <= 1 or len(small) == 0:
            return segments
        targets = _main_neighbours(segments, adjacency, len(sizes))
        segments = _join(segments, np.stack([small, targets[small]], axis=1))


def _cap_count(mesh: Mesh, segments: NDArray[np.int64], adjacency: NDArray[np.int64],
               max_parts: int) -> NDArray[np.int64]:
    """While there are more than ``max_parts`` segments, the smallest joins its main
    neighbour."""
    area = _face_areas(mesh)
    while segments.max() + 1 > max_parts:
        smallest = int(np.bincount(segments, area).argmin())
        target = _main_neighbours(segments, adjacency, int(segments.max()) + 1)[smallest]
        segments = np.unique(np.where(segments == smallest, target, segments),
                             return_inverse=True)[1]
    return segments


def _segment_pairs(segments: NDArray[np.int64], adjacency: NDArray[np.int64]
                   ) -> NDArray[np.int64]:
    """(P, 2) distinct pairs of neighbouring segments."""
    a, b = segments[adjacency[:, 0]], segments[adjacency[:, 1]]
    pairs = np.sort(np.stack([a, b], axis=1)[a != b], axis=1)
    return np.unique(pairs, axis=0) if len(pairs) else pairs.reshape(0, 2)


def _main_neighbours(segments: NDArray[np.int64], adjacency: NDArray[np.int64],
                     count: int) -> NDArray[np.int64]:
    """(S,) for each segment, the other segment it shares the most face edges with (itself
    when it has no neighbour)."""
    a, b = segments[adjacency[:, 0]], segments[adjacency[:, 1]]
    cut = a != b
    src = np.concatenate([a[cut], b[cut]])
    dst = np.concatenate([b[cut], a[cut]])
    keys, counts = np.unique(src * count + dst, return_counts=True)
    best = np.arange(count)
    order = np.lexsort((-counts, keys // count))  # per source, the largest count first
    first = np.unique(keys[order] // count, return_index=True)[1]
    chosen = keys[order][first]
    best[chosen // count] = chosen % count
    return best


def _disjoint(pairs: NDArray[np.int64]) -> NDArray[np.int64]:
    """The pairs, in order, that share no segment with an earlier chosen pair."""
    used: set[int] = set()
    keep = []
    for a, b in pairs.tolist():
        if a not in used and b not in used:
            used.update((a, b))
            keep.append((a, b))
    return np.asarray(keep, dtype=np.int64).reshape(-1, 2)


def _join(segments: NDArray[np.int64], pairs: NDArray[np.int64]) -> NDArray[np.int64]:
    """Segment ids after joining each pair (chains join transitively)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = int(segments.max()) + 1
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return np.asarray(connected_components(graph, directed=False)[1][segments], np.int64)


def _proxy(mesh: Mesh) -> Mesh:
    from meshsmith.pipeline.decimate import to_face_count

    if len(mesh.faces) <= PROXY_FACES:
        return mesh
    return to_face_count(mesh.with_(uvs=None, uv_faces=None, polygon_ids=None), PROXY_FACES)


def _transfer(proxy: Mesh, labels: NDArray[np.int64], mesh: Mesh) -> NDArray[np.int64]:
    """Each face of ``mesh`` takes the label of the nearest proxy face centre."""
    from scipy.spatial import cKDTree

    if proxy is mesh:
        return labels
    centres = mesh.vertices[mesh.faces].mean(axis=1)
    nearest = cKDTree(proxy.vertices[proxy.faces].mean(axis=1)).query(centres)[1]
    return labels[nearest]


def _rank_by_area(mesh: Mesh, ids: NDArray[np.int64]) -> NDArray[np.int64]:
    """Renumber parts 0..P-1, largest surface area first."""
    present, ids = np.unique(ids, return_inverse=True)
    order = np.argsort(-np.bincount(ids, _face_areas(mesh)), kind="stable")
    rank = np.empty(len(present), dtype=np.int64)
    rank[order] = np.arange(len(present))
    return rank[ids]


def _face_areas(mesh: Mesh) -> NDArray[np.float64]:
    tri = mesh.vertices.astype(np.float64)[mesh.faces]
    return 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)

