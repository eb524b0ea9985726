"""Paired comparison of two eval results, and the regression gate CI runs on them.

Both sides scored the same items, so every test here is paired: item by item, never two
means side by side. An eval result is an eval stage folder (`results.json` and
`outputs/<suite>.<base|tuned>.jsonl`, one row per item with `id` and `scores`) or one such
JSONL file. `PATH:base` or `PATH:tuned` picks the side of a folder (default: tuned).

    base, cand = load_scores("runs/main/eval"), load_scores("runs/candidate/eval")
    result = gate(compare(base, cand, primary=primary_metrics("runs/main/eval")))

The gate is a non-inferiority test: a suite passes when the lower bound of the
bootstrap CI of (candidate - baseline) on its primary metric is at least -max_drop
(for a lower-is-better metric such as pii_leak: the upper bound at most +max_drop).
"""

from __future__ import annotations

import json
import math
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Collection, Sequence

import numpy as np
from rich.markup import escape
from rich.table import Table

from toolkit.artifacts import MANIFEST, verify_folder
from toolkit.console import console
from toolkit.errors import ArtifactError, DataError, GongmuError

Scores = dict[str, dict[str, dict[str, float]]]  # suite -> metric -> item id -> score

SIDES = ("base", "tuned")
DEFAULT_SIDE = "tuned"
# Metrics where a rise is the regression (toolkit.eval.metrics: pii_leak is a leak rate).
# `refusal` is left out: whether refusing is right depends on the suite.
LOWER_IS_BETTER = frozenset({"pii_leak"})
EXACT_BELOW = 25  # McNemar: exact binomial below this many discordant pairs
_BOOTSTRAP_CELLS = 1 << 20  # resampled values held at once (8 MiB of float64)


class ComparisonError(GongmuError):
    """Two eval results cannot be compared item by item, or a test cannot apply."""


# --- loading ---------------------------------------------------------------------------

def split_side(path: Path | str) -> tuple[Path, str | None]:
    """`runs/x/eval:base` -> (runs/x/eval, "base"); a path that exists as written is kept."""
    text = str(path)
    for side in SIDES:
        if text.endswith(f":{side}") and not Path(text).exists():
            return Path(text[: -len(side) - 1]), side
    return Path(text), None


def _eval_folder(path: Path) -> Path:
    # A run folder (runs/<name>) stands for its eval stage folder.
    if not (path / "results.json").is_file() and (path / "eval" / "results.json").is_file():
        return path / "eval"
    return path


def _suite_entries(folder: Path) -> dict[str, dict]:
    results = folder / "results.json"
    if not results.is_file():
        return {}
    try:
        suites = json.loads(results.read_text(encoding="utf-8")).get("suites", {})
    except (ValueError, AttributeError):
        raise ArtifactError(f"{results}: not a gongmu eval results.json.") from None
    return suites if isinstance(suites, dict) else {}


def load_scores(path: Path | str, side: str | None = None) -> Scores:
    """Per-item scores, `{suite: {metric: {item_id: score}}}`, from an eval stage folder
    (one side of it: `side`, or the `:base`/`:tuned` suffix of `path`, else tuned) or a
    per-item JSONL file (its suite: a row's `suite` field, else the file name's first
    part). Rows need `id` and `scores`; other fields are ignored. A folder with a
    manifest must verify against it."""
    path, suffix_side = split_side(path)
    side = side or suffix_side or DEFAULT_SIDE
    if side not in SIDES:
        raise ComparisonError(f"Side '{side}' of {path}: use one of {', '.join(SIDES)}.")
    if path.is_file():
        return _scores_from_jsonl(path, path.name.split(".")[0])
    if not path.is_dir():
        raise DataError(f"{path} does not exist: give an eval stage folder or a per-item JSONL file.")
    folder = _eval_folder(path)
    if (folder / MANIFEST).is_file():
        problems = verify_folder(folder)
        if problems:
            raise ArtifactError(
                f"{folder} does not verify against its manifest ({len(problems)} problem(s), "
                f"first: {problems[0]}). Re-run its eval stage; `gongmu export verify {folder}` "
                f"lists every problem."
            )
    entries = _suite_entries(folder)
    if entries:
        files = {name: folder / "outputs" / f"{name}.{side}.jsonl" for name in entries}
    else:
        files = {p.name[: -len(f".{side}.jsonl")]: p
                 for p in sorted((folder / "outputs").glob(f"*.{side}.jsonl"))}
    if not files:
        raise DataError(
            f"{folder} holds no per-item scores for side '{side}' "
            f"(no results.json suites, no outputs/*.{side}.jsonl): is it an eval stage folder?"
        )
    scores: Scores = {}
    for name, file in files.items():
        if not file.is_file():
            raise ArtifactError(f"{folder}/results.json lists suite '{name}' but {file} is missing.")
        scores.update(_scores_from_jsonl(file, name))
        primary = entries.get(name, {}).get("primary_metric")
        if primary and primary not in scores[name]:
            raise ArtifactError(
                f"{file}: results.json names '{primary}' as the primary metric of '{name}' "
                f"but its rows score only {', '.join(scores[name])}."
            )
    return scores


def primary_metrics(path: Path | str) -> dict[str, str]:
    """Each suite's primary metric as its eval's results.json records it (for a JSONL file
    in `outputs/`, the results.json beside that folder); empty when there is none."""
    path, _ = split_side(path)
    folder = path.parent.parent if path.is_file() and path.parent.name == "outputs" else path
    entries = _suite_entries(_eval_folder(folder)) if folder.is_dir() else {}
    return {name: e["primary_metric"] for name, e in entries.items()
            if isinstance(e, dict) and e.get("primary_metric")}


def _scores_from_jsonl(path: Path, default_suite: str) -> Scores:
    scores: Scores = {}
    first_line: dict[tuple[str, str], int] = {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ArtifactError(f"{where}: not valid JSON ({exc}).") from None
            row = row if isinstance(row, dict) else {}
            item_id, item_scores = row.get("id"), row.get("scores")
            if item_id in (None, "") or not isinstance(item_scores, dict) or not item_scores:
                raise DataError(f"{where}: a per-item row needs an 'id' and a 'scores' object.")
            suite, item_id = str(row.get("suite") or default_suite), str(item_id)
            if (suite, item_id) in first_line:
                raise DataError(f"{where}: item '{item_id}' of suite '{suite}' already "
                                f"appears on line {first_line[suite, item_id]}.")
            first_line[suite, item_id] = n
            metrics = scores.setdefault(suite, {m: {} for m in item_scores})
            if set(item_scores) != set(metrics):
                raise DataError(f"{where}: scores {', '.join(sorted(item_scores))}, but earlier rows "
                                f"of suite '{suite}' score {', '.join(sorted(metrics))}.")
            for metric, value in item_scores.items():
                if isinstance(value, bool):
                    value = float(value)
                if not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise DataError(f"{where}: score {metric}={value!r} is not a finite number.")
                metrics[metric][item_id] = float(value)
    if not scores:
        raise DataError(f"{path} has no rows.")
    return scores


# --- statistics ------------------------------------------------------------------------

def _paired_arrays(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ComparisonError(
            f"Paired scores need two 1-D arrays of the same non-zero length (got {a.shape} and {b.shape})."
        )
    return a, b


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ComparisonError(f"confidence {confidence} must lie strictly between 0 and 1 (e.g. 0.95).")


def paired_bootstrap(a, b, *, n_resamples: int = 10000, seed: int = 0,
                     confidence: float = 0.95) -> dict:
    """Mean of `a`, mean of `b`, their difference `diff` (b - a), the percentile bootstrap
    CI of that difference (items resampled with replacement, pairs kept together) and a
    two-sided bootstrap p-value for "no difference". Deterministic given `seed`."""
    a, b = _paired_arrays(a, b)
    _check_confidence(confidence)
    if n_resamples < 1:
        raise ComparisonError(f"n_resamples must be at least 1 (got {n_resamples}).")
    d = b - a
    n = d.size
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    chunk = max(1, _BOOTSTRAP_CELLS // n)
    for start in range(0, n_resamples, chunk):
        rows = min(chunk, n_resamples - start)
        means[start:start + rows] = d[rng.integers(0, n, size=(rows, n))].mean(axis=1)
    diff = float(d.mean())
    alpha = 1 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    # p: how often the resampled mean, re-centred on 0 (the null), lands as far out as diff.
    extreme = int(np.count_nonzero(np.abs(means - diff) >= abs(diff)))
    return {
        "mean_a": float(a.mean()),
        "mean_b": float(b.mean()),
        "diff": diff,
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value_two_sided": min(1.0, (extreme + 1) / (n_resamples + 1)),
    }


def is_binary(values) -> bool:
    """True when every value is 0 or 1 (a right/wrong metric such as exact_match)."""
    return bool(np.isin(np.asarray(values, dtype=np.float64), (0.0, 1.0)).all())


def mcnemar(a, b) -> dict:
    """McNemar's test of paired right/wrong scores: `b_only` items only b gets right,
    `a_only` items only a gets right. Exact two-sided binomial below 25 discordant pairs
    (statistic = the smaller count), else chi-square with continuity correction (1 df)."""
    a, b = _paired_arrays(a, b)
    if not (is_binary(a) and is_binary(b)):
        raise ComparisonError("McNemar's test needs 0/1 scores on both sides (e.g. exact_match); "
                              "use paired_bootstrap for graded metrics such as chrf.")
    b_only = int(np.count_nonzero((b == 1) & (a == 0)))
    a_only = int(np.count_nonzero((a == 1) & (b == 0)))
    n = a_only + b_only
    if n < EXACT_BELOW:
        statistic = float(min(a_only, b_only))
        tail = sum(math.comb(n, k) for k in range(min(a_only, b_only) + 1))
        p_value, method = min(1.0, 2 * tail / 2 ** n), "exact"
    else:
        statistic = max(0, abs(a_only - b_only) - 1) ** 2 / n
        p_value, method = math.erfc(math.sqrt(statistic / 2)), "chi2"  # chi2(1) survival
    return {"b_only": b_only, "a_only": a_only, "statistic": statistic,
            "p_value": p_value, "method": method}


# --- comparison ------------------------------------------------------------------------

@dataclass
class Comparison:
    """One suite and metric, baseline vs candidate. `present_in` is "both", or the one
    side that has it (then no numbers). `p_value` is McNemar's for 0/1 metrics, else the
    bootstrap's; the CI is always the bootstrap's."""

    suite: str
    metric: str
    primary: bool
    present_in: str = "both"
    n_items: int = 0
    mean_baseline: float | None = None
    mean_candidate: float | None = None
    diff: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float = 0.95
    p_value: float | None = None
    test: str = ""
    mcnemar: dict | None = None
    n_resamples: int = 10000
    seed: int = 0
    baseline: np.ndarray = field(default=None, repr=False)  # per-item, aligned by id
    candidate: np.ndarray = field(default=None, repr=False)

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k not in ("baseline", "candidate")}


def _primary_of(suite: str, metrics: Sequence[str], primary: dict[str, str] | None) -> str:
    # The runner's rule: primary_metric, else the suite's first metric.
    chosen = (primary or {}).get(suite)
    return chosen if chosen in metrics else metrics[0]


def _item_mismatch(suite: str, base_ids: set[str], cand_ids: set[str]) -> ComparisonError:
    only_base, only_cand = sorted(base_ids - cand_ids), sorted(cand_ids - base_ids)
    parts = []
    for ids, side, other in ((only_base, "baseline", "candidate"), (only_cand, "candidate", "baseline")):
        if ids:
            parts.append(f"{len(ids)} item id(s) of the {side} are missing from the {other} "
                         f"(e.g. {', '.join(ids[:3])})")
    return ComparisonError(
        f"Suite '{suite}': the baseline and the candidate scored different items: "
        f"{'; '.join(parts)}. A paired comparison needs the same items on both sides: "
        f"evaluate both on the same version of the suite."
    )


def compare(baseline: Scores, candidate: Scores, *, metrics: Sequence[str] | None = None,
            primary: dict[str, str] | None = None, n_resamples: int = 10000, seed: int = 0,
            confidence: float = 0.95) -> list[Comparison]:
    """Every suite and metric of `baseline` vs `candidate`, items paired by id (`metrics`:
    only these). A suite or metric one side lacks is a row with `present_in` naming the
    side that has it. Raises ComparisonError when a suite's item sets differ, when no
    suite is on both sides, or when a requested metric is in no suite."""
    _check_confidence(confidence)
    common = [s for s in baseline if s in candidate]
    if not common:
        raise ComparisonError(
            f"No suite is on both sides: the baseline has {', '.join(baseline) or 'none'}, "
            f"the candidate {', '.join(candidate) or 'none'}."
        )
    if metrics:
        known = {m for side in (baseline, candidate) for s in side.values() for m in s}
        unknown = [m for m in metrics if m not in known]
        if unknown:
            raise ComparisonError(f"Metric(s) {', '.join(unknown)} are in no suite of either side; "
                                  f"known: {', '.join(sorted(known))}.")
    rows: list[Comparison] = []
    for suite in dict.fromkeys([*baseline, *candidate]):
        base, cand = baseline.get(suite, {}), candidate.get(suite, {})
        all_metrics = list(dict.fromkeys([*base, *cand]))
        main = _primary_of(suite, all_metrics, primary)
        for metric in all_metrics:
            if metrics and metric not in metrics:
                continue
            row = Comparison(suite, metric, metric == main, confidence=confidence,
                             n_resamples=n_resamples, seed=seed)
            if metric not in cand or metric not in base:
                row.present_in = "baseline" if metric in base else "candidate"
                rows.append(row)
                continue
            if base[metric].keys() != cand[metric].keys():
                raise _item_mismatch(suite, set(base[metric]), set(cand[metric]))
            ids = sorted(base[metric])
            a = np.array([base[metric][i] for i in ids])
            b = np.array([cand[metric][i] for i in ids])
            boot = paired_bootstrap(a, b, n_resamples=n_resamples, seed=seed, confidence=confidence)
            row.n_items, row.baseline, row.candidate = len(ids), a, b
            row.mean_baseline, row.mean_candidate = boot["mean_a"], boot["mean_b"]
            row.diff, row.ci_low, row.ci_high = boot["diff"], boot["ci_low"], boot["ci_high"]
            if is_binary(a) and is_binary(b):
                row.mcnemar = mcnemar(a, b)
                row.p_value, row.test = row.mcnemar["p_value"], f"mcnemar-{row.mcnemar['method']}"
            else:
                row.p_value, row.test = boot["p_value_two_sided"], "bootstrap"
            rows.append(row)
    return rows


# --- the gate --------------------------------------------------------------------------

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
         all_metrics: bool = False, lower_is_better: Collection[str] = LOWER_IS_BETTER) -> GateResult:
    """Non-inferiority of the candidate, per suite on its primary metric (every metric
    with `all_metrics`; every compared metric of a suite whose primary was filtered out).
    A row passes when the lower bound of the `confidence` CI of (candidate - baseline) is
    at least -max_drop, in the metric's own units (0.02 = 2 points of a 0-1 score); for a
    metric in `lower_is_better`, when the upper bound is at most +max_drop.
    Small suites need a wide margin: 200 items with 6 discordant right/wrong pairs already
    give a 95% CI of about +/-0.025 even when the means are equal."""
    if max_drop < 0:
        raise ComparisonError(f"max_drop {max_drop} must be >= 0 (the largest tolerated drop).")
    _check_confidence(confidence)
    if not comparisons:
        raise ComparisonError("Nothing to gate: the comparison has no rows.")
    with_primary = {c.suite for c in comparisons if c.primary}
    rows = []
    for c in comparisons:
        if not (all_metrics or c.primary or c.suite not in with_primary):
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
                                    seed=c.seed, confidence=confidence)
            row.ci_low, row.ci_high, row.confidence = boot["ci_low"], boot["ci_high"], confidence
        slack = 1e-12  # float noise at the margin itself
        if c.metric in lower_is_better:
            ok = row.ci_high <= max_drop + slack
            rule = f"upper bound {'within' if ok else 'beyond'} +{max_drop:g} (max rise; lower is better)"
        else:
            ok = row.ci_low >= -max_drop - slack
            rule = f"lower bound {'within' if ok else 'beyond'} -{max_drop:g} (max drop)"
        row.verdict = "pass" if ok else "fail"
        row.message = (
            f"{name}: candidate {c.mean_candidate:.4f} vs baseline {c.mean_baseline:.4f} on "
            f"{c.n_items} items, diff {c.diff:+.4f}, {_pct(confidence)} CI "
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
                   "ci_high": row.ci_high, "p_value": row.p_value, "items": row.n_items}
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
    for name in ("baseline", "candidate", "Δ", f"{_pct(confidence)} CI",
                 "verdict" if is_gate else "p"):
        table.add_column(name, justify="left" if name == "verdict" else "right", no_wrap=True)
    for r in rows:
        last = r.verdict if is_gate else _num(r.p_value, ".2g")
        if r.diff is None:
            cells = ["-", "-", "-", f"only in {r.present_in}"]
        else:
            cells = [_num(r.mean_baseline), _num(r.mean_candidate), _num(r.diff, "+.3f"),
                     f"[{r.ci_low:+.3f},{r.ci_high:+.3f}]"]
        style = _VERDICT_STYLE.get(last, "") if is_gate else ""
        table.add_row(escape(r.suite), escape(r.metric), *(escape(c) for c in cells),
                      f"[{style}]{last}[/]" if style else escape(last))
    return table


# --- command-line entry points ---------------------------------------------------------

def _load_pair(baseline: str, candidate: str) -> tuple[Scores, Scores, dict[str, str]]:
    base, cand = load_scores(baseline), load_scores(candidate)
    primary = {**primary_metrics(candidate), **primary_metrics(baseline)}
    base_entries = _suite_entries(_eval_folder(split_side(baseline)[0]))
    cand_entries = _suite_entries(_eval_folder(split_side(candidate)[0]))
    for name in base_entries.keys() & cand_entries.keys():
        hashes = (base_entries[name].get("suite_hash"), cand_entries[name].get("suite_hash"))
        if None not in hashes and hashes[0] != hashes[1]:
            console.print(f"[yellow]warning[/] suite '{escape(name)}' has a different suite_hash on "
                          f"each side: same item ids, changed content; items are paired by id only.",
                          highlight=False, soft_wrap=True)
    return base, cand, primary


def _split_names(names: Sequence[str] | str | None) -> list[str] | None:
    if not names:
        return None
    names = [names] if isinstance(names, str) else names
    return [n.strip() for name in names for n in name.split(",") if n.strip()] or None


def compare_command(a: str, b: str, metrics: Sequence[str] | str | None = None,
                    json_out: bool = False) -> int:
    """Compare eval result `b` (candidate) against `a` (baseline): a table on the console,
    or with `json_out` one JSON list on stdout. Returns the exit code (0)."""
    base, cand, primary = _load_pair(a, b)
    comparisons = compare(base, cand, metrics=_split_names(metrics), primary=primary)
    if json_out:
        sys.stdout.write(json.dumps([c.as_dict() for c in comparisons], ensure_ascii=False,
                                    indent=2) + "\n")
        return 0
    console.print(format_table(comparisons))
    return 0


def gate_command(baseline: str, candidate: str, max_drop: float = 0.02,
                 junit: Path | None = None, confidence: float = 0.95,
                 all_metrics: bool = False) -> int:
    """Gate `candidate` against `baseline`: print the table, write `junit` if given, and
    return 1 when any suite regresses by more than `max_drop` (or is missing), else 0.
    Load or input errors raise GongmuError (the CLI exits 2 on those)."""
    base, cand, primary = _load_pair(baseline, candidate)
    comparisons = compare(base, cand, primary=primary, confidence=confidence)
    result = gate(comparisons, max_drop=max_drop, confidence=confidence, all_metrics=all_metrics)
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
