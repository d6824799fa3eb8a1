"""Sort-based set operations on integer keys.

numpy 2.4's hash-based ``np.unique`` (no extra outputs) and ``np.isin`` take seconds on the
millions of edge keys a mesh has; sorting takes a fraction of that.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def unique_ints(keys: NDArray[np.integer]) -> NDArray[np.int64]:
    """Sorted distinct values of an integer array."""
    s = np.sort(keys.astype(np.int64, copy=False))
    if len(s) == 0:
        return s
    return s[np.concatenate([[True], s[1:] != s[:-1]])]


def isin_ints(values: NDArray[np.integer], pool: NDArray[np.integer]) -> NDArray[np.bool_]:
    """(N,) whether each of ``values`` occurs in ``pool``."""
    table = unique_ints(pool)
    if len(table) == 0:
        return np.zeros(len(values), dtype=bool)
    pos = np.clip(np.searchsorted(table, values), 0, len(table) - 1)
    return np.asarray(table[pos] == values)


def argsort_ints(keys: NDArray[np.integer]) -> NDArray[np.int64]:
    """Stable argsort of non-negative integer keys (ties keep their order).

    When every key fits beside its own index in 63 bits, key and index are packed into one
    int64 and sorted by value, which numpy does several times faster than an argsort.
    """
    k = np.asarray(keys).astype(np.int64, copy=False)
    if len(k) == 0:
        return np.zeros(0, dtype=np.int64)
    bits = max(1, int(len(k) - 1).bit_length())
    top = int(k.max())
    if int(k.min()) < 0 or top.bit_length() + bits > 63:
        return np.argsort(k, kind="stable")
    packed = np.sort((k << bits) | np.arange(len(k), dtype=np.int64))
    return packed & ((1 << bits) - 1)


def pair_keys(a: NDArray[np.integer], b: NDArray[np.integer], n: int) -> NDArray[np.int64]:
    """One int64 key per (a, b) pair with 0 <= b < n."""
    return a.astype(np.int64) * n + b.astype(np.int64)


def unit_rows(v: NDArray[np.float64]) -> NDArray[np.float64]:
    """``v`` (..., 3) with every row scaled to length 1; zero rows stay zero."""
    length = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, length, out=np.zeros_like(v), where=length > 1e-12)
