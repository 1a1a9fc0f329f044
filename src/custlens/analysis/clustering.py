"""K-means on standardized log1p(R, F, M), reproducible on any engine.

Why k is not chosen by silhouette. On real RFM data silhouette (Rousseeuw 1987),
Calinski-Harabasz (1974) and Davies-Bouldin all reward the one strong split — one-time
against repeat buyers — and beyond it the cloud is a continuum: on CDNOW they pick k = 2,
which names two segments, "the best" and "the rest". Published practice fixes k for the
business (4–8) and keeps the indices as a check. So the default is k = min(8, buyers // 50)
(at least 2), lowered while the smallest fitted cluster holds < 1 % of buyers; `auto`
takes the best silhouette over 4..8 under the same small-shop rule; a number fixes k.
The indices for k = 2..10 are always computed and shown beside the choice.

Stability is reported as the mean adjusted Rand index (Hubert & Arabie 1985) between the
fit and K-means refitted on 20 seeded bootstrap resamples of the probe (Lange et al. 2004;
Hennig 2007): near 1, the partition is a property of the data; well below, of the seed.
Silhouette and the refits work on the probe's distinct points weighted by their copies —
the same numbers as on every copy (weighted_silhouette is exact), at the cost of the
distinct points: on Taobao, a few hundred instead of 5,000.

The fit runs in the driver, seeded, on at most `sample_size` buyers drawn by a hash of
user_id (CRC-32 of its UTF-8 bytes, ties by id: the same sample whatever the engine or
row order). Equal points are fitted once with their count as weight (real RFM data has
heavy ties: Taobao's R, F, M take a few hundred distinct values among a million buyers),
which is the same objective as fitting every copy. Cluster numbers are ordered by value,
so they do not depend on K-means' arbitrary labels; every customer is assigned to its
nearest centre inside the engine (assign_sql).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # imported where used: sklearn takes 3 s to import, and most commands
    from sklearn.cluster import KMeans  # (a build with nothing to do) never cluster

__all__ = ["Fit", "Choice", "fit", "choose_k", "default_k", "hash_order", "distance_sql",
           "assign_sql", "AUTO_RANGE", "DIAGNOSTIC_RANGE", "MIN_SHARE", "BUYERS_PER_CLUSTER"]

DIAGNOSTIC_RANGE = range(2, 11)  # the k table: always computed, always shown
AUTO_RANGE = range(4, 9)  # what `k = "auto"` may pick from
MAX_K = 8  # the eight customary names
BUYERS_PER_CLUSTER = 50  # a small shop gets fewer clusters: k ≤ buyers // 50
MIN_SHARE = 0.01  # every cluster holds at least 1 % of buyers
BOOTSTRAPS = 20
N_INIT = 4


@dataclass(frozen=True)
class Choice:
    """Which k, and why, in words a person reads (zh and en) and as data."""

    k: int
    setting: str  # "default", "auto" or "fixed"
    cap: int  # min(8, buyers // 50), at least 2
    lowered_from: int | None = None  # the default or auto k before the 1 % rule lowered it
    reason_zh: str = ""
    reason_en: str = ""


@dataclass(frozen=True)
class Fit:
    k: int
    centres: np.ndarray  # k × 3, standardized log1p space, value-ordered
    choice: Choice
    diagnostics: list[dict] = field(default_factory=list)  # one row per k of DIAGNOSTIC_RANGE
    stability: float | None = None  # bootstrap ARI of the chosen k

    @property
    def silhouette(self) -> dict[int, float]:
        return {d["k"]: d["silhouette"] for d in self.diagnostics if d["silhouette"] is not None}


def hash_order(user_ids: list[str]) -> np.ndarray:
    """Positions of the ids sorted by (crc32(id), id): the sample order."""
    keys = [(zlib.crc32(u.encode("utf-8")), u) for u in user_ids]
    return np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)


def default_k(buyers: int) -> int:
    """min(8, buyers // 50), at least 2: the k a shop of this size can fill."""
    return max(2, min(MAX_K, buyers // BUYERS_PER_CLUSTER))


@dataclass
class _Trial:
    """One K-means fit on the weighted distinct points of the sample."""

    model: KMeans
    labels: np.ndarray  # per sample point
    share: np.ndarray  # per cluster, of the sample

    @property
    def min_share(self) -> float:
        return float(self.share.min())


def weighted_silhouette(points: np.ndarray, weights: np.ndarray, labels: np.ndarray) -> float:
    """The silhouette (Rousseeuw 1987) of the data set in which distinct point i occurs
    weights[i] times: exactly sklearn's silhouette_score on the expanded points, at the
    cost of the distinct ones. A point's own copies are at distance 0, so its mean
    distance within its cluster divides by the cluster's size less one; a point alone in
    its cluster scores 0."""
    ks = np.unique(labels)
    sums = np.zeros((len(points), len(ks)))
    squares = (points ** 2).sum(axis=1)
    for start in range(0, len(points), 1024):  # distances in blocks: memory ~ 1024 × m
        block = slice(start, start + 1024)
        d2 = squares[block, None] + squares[None, :] - 2 * points[block] @ points.T
        dist = np.sqrt(np.maximum(d2, 0))
        for j, k in enumerate(ks):
            member = labels == k
            sums[block, j] = dist[:, member] @ weights[member]
    sizes = np.array([weights[labels == k].sum() for k in ks])
    own = np.searchsorted(ks, labels)
    rows = np.arange(len(points))
    alone = sizes[own] <= 1
    a = sums[rows, own] / np.where(alone, 1, sizes[own] - 1)
    other = sums / sizes
    other[rows, own] = np.inf
    b = other.min(axis=1)
    score = np.where(alone, 0.0, (b - a) / np.maximum(np.maximum(a, b), np.finfo(float).tiny))
    return float((score * weights).sum() / weights.sum())


def weighted_ari(first: np.ndarray, second: np.ndarray, weights: np.ndarray) -> float:
    """The adjusted Rand index (Hubert & Arabie 1985) of two labelings of the data set in
    which point i occurs weights[i] times (whole numbers), from their contingency table:
    exactly sklearn's adjusted_rand_score on the expanded labels."""
    _, a = np.unique(first, return_inverse=True)
    _, b = np.unique(second, return_inverse=True)
    table = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(table, (a.reshape(-1), b.reshape(-1)), weights)

    def pairs(x: np.ndarray) -> float:
        return float((x * (x - 1) / 2).sum())

    n = table.sum()
    both, rows, cols = pairs(table), pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    expected = rows * cols / (n * (n - 1) / 2) if n > 1 else 0.0
    top = (rows + cols) / 2 - expected
    return 1.0 if top == 0 else (both - expected) / top


class _Sample:
    def __init__(self, sample: np.ndarray, seed: int, silhouette_size: int) -> None:
        self.points = sample
        self.unique, self.inverse, counts = np.unique(sample, axis=0, return_inverse=True,
                                                      return_counts=True)
        self.inverse = self.inverse.reshape(-1)
        self.weights = counts.astype(float)
        self.seed = seed
        self.probe = sample[:silhouette_size]
        self.probe_unique, self.probe_first, self.probe_inverse, probe_counts = np.unique(
            self.probe, axis=0, return_index=True, return_inverse=True, return_counts=True)
        self.probe_inverse = self.probe_inverse.reshape(-1)
        self.probe_weights = probe_counts.astype(float)
        self.trials: dict[int, _Trial] = {}

    @property
    def distinct(self) -> int:
        return len(self.unique)

    def trial(self, k: int) -> _Trial:
        if k not in self.trials:
            from sklearn.cluster import KMeans

            model = KMeans(n_clusters=k, n_init=N_INIT, random_state=self.seed).fit(
                self.unique, sample_weight=self.weights)
            labels = model.labels_[self.inverse]
            share = np.bincount(labels, minlength=k) / len(labels)
            self.trials[k] = _Trial(model, labels, share)
        return self.trials[k]

    def diagnostic(self, k: int) -> dict:
        t = self.trial(k)
        probe_labels = t.labels[: len(self.probe)]
        two = 1 < len(set(probe_labels.tolist())) < len(self.probe)
        sil = (weighted_silhouette(self.probe_unique, self.probe_weights,
                                   probe_labels[self.probe_first]) if two else None)
        two_full = 1 < len(set(t.labels.tolist())) < len(self.points)
        from sklearn.metrics import calinski_harabasz_score

        ch = float(calinski_harabasz_score(self.points, t.labels)) if two_full else None
        return {"k": k, "inertia": float(t.model.inertia_), "silhouette": sil,
                "calinski_harabasz": ch, "min_share": t.min_share,
                "stability": self.stability(k)}

    def stability(self, k: int) -> float | None:
        """Mean ARI between the fit's labels on the probe and refits on bootstrap resamples
        (each resample fitted on its distinct points, weighted by their copies)."""
        probe = self.probe
        if k < 2 or len(self.probe_unique) < k:
            return None
        reference = self.trial(k).labels[: len(probe)][self.probe_first]
        rng = np.random.default_rng(self.seed)
        scores = []
        for b in range(BOOTSTRAPS):
            # a resample of the probe is a draw of its distinct points, with copies
            drawn = np.bincount(self.probe_inverse[rng.integers(0, len(probe), len(probe))],
                                minlength=len(self.probe_unique))
            present = np.flatnonzero(drawn)
            if len(present) < k:
                continue
            from sklearn.cluster import KMeans

            refit = KMeans(n_clusters=k, n_init=1, random_state=self.seed + b + 1).fit(
                self.probe_unique[present], sample_weight=drawn[present].astype(float))
            scores.append(weighted_ari(reference, refit.predict(self.probe_unique),
                                       self.probe_weights))
        return float(np.mean(scores)) if scores else None


def choose_k(setting: int | str | None, buyers: int, distinct: int,
             min_share_of: dict[int, float] | None = None,
             silhouette_of: dict[int, float] | None = None) -> Choice:
    """The k rule (see the module docstring), given each candidate k's smallest cluster
    share and silhouette as dicts, so the rule is testable without fitting."""
    shares = min_share_of or {}
    sils = silhouette_of or {}
    cap = default_k(buyers)
    if distinct < 2:
        return Choice(1, "fixed" if setting not in (None, 0, "", "auto") else "default", cap,
                      None, "只有一种 R/F/M 组合：一个簇", "only one distinct R/F/M: one cluster")
    if setting not in (None, 0, "", "auto"):
        k = min(int(setting), distinct)
        return Choice(k, "fixed", cap, None, f"设定 segment.k = {setting}",
                      f"set by segment.k = {setting}")

    def lowered(k: int) -> int:
        while k > 2 and shares.get(k, 1.0) < MIN_SHARE:
            k -= 1
        return k

    start = min(cap, distinct)
    if setting == "auto":
        candidates = [k for k in AUTO_RANGE if k <= start and shares.get(k, 1.0) >= MIN_SHARE
                      and sils.get(k) is not None]
        if candidates:
            k = max(candidates, key=lambda c: (sils[c], -c))
            return Choice(k, "auto", cap, None,
                          f"auto：k = 4..{min(8, start)} 中轮廓系数最高（{sils[k]:.3f}）",
                          f"auto: best silhouette over k = 4..{min(8, start)} ({sils[k]:.3f})")
    k = lowered(start)
    size = f"min(8, 购买客户 {buyers:,} ÷ 50) = {cap}"
    size_en = f"min(8, {buyers:,} buyers ÷ 50) = {cap}"
    fallback = ("auto 无可选 k（店铺太小），按默认：" if setting == "auto" else "默认：")
    fallback_en = ("auto had no k to pick (a small shop), so the default: " if setting == "auto"
                   else "default: ")
    if k < start:
        return Choice(k, "auto" if setting == "auto" else "default", cap, start,
                      f"{fallback}{size}，降到 {k} 使每簇 ≥ 1% 的购买客户",
                      f"{fallback_en}{size_en}, lowered to {k} so every cluster holds ≥ 1 % of buyers")
    return Choice(k, "auto" if setting == "auto" else "default", cap, None,
                  f"{fallback}{size}，每簇 ≥ 1% 的购买客户（k 是业务选择；各 k 的指标见诊断视图 k）",
                  f"{fallback_en}{size_en}, every cluster ≥ 1 % of buyers "
                  "(k is a business choice; the indices per k: view k)")


def _value_order(centres: np.ndarray) -> np.ndarray:
    """Most valuable first: recent (−R), frequent, big spenders; ties by coordinates."""
    score = -centres[:, 0] + centres[:, 1] + centres[:, 2]
    return np.array(sorted(range(len(centres)), key=lambda i: (-score[i], *centres[i])))


def fit(z: np.ndarray, order: np.ndarray, k: int | str | None, seed: int,
        sample_size: int, silhouette_size: int) -> Fit:
    """z: all buyers' standardized features (n × 3); order: hash_order of their ids;
    k: a number, "auto", or None/0 for the default rule."""
    s = _Sample(z[order[:sample_size]], seed, silhouette_size)
    ks = [c for c in DIAGNOSTIC_RANGE if c <= s.distinct]
    diagnostics = [s.diagnostic(c) for c in ks]
    choice = choose_k(k, len(z), s.distinct,
                      {d["k"]: d["min_share"] for d in diagnostics},
                      {d["k"]: d["silhouette"] for d in diagnostics if d["silhouette"] is not None})
    if choice.k == 1:
        return Fit(1, s.points.mean(axis=0, keepdims=True), choice, diagnostics, None)
    centres = s.trial(choice.k).model.cluster_centers_
    stability = next((d["stability"] for d in diagnostics if d["k"] == choice.k), None)
    if choice.k not in ks:
        stability = s.stability(choice.k)
    return Fit(choice.k, centres[_value_order(centres)], choice, diagnostics, stability)


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
