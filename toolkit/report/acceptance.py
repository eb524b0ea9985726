"""Acceptance verdicts judged on interval bounds, and the small percentile bootstrap the
report uses when the eval's results.json carries no interval.

A criterion is one of:

    {"minimum": 0.6}                                     the lower bound must reach it
    {"maximum": 0.05}                                    the upper bound must stay under it
    {"non_inferiority": {"reference": "base", "margin": 0.02}}
                                                         candidate - reference, paired, must
                                                         not be worse than -margin

A verdict is "pass" (the whole interval meets the criterion), "fail" (the whole interval
misses it) or "inconclusive" (the interval straddles it); never judged on the mean.
"""

from __future__ import annotations

import math

import numpy as np

RESAMPLES = 2000
CONFIDENCE = 0.95


def percentile_interval(scores: list[float], *, seed: int, resamples: int = RESAMPLES,
                        confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The percentile-bootstrap interval of the mean of `scores` (items resampled)."""
    values = np.asarray(scores, dtype=float)
    if values.size == 0:
        return math.nan, math.nan
    if values.size == 1 or np.all(values == values[0]):
        return float(values[0]), float(values[0])
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, (resamples, values.size))].mean(axis=1)
    tail = (1 - confidence) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def paired_interval(candidate: list[float], reference: list[float], *, seed: int,
                    resamples: int = RESAMPLES, confidence: float = CONFIDENCE
                    ) -> tuple[float, float, float]:
    """(mean difference, low, high) of candidate - reference, items resampled in pairs."""
    diff = np.asarray(candidate, dtype=float) - np.asarray(reference, dtype=float)
    low, high = percentile_interval(list(diff), seed=seed, resamples=resamples,
                                    confidence=confidence)
    return (float(diff.mean()) if diff.size else math.nan), low, high


def smallest_detectable_difference(differences: list[float]) -> float | None:
    """About the smallest mean difference a paired test at 5% significance detects with 80%
    power at this item count: (1.96 + 0.84) * sd / sqrt(n)."""
    values = np.asarray(differences, dtype=float)
    if values.size < 2:
        return None
    return float(2.8 * values.std(ddof=1) / math.sqrt(values.size))


def verdict(criterion: dict | None, higher_is_better: bool, low: float, high: float,
            diff_low: float | None = None, diff_high: float | None = None) -> str:
    """pass / fail / inconclusive / none for one suite x candidate, on the interval bound.

    `low`, `high`: the interval of the candidate's mean; `diff_low`, `diff_high`: the
    paired interval of candidate - reference (non-inferiority only)."""
    if not criterion:
        return "none"
    if "non_inferiority" in criterion:
        if diff_low is None or diff_high is None or math.isnan(diff_low):
            return "inconclusive"
        margin = float(criterion["non_inferiority"]["margin"])
        if higher_is_better:  # worse means lower: pass when even the low end is above -margin
            return "pass" if diff_low >= -margin else ("fail" if diff_high < -margin else "inconclusive")
        return "pass" if diff_high <= margin else ("fail" if diff_low > margin else "inconclusive")
    if math.isnan(low) or math.isnan(high):
        return "inconclusive"
    if "minimum" in criterion:
        level = float(criterion["minimum"])
        return "pass" if low >= level else ("fail" if high < level else "inconclusive")
    if "maximum" in criterion:
        level = float(criterion["maximum"])
        return "pass" if high <= level else ("fail" if low > level else "inconclusive")
    return "none"


def overall(verdicts: list[str]) -> str:
    """One verdict from several: fail if any fails, pass if all that have a criterion
    pass, else inconclusive; none when no suite has a criterion."""
    judged = [v for v in verdicts if v not in ("none", "reference")]
    if not judged:
        return "reference" if "reference" in verdicts else "none"
    if "fail" in judged:
        return "fail"
    return "pass" if all(v == "pass" for v in judged) else "inconclusive"
