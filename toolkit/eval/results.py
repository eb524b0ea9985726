"""What the eval stage reports per suite and candidate: mean scores, scores by task, the
verdict on each threshold the suite sets (a minimum, or a maximum for a lower-is-better
metric), how many items failed to get an answer and why, and each candidate's paired
difference from the reference candidate."""

from __future__ import annotations

from collections import Counter
from statistics import fmean

from toolkit.eval.suite import Suite


def summarize(suite: Suite, rows: list[dict]) -> dict:
    """Mean scores over the answered items, scores by task (`meta.task`), threshold
    verdicts, and the count of items that got no answer (`failed`, by reason kind in
    `failures`): a failed item is left out of the means, never scored as empty."""
    answered = [r for r in rows if not r.get("failed")]
    scores = ({m: fmean(r["scores"][m] for r in answered) for m in suite.metrics}
              if answered else {})
    by_task: dict[str, dict] = {}
    for task in sorted({r["task"] for r in answered if r["task"]}):
        sub = [r for r in answered if r["task"] == task]
        by_task[task] = {"items": len(sub),
                         **{m: fmean(r["scores"][m] for r in sub) for m in suite.metrics}}
    from toolkit.eval.statistics import item_clusters

    clusters = item_clusters(suite.items)
    per_item = {m: [r["scores"][m] for r in answered]
                for m in suite.spec.thresholds if m in suite.metrics}
    labels = [clusters.get(r["id"], r["id"]) for r in answered]
    verdicts = (threshold_verdicts(suite.spec.thresholds, scores, per_item, labels)
                if scores else {})
    failures = Counter(r["failed"].split(":", 1)[0] for r in rows if r.get("failed"))
    return {"scores": scores, "by_task": by_task, "thresholds": verdicts,
            "passed": bool(scores) and all(v["passed"] for v in verdicts.values()),
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
    """Each other candidate against `reference` on `suite`, item by item (the items both
    answered): {"reference", "confidence", "candidates": {name: {metric: {"diff"
    (candidate - reference), "ci_low", "ci_high", "p_value", "test", "n_items"}}}}."""
    from toolkit.eval.statistics import compare, item_clusters

    def scores_of(name: str) -> dict:
        answered = [r for r in rows[name] if not r.get("failed")]
        return {suite.name: {m: {r["id"]: r["scores"][m] for r in answered}
                             for m in suite.metrics}}

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
