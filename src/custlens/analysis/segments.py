"""The eight RFM segments, named by R, F, M against the buyers' means.

R 高 means *more recent* (fewer days since the last order). Many published tutorials
invert this; DESIGN.md pins it and a test holds it. A tie with the mean counts as 低.
The table is the customary one of Chinese e-commerce practice (e.g. 阿里 / 淘宝 operations
handbooks; Hughes 1994 for RFM itself).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SEGMENTS", "SEGMENT_ORDER", "EN", "name_for", "code_for", "Named", "name_clusters",
           "label", "borderline", "BORDERLINE_SD", "rank_cases"]

# (R high, F high, M high) → (zh, en)
SEGMENTS: dict[tuple[bool, bool, bool], tuple[str, str]] = {
    (True, True, True): ("重要价值客户", "high-value"),
    (False, True, True): ("重要保持客户", "high-value, lapsing (keep)"),
    (True, False, True): ("重要发展客户", "high-potential (develop)"),
    (False, False, True): ("重要挽留客户", "high-value at risk (win back)"),
    (True, True, False): ("一般价值客户", "regular value"),
    (False, True, False): ("一般保持客户", "regular, lapsing"),
    (True, False, False): ("一般发展客户", "new / low-potential"),
    (False, False, False): ("一般挽留客户", "low-value, lost"),
}
SEGMENT_ORDER = [zh for zh, _ in SEGMENTS.values()]
EN = dict(SEGMENTS.values())  # zh name → English name
BORDERLINE_SD = 0.1  # a mean this close to the buyers' mean (in their std) could go either way


def code_for(recency: float, frequency: float, monetary: float,
             mean_r: float, mean_f: float, mean_m: float) -> tuple[bool, bool, bool]:
    """(R high, F high, M high); R is high when fewer days than the mean."""
    return recency < mean_r, frequency > mean_f, monetary > mean_m


def name_for(code: tuple[bool, bool, bool]) -> tuple[str, str]:
    return SEGMENTS[code]


def rank_cases() -> str:
    """`WHEN '重要价值客户' THEN 0 …`: the customary order, for a CASE in SQL."""
    return " ".join(f"WHEN '{name}' THEN {i}" for i, name in enumerate(SEGMENT_ORDER))


def borderline(means: tuple[float, float, float], buyers_mean: tuple[float, float, float],
               buyers_sd: tuple[float, float, float]) -> str:
    """The dimensions ("R", "FM" …) where `means` lie within 0.1 buyers' standard deviations
    of the buyers' means: the name would flip there on a slightly different day."""
    return "".join(d for d, m, mu, sd in zip("RFM", means, buyers_mean, buyers_sd, strict=True)
                   if abs(m - mu) <= BORDERLINE_SD * sd)


def label(name: str, tier: int, tiers: int) -> str:
    """`重要价值客户 · 2` when the name has several clusters, the plain name otherwise."""
    return f"{name} · {tier}" if tiers > 1 else name


@dataclass(frozen=True)
class Named:
    """A cluster's name, its tier among the clusters of that name, and its labels."""

    cluster: int
    segment: str
    segment_en: str
    tier: int
    label: str
    label_en: str
    borderline: str


def name_clusters(clusters: list[dict], buyers_mean: tuple[float, float, float],
                  buyers_sd: tuple[float, float, float]) -> list[Named]:
    """clusters: {cluster, r, f, m} raw means. Clusters that share a name are tiers of it,
    1 = the highest value: by mean M, then mean F (then the value-ordered cluster number)."""
    named = [(c, name_for(code_for(c["r"], c["f"], c["m"], *buyers_mean))) for c in clusters]
    out = []
    for c, (zh, en) in named:
        same = sorted((o for o, (z, _) in named if z == zh),
                      key=lambda o: (-o["m"], -o["f"], o["cluster"]))
        tier = 1 + [o["cluster"] for o in same].index(c["cluster"])
        out.append(Named(c["cluster"], zh, en, tier, label(zh, tier, len(same)),
                         label(en, tier, len(same)),
                         borderline((c["r"], c["f"], c["m"]), buyers_mean, buyers_sd)))
    return out
