"""Comparing a treated group with its holdout: difference of means with a confidence
interval.

For each customer the outcome is a number (converted 0/1, orders, revenue in the
follow-up window). The difference of the groups' means gets Welch's standard error
sqrt(s1²/n1 + s0²/n0) and a normal-approximation interval (Welch 1947, "The
generalization of 'Student's' problem when several different population variances are
involved", Biometrika 34). For a 0/1 outcome this is the Wald interval for a difference
of proportions. With groups of a few hundred or more, as holdouts are, the normal
approximation is the textbook choice; below 30 per group the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

SMALL = 30


@dataclass(frozen=True)
class Difference:
    treated_mean: float
    control_mean: float
    lift: float  # treated − control
    low: float
    high: float
    relative: float | None  # lift ÷ control mean
    small: bool  # a group under SMALL: the interval is rough

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


def difference(treated: np.ndarray, control: np.ndarray, level: float = 0.95) -> Difference | None:
    """Treated minus control with a `level` interval; None when a group is empty."""
    n1, n0 = len(treated), len(control)
    if n1 == 0 or n0 == 0:
        return None
    m1, m0 = float(np.mean(treated)), float(np.mean(control))
    v1 = float(np.var(treated, ddof=1)) if n1 > 1 else 0.0
    v0 = float(np.var(control, ddof=1)) if n0 > 1 else 0.0
    se = (v1 / n1 + v0 / n0) ** 0.5
    z = NormalDist().inv_cdf(0.5 + level / 2)
    lift = m1 - m0
    return Difference(m1, m0, lift, lift - z * se, lift + z * se,
                      lift / m0 if m0 else None, min(n1, n0) < SMALL)
