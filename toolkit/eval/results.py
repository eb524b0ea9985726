"""What the eval stage reports per suite and candidate: mean scores, scores by task, the
verdict on each threshold the suite sets (a minimum, or a maximum for a lower-is-better
metric), how many items failed to get an answer and why, and each candidate's paired
difference from the reference candidate."""

from __future__ import annotations

from collections import Counter
from statistics import fmean

from toolkit.eval.suite import Suite


def summarize(suite: Suite, rows: list[dict]) -> dict:
    """Mean scores over every item, scores by task (`meta.task`), threshold verdicts,
    and the count of items that got no answer (`failed`, by reason kind in `failures`):
    a failed item counts with the worst score of each metric (`scoring.score_answers`),
    and `answered` of `items` stands beside every score."""
    from toolkit.eval.metrics import worst_score

    answered = [r for r in rows if not r.get("failed")]

    def value(row: dict, metric: str) -> float:
        return row["scores"].get(metric, worst_score(metric)) if not row.get("failed") \
            else worst_score(metric)

    scores = {m: fmean(value(r, m) for r in rows) for m in suite.metrics} if rows else {}
    by_task: dict[str, dict] = {}
    for task in sorted({r["task"] for r in rows if r["task"]}):
        sub = [r for r in rows if r["task"] == task]
        by_task[task] = {"items": len(sub), "answered": sum(not r.get("failed") for r in sub),
                         **{m: fmean(value(r, m) for r in sub) for m in suite.metrics}}
    from toolkit.eval.statistics import item_clusters

    clusters = item_clusters(suite.items)
    per_item = {m: [value(r, m) for r in rows]
                for m in suite.spec.thresholds if m in suite.metrics}
    labels = [clusters.get(r["id"], r["id"]) for r in rows]
    verdicts = (threshold_verdicts(suite.spec.thresholds, scores, per_item, labels)
                if scores else {})
    # The one interval of each mean, every item counted and whole clusters resampled:
    # what the gate, the acceptance verdicts and the report read (none recomputes it).
    from toolkit.eval.statistics import mean_interval

    intervals = {}
    for m in suite.metrics if rows else ():
        _, low, high = mean_interval([value(r, m) for r in rows], clusters=labels)
        intervals[m] = {"ci_low": low, "ci_high": high, "confidence": 0.95,
                        "n_clusters": len(set(labels))}
    failures = Counter(r["failed"].split(":", 1)[0] for r in rows if r.get("failed"))
    return {"scores": scores, "intervals": intervals, "by_task": by_task, "thresholds": verdicts,
            "passed": bool(scores) and all(v["passed"] for v in verdicts.values())
            and len(answered) == len(rows),
            "items": len(rows), "answered": len(answered), "failed": len(rows) - len(answered),
            "failures": dict(sorted(failures.items()))}


def threshold_verdicts(thresholds: dict[str, float], scores: dict[str, float],
                       per_item: dict[str, list[float]] | None = None,
                       clusters: list | None = None, confidence: float = 0.95) -> dict:
    """{metric: {"minimum"|"maximum": t, "value": mean, "ci_low", "ci_high", "verdict",
    "passed"}}: a threshold is a minimum, or a maximum for a lower-is-better metric
    (pii_leak), judged on the bootstrap interval of the mean (`per_item` scores; with
    `clusters`, one label per item, whole clusters resampled): "pass" when the whole
    interval is on the right side, "fail" when it is all on the wrong side,
    "inconclusive" when it straddles the threshold. `passed` is verdict == "pass".
    Without per-item scores the mean alone decides (pass or fail)."""
    from toolkit.eval.metrics import higher_is_better
    from toolkit.eval.statistics import mean_interval

    verdicts = {}
    for metric, level in thresholds.items():
        value = scores[metric]
        values = (per_item or {}).get(metric)
        low, high = (mean_interval(values, clusters=clusters, confidence=confidence)[1:]
                     if values is not None and len(values) else (value, value))
        lower_better = not higher_is_better(metric)
        good, bad = (high <= level, low > level) if lower_better else (low >= level, high < level)
        verdict = "pass" if good else "fail" if bad else "inconclusive"
        verdicts[metric] = {"maximum" if lower_better else "minimum": level, "value": value,
                            "ci_low": low, "ci_high": high, "verdict": verdict,
                            "passed": verdict == "pass"}
    return verdicts


def compare_with_reference(suite: Suite, rows: dict[str, list[dict]], reference: str, *,
                           n_resamples: int = 2000, seed: int = 0,
                           confidence: float = 0.95) -> dict:
    """Each other candidate against `reference` on `suite`, item by item over every item
    (an item either side failed counts with its worst score): {"reference", "confidence",
    "candidates": {name: {metric: {"diff" (candidate - reference), "ci_low", "ci_high",
    "p_value", "test", "n_items"}}}}."""
    from toolkit.eval.metrics import worst_score
    from toolkit.eval.statistics import compare, item_clusters

    def scores_of(name: str) -> dict:
        return {suite.name: {m: {r["id"]: (worst_score(m) if r.get("failed")
                                           else r["scores"].get(m, worst_score(m)))
                                 for r in rows[name]} for m in suite.metrics}}

    base = scores_of(reference)
    out: dict = {"reference": reference, "confidence": confidence, "candidates": {}}
    for name in rows:
        if name == reference:
            continue
        cand = scores_of(name)
        common = set(base[suite.name][suite.metrics[0]]) & set(cand[suite.name][suite.metrics[0]])
        if not common:
            out["candidates"][name] = {m: None for m in suite.metrics}
            continue
        pair = [{suite.name: {m: {i: v for i, v in side[suite.name][m].items() if i in common}
                              for m in suite.metrics}} for side in (base, cand)]
        table = {}
        for c in compare(*pair, primary={suite.name: suite.primary},
                         directions={suite.name: suite.higher_is_better},
                         n_resamples=n_resamples, seed=seed, confidence=confidence,
                         clusters={suite.name: item_clusters(suite.items)}):
            table[c.metric] = {"diff": c.diff, "ci_low": c.ci_low, "ci_high": c.ci_high,
                               "p_value": c.p_value, "test": c.test, "n_items": c.n_items,
                               "higher_is_better": c.higher_is_better}
        out["candidates"][name] = table
    return out


FEW_CLUSTERS = 30  # below this many independent units, intervals and power are rough


def detectable_difference_entry(suite: Suite, rows: dict[str, list[dict]], reference: str,
                                confidence: float = 0.95) -> dict:
    """`min_detectable_diff` of the suite's primary metric and what it rests on: from the
    paired differences (every item counted, clusters as units) of each candidate against
    `reference`, the largest of them; with one candidate, from its scores paired against
    a candidate that differs on every item by as much as its own scores vary (both
    sides varying like it). `few_clusters` is set under 30 clusters."""
    import numpy as np

    from toolkit.eval.metrics import worst_score
    from toolkit.eval.statistics import item_clusters, paired_detectable_difference

    metric = suite.primary
    clusters = item_clusters(suite.items)

    def column(name: str) -> dict[str, float]:
        return {r["id"]: (worst_score(metric) if r.get("failed")
                          else r["scores"].get(metric, worst_score(metric))) for r in rows[name]}

    ref = column(reference)
    ids = sorted(ref)
    labels = [clusters.get(i, i) for i in ids]
    a = np.array([ref[i] for i in ids])
    values, basis = [], "paired"
    for name in rows:
        if name != reference:
            other = column(name)
            values.append(paired_detectable_difference(
                a, np.array([other.get(i, worst_score(metric)) for i in ids]),
                clusters=labels, confidence=confidence))
    if not values:  # one candidate: a second one as variable as it, independent of it
        basis = "one candidate"
        rng = np.random.default_rng(0)
        values.append(paired_detectable_difference(a, rng.permutation(a), clusters=labels,
                                                   confidence=confidence) if a.std() > 0
                      else 1.0 / max(1, len(ids)))
    n_clusters = len(set(labels))
    return {"min_detectable_diff": max(values), "min_detectable_diff_basis": basis,
            "n_clusters": n_clusters, "few_clusters": n_clusters < FEW_CLUSTERS}
