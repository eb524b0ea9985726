"""What the eval stage reports per suite and model: mean scores, scores by task, and the
verdict on each threshold the suite sets (a minimum, or a maximum for a lower-is-better
metric)."""

from __future__ import annotations

from statistics import fmean

from toolkit.eval.suite import Suite


def summarize(suite: Suite, rows: list[dict]) -> dict:
    """Mean scores, scores by task (`meta.task`) and threshold verdicts of one model."""
    scores = {m: fmean(r["scores"][m] for r in rows) for m in suite.metrics} if rows else {}
    by_task: dict[str, dict] = {}
    for task in sorted({r["task"] for r in rows if r["task"]}):
        sub = [r for r in rows if r["task"] == task]
        by_task[task] = {"items": len(sub),
                         **{m: fmean(r["scores"][m] for r in sub) for m in suite.metrics}}
    verdicts = threshold_verdicts(suite.spec.thresholds, scores)
    return {"scores": scores, "by_task": by_task, "thresholds": verdicts,
            "passed": all(v["passed"] for v in verdicts.values())}


def threshold_verdicts(thresholds: dict[str, float], scores: dict[str, float]) -> dict:
    """{metric: {"minimum"|"maximum": t, "value": mean, "passed": bool}}: a threshold is a
    minimum, or a maximum for a lower-is-better metric (pii_leak)."""
    from toolkit.eval.metrics import higher_is_better

    verdicts = {}
    for metric, level in thresholds.items():
        value = scores[metric]
        if not higher_is_better(metric):
            verdicts[metric] = {"maximum": level, "value": value, "passed": value <= level}
        else:
            verdicts[metric] = {"minimum": level, "value": value, "passed": value >= level}
    return verdicts
