"""Paired statistics of two eval results: per-item score tables, the paired bootstrap and
McNemar's test, and `compare`, which pairs two results item by item.

Both sides scored the same items, so every test here is paired: item by item, never two
means side by side. An eval result is an eval stage folder (`results.json` and
`outputs/<suite>.<candidate>.jsonl`, one row per item with `id` and `scores`) or one such
JSONL file. `PATH:NAME` picks a candidate of a folder (`PATH:base`, `PATH:tuned`,
`PATH:vendor-a`; default: tuned). An item a candidate never got an answer for (a row
with `failed`) counts with the worst score of each metric, in every comparison.

    base, cand = load_scores("runs/main/eval"), load_scores("runs/candidate/eval")
    rows = compare(base, cand, primary=primary_metrics("runs/main/eval"))

The regression gate built on these rows is `toolkit.eval.gate`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from toolkit.artifacts import MANIFEST, verify_folder
from toolkit.errors import ArtifactError, DataError, GongmuError
from toolkit.eval.metrics import higher_is_better, worst_score
from toolkit.plugins import PluginError

Scores = dict[str, dict[str, dict[str, float]]]  # suite -> metric -> item id -> score
Directions = dict[str, dict[str, bool]]  # suite -> metric -> higher is better

SIDES = ("base", "tuned")  # the default candidates
DEFAULT_SIDE = "tuned"
_NAME = re.compile(r"^(.+):([A-Za-z0-9][A-Za-z0-9_-]*)$")
EXACT_BELOW = 25  # McNemar: exact binomial below this many discordant pairs
_BOOTSTRAP_CELLS = 1 << 20  # resampled values held at once (8 MiB of float64)


class ComparisonError(GongmuError):
    """Two eval results cannot be compared item by item, or a test cannot apply."""


# --- loading ---------------------------------------------------------------------------

def split_side(path: Path | str) -> tuple[Path, str | None]:
    """`runs/x/eval:base` -> (runs/x/eval, "base"), `runs/x/eval:vendor-a` -> (runs/x/eval,
    "vendor-a"); a path that exists as written is kept."""
    text = str(path)
    m = _NAME.match(text)
    if m and not Path(text).exists() and (m.group(2) in SIDES or Path(m.group(1)).exists()):
        return Path(m.group(1)), m.group(2)
    return Path(text), None


def candidate_names(path: Path | str) -> list[str]:
    """The candidates an eval folder's results.json scored (empty when it has none)."""
    folder = _eval_folder(split_side(path)[0])
    results = folder / "results.json"
    try:
        suites = json.loads(results.read_text(encoding="utf-8")).get("suites", {})
    except (OSError, ValueError, AttributeError, RecursionError):
        return []
    names: dict[str, None] = {}
    for entry in suites.values() if isinstance(suites, dict) else []:
        models = entry.get("models") if isinstance(entry, dict) else None
        if isinstance(models, (dict, list)):
            names.update(dict.fromkeys(m for m in models if isinstance(m, str)))
    return list(names)


def reference_name(path: Path | str) -> str | None:
    """The reference candidate an eval folder's results.json names, if any."""
    folder = _eval_folder(split_side(path)[0])
    try:
        data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data.get("reference") if isinstance(data, dict) else None


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
    except (ValueError, AttributeError, RecursionError):
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
    known = candidate_names(path) if path.is_dir() else []
    if path.is_dir() and known and side not in known:
        raise ComparisonError(f"{path} has no candidate '{side}': it scored "
                              f"{', '.join(known)}; pick one with {path}:NAME.")
    if not known and side not in SIDES and not path.is_file():
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


def _recorded(path: Path | str, key: str) -> dict:
    """`key` of each suite in the eval's results.json (for a JSONL file in `outputs/`, the
    results.json beside that folder), for the suites that record it."""
    path, _ = split_side(path)
    folder = path.parent.parent if path.is_file() and path.parent.name == "outputs" else path
    entries = _suite_entries(_eval_folder(folder)) if folder.is_dir() else {}
    return {name: e[key] for name, e in entries.items() if isinstance(e, dict) and e.get(key)}


def primary_metrics(path: Path | str) -> dict[str, str]:
    """Each suite's primary metric as its eval's results.json records it; empty when there
    is none."""
    return _recorded(path, "primary_metric")


def gated_metrics(path: Path | str) -> dict[str, list[str]]:
    """Each suite's gated metrics (its primary one and any meaning metric) as the eval's
    results.json records them; empty for results written before suites declared them."""
    return {name: list(g) for name, g in _recorded(path, "gated_metrics").items()
            if isinstance(g, list)}


def metric_directions(path: Path | str) -> Directions:
    """Whether higher is better, per suite and metric, as the eval's results.json records
    it (each suite's `higher_is_better`); empty for results written before metrics
    declared their direction."""
    return {name: {m: bool(v) for m, v in recorded.items()}
            for name, recorded in _recorded(path, "higher_is_better").items()
            if isinstance(recorded, dict)}


def suite_clusters(path: Path | str) -> dict[str, dict[str, str]]:
    """Each suite's `clusters` ({item id: cluster}) as the eval's results.json records it."""
    return {name: c for name, c in _recorded(path, "clusters").items() if isinstance(c, dict)}


def suite_hashes(path: Path | str) -> dict[str, str]:
    """Each suite's `suite_hash` (its spec and items) as the eval's results.json records it."""
    return _recorded(path, "suite_hash")


def _scores_from_jsonl(path: Path, default_suite: str) -> Scores:
    scores: Scores = {}
    first_line: dict[tuple[str, str], int] = {}
    unanswered: dict[str, list[tuple[str, str]]] = {}
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            where = f"{path}:{n}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ArtifactError(f"{where}: not UTF-8 (byte {exc.start} of the line); an "
                                    f"eval writes its per-item rows as UTF-8 JSON.") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except RecursionError:
                raise ArtifactError(f"{where}: JSON nested too deeply to read.") from None
            except ValueError as exc:
                raise ArtifactError(f"{where}: not valid JSON ({exc}).") from None
            row = row if isinstance(row, dict) else {}
            item_id, item_scores = row.get("id"), row.get("scores")
            if row.get("failed") and item_id not in (None, "") and not item_scores:
                # never answered, from an eval before every item counted: the worst score
                # of each metric its suite scores (known from its other rows, below)
                unanswered.setdefault(str(row.get("suite") or default_suite), []).append(
                    (str(item_id), where))
                continue
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
    for suite, ids in unanswered.items():
        for item_id, where in ids:
            if suite not in scores:
                raise DataError(f"{where}: item '{item_id}' failed, and no row of suite "
                                f"'{suite}' says which metrics it scores.")
            for metric, values in scores[suite].items():
                values.setdefault(item_id, worst_score(metric))
    if not scores:
        raise DataError(f"{path} has no rows with scores.")
    return scores


def failed_items(path: Path | str, side: str | None = None) -> dict[str, set[str]]:
    """{suite: ids of the items that never got an answer} of one eval result (the rows
    with `failed`), in the layout `load_scores` reads."""
    path, suffix_side = split_side(path)
    side = side or suffix_side or DEFAULT_SIDE
    if path.is_file():
        files = {path.name.split(".")[0]: path}
    else:
        folder = _eval_folder(path)
        files = {p.name[: -len(f".{side}.jsonl")]: p
                 for p in sorted((folder / "outputs").glob(f"*.{side}.jsonl"))}
    failed: dict[str, set[str]] = {}
    for suite, file in files.items():
        with open(file, encoding="utf-8") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict) and row.get("failed"):
                    failed.setdefault(str(row.get("suite") or suite), set()).add(str(row["id"]))
    return failed


# --- statistics ------------------------------------------------------------------------

def _paired_arrays(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ComparisonError(
            f"Paired scores need two 1-D arrays of the same non-zero length (got {a.shape} and {b.shape})."
        )
    return a, b


def check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ComparisonError(f"confidence {confidence} must lie strictly between 0 and 1 (e.g. 0.95).")


# Item meta keys naming the cluster an item belongs to, first found wins: items built
# from one source document, or written from one template, are not independent.
CLUSTER_KEYS = ("cluster", "scenario", "template", "request_type", "doc_id")


def item_cluster(item: dict) -> str:
    """The cluster of an eval item: its meta `cluster`, `scenario` (pii-leak: one story
    told several ways), `template`, `request_type` (the template of a request) or
    `doc_id`; else, for a builder's id "<suite>/<document>#<part>", the document; else
    the item itself."""
    meta = item.get("meta") or {}
    for key in CLUSTER_KEYS:
        if meta.get(key) not in (None, ""):
            return f"{key}:{meta[key]}"
    item_id = str(item.get("id", ""))
    return item_id.split("#", 1)[0] if "#" in item_id else item_id


def item_clusters(items: Sequence[dict]) -> dict[str, str]:
    """{item id: cluster} (`item_cluster`) of a suite's items, for results.json."""
    return {str(i["id"]): item_cluster(i) for i in items}


def _cluster_index(clusters, n: int) -> np.ndarray | None:
    """Cluster labels as 0..K-1, or None when every item is its own cluster."""
    if clusters is None:
        return None
    labels = list(clusters)
    if len(labels) != n:
        raise ComparisonError(f"{len(labels)} cluster labels for {n} items: give one per item.")
    _, index = np.unique(np.asarray([str(c) for c in labels]), return_inverse=True)
    return None if index.max(initial=-1) + 1 == n else index


def _resampled_means(d: np.ndarray, clusters, n_resamples: int, rng) -> np.ndarray:
    """Bootstrap means of `d`: items resampled with replacement, or, with cluster labels,
    whole clusters (the mean of the items of the drawn clusters)."""
    n = d.size
    index = _cluster_index(clusters, n)
    means = np.empty(n_resamples)
    if index is None:
        chunk = max(1, _BOOTSTRAP_CELLS // n)
        for start in range(0, n_resamples, chunk):
            rows = min(chunk, n_resamples - start)
            means[start:start + rows] = d[rng.integers(0, n, size=(rows, n))].mean(axis=1)
        return means
    k = int(index.max()) + 1
    sums = np.bincount(index, weights=d, minlength=k)
    counts = np.bincount(index, minlength=k).astype(np.float64)
    chunk = max(1, _BOOTSTRAP_CELLS // k)
    for start in range(0, n_resamples, chunk):
        rows = min(chunk, n_resamples - start)
        drawn = rng.integers(0, k, size=(rows, k))
        means[start:start + rows] = sums[drawn].sum(axis=1) / counts[drawn].sum(axis=1)
    return means


def mean_interval(values, *, clusters=None, n_resamples: int = 2000, seed: int = 0,
                  confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the percentile bootstrap CI of the mean of `values`, items or
    (with `clusters`, one label per item) whole clusters resampled."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ComparisonError("mean_interval needs a non-empty 1-D list of scores.")
    check_confidence(confidence)
    means = _resampled_means(v, clusters, n_resamples, np.random.default_rng(seed))
    alpha = 1 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(v.mean()), float(low), float(high)


def detectable_difference(values, *, clusters=None, confidence: float = 0.95,
                          power: float = 0.8) -> float:
    """The smallest paired difference of means a suite can detect at its item count:
    (z_(1-alpha/2) + z_power) x the standard error of a difference, taking both sides as
    varying like `values` (one candidate's per-item scores) and independent, clusters
    counted as units (cluster-robust variance of the mean)."""
    from statistics import NormalDist

    v = np.asarray(values, dtype=np.float64)
    if v.size < 2:
        return float("nan")
    index = _cluster_index(clusters, v.size)
    resid = v - v.mean()
    if index is None:
        var_mean = float((resid ** 2).sum()) / (v.size * (v.size - 1))
    else:
        k = int(index.max()) + 1
        totals = np.bincount(index, weights=resid, minlength=k)
        var_mean = float((totals ** 2).sum()) / v.size ** 2 * (k / max(1, k - 1))
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2) + NormalDist().inv_cdf(power)
    return z * math.sqrt(2 * var_mean)


def _cluster_robust_var_of_mean(d: np.ndarray, clusters) -> float:
    """The variance of the mean of `d`, clusters as the units (CR1 correction)."""
    index = _cluster_index(clusters, d.size)
    resid = d - d.mean()
    if index is None:
        return float((resid ** 2).sum()) / (d.size * (d.size - 1))
    k = int(index.max()) + 1
    totals = np.bincount(index, weights=resid, minlength=k)
    return float((totals ** 2).sum()) / d.size ** 2 * (k / max(1, k - 1))


def paired_detectable_difference(a, b, *, clusters=None, confidence: float = 0.95,
                                 power: float = 0.8) -> float:
    """The smallest true difference of means (b - a) a paired two-sided test at
    1 - `confidence` detects with `power`: (z_(1-alpha/2) + z_power) x the cluster-robust
    standard error of the mean paired difference. Never below 1/n, the smallest step a
    mean over n items can take, so a suite whose candidates agree item by item does not
    claim to detect a difference of 0."""
    from statistics import NormalDist

    a, b = _paired_arrays(a, b)
    d = b - a
    if d.size < 2:
        return 1.0
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2) + NormalDist().inv_cdf(power)
    return max(z * math.sqrt(_cluster_robust_var_of_mean(d, clusters)), 1.0 / d.size)


def paired_bootstrap(a, b, *, n_resamples: int = 10000, seed: int = 0,
                     confidence: float = 0.95, clusters=None) -> dict:
    """Mean of `a`, mean of `b`, their difference `diff` (b - a), the percentile bootstrap
    CI of that difference (items resampled with replacement, pairs kept together; with
    `clusters`, one label per item, whole clusters resampled: items of one source
    document or template are not independent) and a two-sided bootstrap p-value for "no
    difference". Deterministic given `seed`."""
    a, b = _paired_arrays(a, b)
    check_confidence(confidence)
    if n_resamples < 1:
        raise ComparisonError(f"n_resamples must be at least 1 (got {n_resamples}).")
    d = b - a
    rng = np.random.default_rng(seed)
    means = _resampled_means(d, clusters, n_resamples, rng)
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
    higher_is_better: bool | None = True  # None: neither the results nor a metric say
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
    # items each side never got an answer for (failed): counted with the worst score
    unanswered_baseline: int = 0
    unanswered_candidate: int = 0
    baseline: np.ndarray = field(default=None, repr=False)  # per-item, aligned by id
    candidate: np.ndarray = field(default=None, repr=False)
    clusters: list | None = field(default=None, repr=False)  # per-item cluster labels
    n_clusters: int = 0  # resampled units (n_items when items are independent)

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items()
                if k not in ("baseline", "candidate", "clusters")}


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


def _direction(suite: str, metric: str, directions: Directions | None) -> bool | None:
    # What the results recorded, else what the installed metric declares.
    recorded = (directions or {}).get(suite, {}).get(metric)
    if recorded is not None:
        return recorded
    try:
        return higher_is_better(metric)
    except PluginError:
        return None


def compare(baseline: Scores, candidate: Scores, *, metrics: Sequence[str] | None = None,
            primary: dict[str, str] | None = None, directions: Directions | None = None,
            n_resamples: int = 10000, seed: int = 0, confidence: float = 0.95,
            unanswered: dict[str, tuple[int, int]] | None = None,
            clusters: dict[str, dict[str, str]] | None = None) -> list[Comparison]:
    """Every suite and metric of `baseline` vs `candidate`, items paired by id (`metrics`:
    only these). A suite or metric one side lacks is a row with `present_in` naming the
    side that has it. Each row says whether higher is better: from `directions` (what
    the eval results recorded), else from the installed metric of that name.
    `unanswered` ({suite: (baseline, candidate)}, how many items each side never got an
    answer for) is recorded on each row: those items are compared with the worst score
    they carry, never dropped. `clusters` ({suite: {item
    id: cluster}}, as results.json records them) make the bootstrap resample clusters;
    without them, a builder item's id "<suite>/<document>#<part>" names its cluster.
    Raises ComparisonError when a suite's item sets differ, when no suite is on both
    sides, or when a requested metric is in no suite."""
    check_confidence(confidence)
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
            row = Comparison(suite, metric, metric == main,
                             _direction(suite, metric, directions), confidence=confidence,
                             n_resamples=n_resamples, seed=seed)
            if metric not in cand or metric not in base:
                row.present_in = "baseline" if metric in base else "candidate"
                rows.append(row)
                continue
            base_ids, cand_ids = set(base[metric]), set(cand[metric])
            if base_ids != cand_ids:
                raise _item_mismatch(suite, base_ids, cand_ids)
            row.unanswered_baseline, row.unanswered_candidate = (unanswered or {}).get(suite, (0, 0))
            ids = sorted(base_ids)
            if not ids:
                raise ComparisonError(f"Suite '{suite}': no item was answered on both sides.")
            a = np.array([base[metric][i] for i in ids])
            b = np.array([cand[metric][i] for i in ids])
            known = (clusters or {}).get(suite) or {}
            labels = [known.get(i) or item_cluster({"id": i}) for i in ids]
            boot = paired_bootstrap(a, b, n_resamples=n_resamples, seed=seed, confidence=confidence,
                                    clusters=labels)
            row.n_items, row.baseline, row.candidate = len(ids), a, b
            row.clusters, row.n_clusters = labels, len(set(labels))
            row.mean_baseline, row.mean_candidate = boot["mean_a"], boot["mean_b"]
            row.diff, row.ci_low, row.ci_high = boot["diff"], boot["ci_low"], boot["ci_high"]
            if is_binary(a) and is_binary(b):
                row.mcnemar = mcnemar(a, b)
                row.p_value, row.test = row.mcnemar["p_value"], f"mcnemar-{row.mcnemar['method']}"
            else:
                row.p_value, row.test = boot["p_value_two_sided"], "bootstrap"
            rows.append(row)
    return rows


