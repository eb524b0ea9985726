"""Acceptance verdicts judged on interval bounds the eval computed (results.json: each
mean's cluster-bootstrap interval, every pair of candidates' paired interval); the report
recomputes none of them.

A criterion is one of:

    {"minimum": 0.6}                                     the lower bound must reach it
    {"maximum": 0.05}                                    the upper bound must stay under it
    {"non_inferiority": {"reference": "base", "margin": 0.02}}
                                                         candidate - reference, paired, must
                                                         not be worse than -margin

A verdict is "pass" (the whole interval meets the criterion), "fail" (the whole interval
misses it) or "inconclusive" (the interval straddles it); never judged on the mean.

A verdict needs skill (`judge`): "pass" also asks that the whole interval lie beyond the
suite's best no-model floor (a program that reads nothing scores that much), and that the
candidate could be asked every item. Otherwise the verdict is "fail" or "inconclusive",
with the reason.
"""

from __future__ import annotations

import math

CONFIDENCE = 0.95
# Failure kinds that mean the candidate could not be asked at all (the endpoint was
# down or the suite's deadline passed), not that it answered badly.
NOT_ASKED_KINDS = ("unreachable", "deadline", "suite_deadline")


def best_floor(floors: dict[str, float] | None, higher_is_better: bool) -> tuple[str, float] | None:
    """(strategy, score) of the strongest no-model strategy, or None without floors."""
    if not floors:
        return None
    pick = max if higher_is_better else min
    name = pick(floors, key=lambda k: floors[k])
    return name, float(floors[name])


def judge(criterion: dict | None, higher_is_better: bool, low: float, high: float,
          diff_low: float | None = None, diff_high: float | None = None, *,
          floor: tuple[str, float] | None = None, not_asked: int = 0) -> tuple[str, str | None]:
    """(verdict, reason) for one suite x candidate: `verdict` on the criterion, then the
    skill rules. reason is None, "not_asked" (items the candidate could not be asked:
    "inconclusive"), "at_floor" (the interval reaches the best floor: "inconclusive"),
    "below_floor" (the whole interval is no better than the floor: "fail") or
    "no_interval" (results.json has no interval for it: "inconclusive")."""
    base = verdict(criterion, higher_is_better, low, high, diff_low, diff_high)
    if base in ("none", "reference"):
        return base, None
    if math.isnan(low) or math.isnan(high):
        return "inconclusive", "no_interval"
    if not_asked and base != "fail":
        return "inconclusive", "not_asked"
    if floor is not None and base != "fail":
        level = floor[1]
        beyond = low > level if higher_is_better else high < level
        short = high <= level if higher_is_better else low >= level
        if short:
            return "fail", "below_floor"
        if not beyond:
            return "inconclusive", "at_floor"
    return base, None


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
