"""K-means on standardized log1p(R, F, M), reproducible on any engine.

The fit runs in the driver, seeded, on at most `sample_size` buyers drawn by a hash of
user_id (CRC-32 of its UTF-8 bytes, ties by id: the same sample whatever the engine or
row order). k is chosen from 2..8 by the silhouette (Rousseeuw 1987) on the first
`silhouette_size` of that sample unless given. Cluster numbers are ordered by value, so
they do not depend on K-means' arbitrary labels; every customer is assigned to its
nearest centre inside the engine (assign_sql).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

__all__ = ["Fit", "fit", "hash_order", "distance_sql", "assign_sql"]

K_RANGE = range(2, 9)


@dataclass(frozen=True)
class Fit:
    k: int
    centres: np.ndarray  # k × 3, standardized log1p space, value-ordered
    silhouette: dict[int, float]


def hash_order(user_ids: list[str]) -> np.ndarray:
    """Positions of the ids sorted by (crc32(id), id): the sample order."""
    keys = [(zlib.crc32(u.encode("utf-8")), u) for u in user_ids]
    return np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)


def _kmeans(points: np.ndarray, k: int, seed: int, n_init: int = 4) -> KMeans:
    return KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(points)


def _value_order(centres: np.ndarray) -> np.ndarray:
    """Most valuable first: recent (−R), frequent, big spenders; ties by coordinates."""
    score = -centres[:, 0] + centres[:, 1] + centres[:, 2]
    return np.array(sorted(range(len(centres)), key=lambda i: (-score[i], *centres[i])))


def fit(z: np.ndarray, order: np.ndarray, k: int | None, seed: int,
        sample_size: int, silhouette_size: int) -> Fit:
    """z: all buyers' standardized features (n × 3); order: hash_order of their ids."""
    sample = z[order[:sample_size]]
    distinct = len(np.unique(sample, axis=0))
    scores: dict[int, float] = {}
    if not k:
        probe = sample[:silhouette_size]
        probe_distinct = len(np.unique(probe, axis=0))
        for cand in K_RANGE:
            if cand >= probe_distinct:
                break
            labels = _kmeans(probe, cand, seed, n_init=2).labels_
            if len(set(labels)) > 1:
                scores[cand] = float(silhouette_score(probe, labels))
        k = max(scores, key=lambda c: (scores[c], -c)) if scores else 1
    k = max(1, min(k, distinct))
    centres = _kmeans(sample, k, seed).cluster_centers_ if k > 1 else sample.mean(axis=0, keepdims=True)
    return Fit(k, centres[_value_order(centres)], scores)


def distance_sql(z_cols: tuple[str, str, str], centres: np.ndarray) -> list[str]:
    """Squared distance to each centre, as SQL expressions."""
    return [
        " + ".join(f"power({col} - ({float(c)!r}), 2)" for col, c in zip(z_cols, centre, strict=True))
        for centre in centres
    ]


def assign_sql(dist_cols: list[str]) -> str:
    """The nearest centre's number over columns d0..dk-1 (ties: the lower number)."""
    if len(dist_cols) == 1:
        return "0"
    cases = []
    for i, d in enumerate(dist_cols[:-1]):
        others = " AND ".join(f"{d} <= {o}" for o in dist_cols[i + 1:])
        cases.append(f"WHEN {others} THEN {i}")
    return f"(CASE {' '.join(cases)} ELSE {len(dist_cols) - 1} END)"
