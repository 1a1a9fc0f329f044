"""The eight RFM segments, named by R, F, M against the buyers' means.

R 高 means *more recent* (fewer days since the last order). Many published tutorials
invert this; DESIGN.md pins it and a test holds it. A tie with the mean counts as 低.
The table is the customary one of Chinese e-commerce practice (e.g. 阿里 / 淘宝 operations
handbooks; Hughes 1994 for RFM itself).
"""

from __future__ import annotations

__all__ = ["SEGMENTS", "SEGMENT_ORDER", "name_for", "code_for"]

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


def code_for(recency: float, frequency: float, monetary: float,
             mean_r: float, mean_f: float, mean_m: float) -> tuple[bool, bool, bool]:
    """(R high, F high, M high); R is high when fewer days than the mean."""
    return recency < mean_r, frequency > mean_f, monetary > mean_m


def name_for(code: tuple[bool, bool, bool]) -> tuple[str, str]:
    return SEGMENTS[code]
