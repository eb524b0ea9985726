"""The regression gate CI runs on two eval results, its JUnit report and tables, and the
`gongmu eval compare` / `gongmu eval gate` commands.

The gate is a non-inferiority test on the paired rows of `toolkit.eval.statistics`: a
suite passes when the lower bound of the bootstrap CI of (candidate - baseline) on its
primary metric is at least -max_drop; for a metric that declares lower is better (such as
pii_leak), when the upper bound is at most +max_drop.

    rows = compare(load_scores("runs/main/eval"), load_scores("runs/candidate/eval"))
    result = gate(rows, max_drop=0.02)

One eval folder with several candidates (`eval.candidates`) compares them all against a
reference candidate (`gongmu eval compare DIR [--reference NAME]`), and gates one of them
against another (`gongmu eval gate --baseline DIR --candidate NAME`).
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from rich.markup import escape
from rich.table import Table

from toolkit.console import console
from toolkit.eval.statistics import (
    Comparison,
    ComparisonError,
    Directions,
    Scores,
    check_confidence,
    candidate_names,
    compare,
    failed_items,
    gated_metrics,
    load_scores,
    metric_directions,
    paired_bootstrap,
    primary_metrics,
    reference_name,
    mean_interval,
    split_side,
    suite_clusters,
    suite_hashes,
)


@dataclass
class GateRow(Comparison):
    """A gated comparison (its CI at the gate's confidence) and its verdict: "pass",
    "fail" (the CI's lower bound is below -max_drop), "missing" (the candidate lacks it:
    fails) or "new" (only the candidate has it: not gated)."""

    verdict: str = ""
    message: str = ""


@dataclass
class GateResult:
    rows: list[GateRow]
    max_drop: float
    confidence: float

    @property
    def passed(self) -> bool:
        return all(r.verdict in ("pass", "new") for r in self.rows)

    @property
    def failures(self) -> list[GateRow]:
        return [r for r in self.rows if r.verdict in ("fail", "missing")]


def _pct(confidence: float) -> str:
    return f"{confidence * 100:g}%"


def gate(comparisons: Sequence[Comparison], *, max_drop: float = 0.02, confidence: float = 0.95,
         all_metrics: bool = False, limits: dict[str, float] | None = None,
         gated: dict[str, list[str]] | None = None) -> GateResult:
    """Non-inferiority of the candidate, per suite on its primary metric (every metric
    with `all_metrics`; every compared metric of a suite whose primary was filtered out).
    A row passes when the lower bound of the `confidence` CI of (candidate - baseline) is
    at least -max_drop, in the metric's own units (0.02 = 2 points of a 0-1 score); for a
    metric where lower is better (the row's `higher_is_better`), when the upper bound is
    at most +max_drop.
    Small suites need a wide margin: 200 items with 6 discordant right/wrong pairs already
    give a 95% CI of about +/-0.025 even when the means are equal.
    `limits` ({metric: limit}, default `metrics.SAFETY_LIMITS`) are absolute: such a
    metric (pii_leak) is gated even when it is not the suite's primary one, and fails
    when the upper bound of the candidate's own CI is above its limit, whatever the
    baseline scored. `gated` ({suite: metrics}, what results.json records as each
    suite's `gated_metrics`) adds a suite's meaning metrics to its primary one."""
    if limits is None:
        from toolkit.eval.metrics import SAFETY_LIMITS as limits
    if max_drop < 0:
        raise ComparisonError(f"max_drop {max_drop} must be >= 0 (the largest tolerated drop).")
    check_confidence(confidence)
    if not comparisons:
        raise ComparisonError("Nothing to gate: the comparison has no rows.")
    with_primary = {c.suite for c in comparisons if c.primary}
    rows = []
    for c in comparisons:
        # a safety metric with an absolute limit is gated whether or not it is primary
        if not (all_metrics or c.primary or c.suite not in with_primary or c.metric in limits
                or c.metric in (gated or {}).get(c.suite, ())):
            continue
        name = f"{c.suite}/{c.metric}"
        row = GateRow(**vars(c))
        rows.append(row)
        if c.present_in != "both":
            row.verdict = "missing" if c.present_in == "baseline" else "new"
            row.message = (f"{name}: the candidate has no scores for it" if row.verdict == "missing"
                           else f"{name}: only the candidate has it; not gated")
            continue
        if confidence != c.confidence:
            boot = paired_bootstrap(c.baseline, c.candidate, n_resamples=c.n_resamples,
                                    seed=c.seed, confidence=confidence, clusters=c.clusters)
            row.ci_low, row.ci_high, row.confidence = boot["ci_low"], boot["ci_high"], confidence
        if c.higher_is_better is None:
            raise ComparisonError(
                f"{name}: cannot tell whether higher is better: the eval results do not record "
                f"it and no installed metric is called '{c.metric}'. Install the plug-in "
                f"that scored it (`gongmu plugins` lists what is installed).")
        slack = 1e-12  # float noise at the margin itself
        if not c.higher_is_better:
            ok = row.ci_high <= max_drop + slack
            rule = f"upper bound {'within' if ok else 'beyond'} +{max_drop:g} (max rise; lower is better)"
        else:
            ok = row.ci_low >= -max_drop - slack
            rule = f"lower bound {'within' if ok else 'beyond'} -{max_drop:g} (max drop)"
        if c.metric in limits and not c.higher_is_better:
            _, _, high = mean_interval(c.candidate, clusters=c.clusters, seed=c.seed,
                                       confidence=confidence)
            within = high <= limits[c.metric] + slack
            ok = ok and within
            rule += (f"; candidate upper bound {high:.4f} {'within' if within else 'above'} "
                     f"the absolute limit {limits[c.metric]:g}")
        row.verdict = "pass" if ok else "fail"
        row.message = (
            f"{name}: candidate {c.mean_candidate:.4f} (answered "
            f"{_answered(c.n_items, c.unanswered_candidate)}) vs baseline "
            f"{c.mean_baseline:.4f} (answered {_answered(c.n_items, c.unanswered_baseline)}), "
            f"every item counted, diff {c.diff:+.4f}, {_pct(confidence)} CI "
            f"[{row.ci_low:+.4f}, {row.ci_high:+.4f}]; {rule}"
        )
    return GateResult(rows, max_drop, confidence)


def write_junit(result: GateResult, path: Path) -> None:
    """The gate as JUnit XML: one testsuite "gongmu-eval-gate", one testcase per gated
    suite/metric, a <failure> with the numbers for each regression (or missing suite)."""
    suite = ET.Element("testsuite", name="gongmu-eval-gate", tests=str(len(result.rows)),
                       failures=str(len(result.failures)), errors="0",
                       skipped=str(sum(r.verdict == "new" for r in result.rows)), time="0")
    props = ET.SubElement(suite, "properties")
    for key, value in (("max_drop", result.max_drop), ("confidence", result.confidence)):
        ET.SubElement(props, "property", name=key, value=f"{value:g}")
    for row in result.rows:
        case = ET.SubElement(suite, "testcase", classname=f"gongmu-eval-gate.{row.suite}",
                             name=f"{row.suite}/{row.metric}", time="0")
        numbers = {"margin": -result.max_drop, "baseline": row.mean_baseline,
                   "candidate": row.mean_candidate, "diff": row.diff, "ci_low": row.ci_low,
                   "ci_high": row.ci_high, "p_value": row.p_value, "items": row.n_items,
                   "answered_baseline": (row.n_items - row.unanswered_baseline
                                         if row.n_items else None),
                   "answered_candidate": (row.n_items - row.unanswered_candidate
                                          if row.n_items else None)}
        case_props = ET.SubElement(case, "properties")
        for key, value in numbers.items():
            if value is not None:
                ET.SubElement(case_props, "property", name=key, value=f"{value:.6g}")
        if row.verdict in ("fail", "missing"):
            kind = "regression" if row.verdict == "fail" else "missing-suite"
            ET.SubElement(case, "failure", message=row.message, type=kind).text = row.message
        elif row.verdict == "new":
            ET.SubElement(case, "skipped", message=row.message)
        else:
            ET.SubElement(case, "system-out").text = row.message
    root = ET.Element("testsuites", name="gongmu", tests=suite.get("tests"),
                      failures=suite.get("failures"), errors="0")
    root.append(suite)
    ET.indent(root)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


_VERDICT_STYLE = {"pass": "green", "fail": "bold red", "missing": "bold red", "new": "yellow"}


def _answered(items: int, unanswered: int) -> str:
    """'n/N': how many of the suite's items the candidate answered (응답 n/N)."""
    return f"{items - unanswered}/{items}"


def _num(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def format_table(result: GateResult | Sequence[Comparison]) -> Table:
    """A rich table of a gate (with verdicts) or of a comparison (with p-values), narrow
    enough for an 80-column CI log."""
    is_gate = isinstance(result, GateResult)
    rows = result.rows if is_gate else list(result)
    confidence = result.confidence if is_gate else (rows[0].confidence if rows else 0.95)
    if is_gate:
        state = "[green]passed[/]" if result.passed else "[bold red]FAILED[/]"
        title = f"eval gate: max drop {result.max_drop:g}, {_pct(confidence)} CI: {state}"
    else:
        title = "paired comparison, Δ = candidate - baseline"
    table = Table(title=title, title_justify="left", box=None, padding=(0, 1, 0, 0))
    table.add_column("suite", overflow="fold")
    table.add_column("metric", overflow="fold")
    for name in ("baseline", "candidate", "Δ", f"{_pct(confidence)} CI", "answered",
                 "verdict" if is_gate else "p"):
        table.add_column(name, justify="left" if name == "verdict" else "right", no_wrap=True)
    for r in rows:
        last = r.verdict if is_gate else _num(r.p_value, ".2g")
        if r.diff is None:
            cells = ["-", "-", "-", f"only in {r.present_in}", "-"]
        else:
            cells = [_num(r.mean_baseline), _num(r.mean_candidate), _num(r.diff, "+.3f"),
                     f"[{r.ci_low:+.3f},{r.ci_high:+.3f}]",
                     _answered(r.n_items, r.unanswered_candidate)]
        style = _VERDICT_STYLE.get(last, "") if is_gate else ""
        table.add_row(escape(r.suite), escape(r.metric), *(escape(c) for c in cells),
                      f"[{style}]{last}[/]" if style else escape(last))
    return table


# --- command-line entry points ---------------------------------------------------------

def _load_pair(baseline: str, candidate: str, allow_suite_change: bool = True,
               ) -> tuple[Scores, Scores, dict[str, str], Directions, dict[str, set[str]]]:
    base, cand = load_scores(baseline), load_scores(candidate)
    primary = {**primary_metrics(candidate), **primary_metrics(baseline)}
    directions = {**metric_directions(candidate), **metric_directions(baseline)}
    base_hashes, cand_hashes = suite_hashes(baseline), suite_hashes(candidate)
    changed = sorted(n for n in base_hashes.keys() & cand_hashes.keys()
                     if base_hashes[n] != cand_hashes[n])
    if changed and not allow_suite_change:
        raise ComparisonError(
            f"Suite(s) {', '.join(changed)} have a different suite_hash on each side: the items "
            f"or the suite changed between the two evals, so a paired comparison would compare "
            f"different questions. Re-run both evals on one version of the suites, or pass "
            f"--allow-suite-change to pair items by id anyway.")
    for name in changed:
        console.print(f"[yellow]warning[/] suite '{escape(name)}' has a different suite_hash on "
                      f"each side: same item ids, changed content; items are paired by id only.",
                      highlight=False, soft_wrap=True)
    failed = [failed_items(side) for side in (baseline, candidate)]
    unanswered = {suite: (len(failed[0].get(suite, ())), len(failed[1].get(suite, ())))
                  for suite in {*failed[0], *failed[1]}}
    for suite, counts in sorted(unanswered.items()):
        for side, n, scores in (("baseline", counts[0], base), ("candidate", counts[1], cand)):
            if n:
                total = len(next(iter(scores.get(suite, {None: {}}).values())))
                console.print(f"[yellow]warning[/] suite '{escape(suite)}': the {side} answered "
                              f"{total - n}/{total} items; the {n} it did not answer count with "
                              f"the worst score of each metric.", highlight=False, soft_wrap=True)
    return base, cand, primary, directions, unanswered


def with_candidate(folder: str, name: str) -> str:
    """`folder:name` for a candidate of the eval folder `folder` (its own suffix dropped)."""
    return f"{split_side(folder)[0]}:{name}"


def _candidate_of(baseline: str, candidate: str) -> tuple[str, str]:
    """(baseline, candidate) as paths: `candidate` may be the name of a candidate in the
    baseline's eval folder; the baseline is then that folder's side named by its own
    suffix, else its reference candidate."""
    if Path(split_side(candidate)[0]).exists():
        return baseline, candidate
    names = candidate_names(baseline)
    if candidate not in names:
        raise ComparisonError(
            f"--candidate {candidate} is neither an eval result on disk nor a candidate of "
            f"{split_side(baseline)[0]} ({', '.join(names) or 'none found'}).")
    base_path, side = split_side(baseline)
    if side is None:
        side = reference_name(baseline) or names[0]
    return f"{base_path}:{side}", with_candidate(baseline, candidate)


def _split_names(names: Sequence[str] | str | None) -> list[str] | None:
    if not names:
        return None
    names = [names] if isinstance(names, str) else names
    return [n.strip() for name in names for n in name.split(",") if n.strip()] or None


def compare_candidates(folder: str, reference: str | None = None,
                       metrics: Sequence[str] | None = None, n_resamples: int = 10000,
                       seed: int = 0, confidence: float = 0.95) -> tuple[str, list[dict]]:
    """Every candidate of one eval folder against `reference` (default: the one its
    results.json names, else the first), suite by suite: (reference, rows), each row a
    suite x metric x candidate with the candidate's mean and, for the others, the paired
    difference from the reference with its CI (items either side failed left out)."""
    names = candidate_names(folder)
    if not names:
        raise ComparisonError(f"{folder} has no results.json with candidates: give an eval "
                              f"stage folder (or a run folder).")
    reference = reference or reference_name(folder) or names[0]
    if reference not in names:
        raise ComparisonError(f"--reference {reference} is not a candidate of {folder} "
                              f"({', '.join(names)}).")
    ref_path = with_candidate(folder, reference)
    primary_of = primary_metrics(ref_path)
    ref_failed = failed_items(ref_path)
    rows: list[dict] = [
        {"suite": suite, "metric": metric, "candidate": reference, "reference": True,
         "primary": metric == primary_of.get(suite, next(iter(by_metric))),
         "mean": float(np.mean(list(values.values()))), "n_items": len(values),
         "unanswered_candidate": len(ref_failed.get(suite, ()))}
        for suite, by_metric in load_scores(ref_path).items()
        for metric, values in by_metric.items() if not metrics or metric in metrics]
    for name in names:
        if name == reference:
            continue
        base, cand, primary, directions, unanswered = _load_pair(ref_path,
                                                                 with_candidate(folder, name))
        for c in compare(base, cand, metrics=metrics, primary=primary, directions=directions,
                         n_resamples=n_resamples, seed=seed, confidence=confidence,
                         unanswered=unanswered, clusters=suite_clusters(ref_path)):
            rows.append({"suite": c.suite, "metric": c.metric, "candidate": name,
                         "reference": False, "primary": c.primary, "mean": c.mean_candidate,
                         **{k: v for k, v in c.as_dict().items()
                            if k in ("diff", "ci_low", "ci_high", "p_value", "test", "n_items",
                                     "unanswered_candidate", "higher_is_better", "confidence",
                                     "present_in")}})
    order = {n: k for k, n in enumerate(names)}
    table = rows
    scoring = _choice_scoring(folder)
    for row in table:
        how = scoring.get((row["suite"], row["candidate"]))
        if how:
            row["choice_scoring"] = how
    table.sort(key=lambda r: (r["suite"], r["metric"], order[r["candidate"]]))
    return reference, table


def _choice_scoring(folder: str) -> dict[tuple[str, str], str]:
    """{(suite, candidate): "logprobs" | "letter"} as results.json records it."""
    path = Path(split_side(folder)[0])
    path = path / "eval" if not (path / "results.json").is_file() else path
    try:
        suites = json.loads((path / "results.json").read_text(encoding="utf-8"))["suites"]
        return {(s, n): m["choice_scoring"] for s, e in suites.items()
                for n, m in e["models"].items() if m.get("choice_scoring")}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def format_candidates_table(reference: str, rows: list[dict]) -> Table:
    """suite x metric x candidate: mean, and Δ vs the reference with its paired CI."""
    confidence = next((r["confidence"] for r in rows if "confidence" in r), 0.95)
    table = Table(title=f"candidates vs {reference}: Δ = candidate - {reference}, paired "
                  f"{_pct(confidence)} CI", title_justify="left", box=None, padding=(0, 1, 0, 0))
    for name in ("suite", "metric", "candidate"):
        table.add_column(name, overflow="fold")
    for name in ("mean", "Δ", f"{_pct(confidence)} CI", "p", "answered"):
        table.add_column(name, justify="right", no_wrap=True)
    for r in rows:
        if r["reference"]:
            cells = [_num(r["mean"]), "ref", "", "", _answered(r["n_items"],
                                                               r.get("unanswered_candidate", 0))]
        elif r.get("diff") is None:
            cells = ["-", "-", f"only in {r.get('present_in')}", "", ""]
        else:
            n = _answered(r["n_items"], r.get("unanswered_candidate", 0))
            cells = [_num(r["mean"]), _num(r["diff"], "+.3f"),
                     f"[{r['ci_low']:+.3f},{r['ci_high']:+.3f}]", _num(r["p_value"], ".2g"), n]
        metric = r["metric"] + (" *" if r["primary"] else "")
        name = r["candidate"] + (" (letter)" if r.get("choice_scoring") == "letter" else "")
        table.add_row(escape(r["suite"]), escape(metric), escape(name),
                      *(escape(c) for c in cells))
    if any(r.get("choice_scoring") == "letter" for r in rows):
        table.caption = ("(letter): multiple choice answered by letter, not scored by "
                         "log-likelihood; not comparable with the others. * primary metric")
        table.caption_justify = "left"
    return table


def compare_command(a: str, b: str | None = None, metrics: Sequence[str] | str | None = None,
                    json_out: bool = False, reference: str | None = None) -> int:
    """Compare eval result `b` (candidate) against `a` (baseline); with `b` None, every
    candidate of the eval folder `a` against `reference`. A table on the console, or
    with `json_out` one JSON list on stdout. Returns the exit code (0)."""
    if b is None:
        ref, rows = compare_candidates(a, reference, _split_names(metrics))
        if json_out:
            sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        else:
            console.print(format_candidates_table(ref, rows))
        return 0
    base, cand, primary, directions, unanswered = _load_pair(a, b)
    comparisons = compare(base, cand, metrics=_split_names(metrics), primary=primary,
                          directions=directions, unanswered=unanswered,
                          clusters={**suite_clusters(b), **suite_clusters(a)})
    if json_out:
        sys.stdout.write(json.dumps([c.as_dict() for c in comparisons], ensure_ascii=False,
                                    indent=2) + "\n")
        return 0
    console.print(format_table(comparisons))
    return 0


def gate_command(baseline: str, candidate: str, max_drop: float = 0.02,
                 junit: Path | None = None, confidence: float = 0.95,
                 all_metrics: bool = False, allow_suite_change: bool = False) -> int:
    """Gate `candidate` against `baseline`: print the table, write `junit` if given, and
    return 1 when any suite regresses by more than `max_drop` (or is missing), else 0.
    `candidate` may name a candidate of the baseline's eval folder (`--candidate
    vendor-a`): it is then gated against that folder's reference candidate, or the side
    the baseline names (`DIR:tuned`). Load or input errors raise GongmuError (the CLI
    exits 2 on those), among them a suite whose suite_hash differs between the two sides
    unless `allow_suite_change`. The bootstrap resamples the clusters results.json
    records (items of one document or template together)."""
    baseline, candidate = _candidate_of(baseline, candidate)
    base, cand, primary, directions, unanswered = _load_pair(baseline, candidate,
                                                             allow_suite_change)
    comparisons = compare(base, cand, primary=primary, directions=directions,
                          confidence=confidence, unanswered=unanswered,
                          clusters={**suite_clusters(candidate), **suite_clusters(baseline)})
    result = gate(comparisons, max_drop=max_drop, confidence=confidence, all_metrics=all_metrics,
                  gated={**gated_metrics(candidate), **gated_metrics(baseline)})
    console.print(format_table(result))
    for row in result.failures:
        console.print(f"[red]FAIL[/] {escape(row.message)}", highlight=False, soft_wrap=True)
    if junit is not None:
        write_junit(result, junit)
        console.print(f"JUnit report: {escape(str(junit))}", highlight=False, soft_wrap=True)
    if result.passed:
        console.print(f"[green]ok[/] no gated metric regresses by more than {max_drop:g} "
                      f"(bound of the {_pct(confidence)} CI)", highlight=False)
        return 0
    return 1
