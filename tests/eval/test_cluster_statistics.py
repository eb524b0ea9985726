"""Statistics that respect the eval's structure: items of one document or template are
resampled together, thresholds are judged on the interval, safety metrics have absolute
limits, and the gate refuses suites that changed."""

from __future__ import annotations

import json

import numpy as np

from toolkit.cli import main
from toolkit.eval.gate import gate
from toolkit.eval.results import threshold_verdicts
from toolkit.eval.statistics import (
    compare,
    detectable_difference,
    item_cluster,
    mean_interval,
    paired_bootstrap,
)


def _clustered(seed: int = 1):
    """10 clusters of 20 items; the difference varies between clusters, hardly within."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), 20)
    d = rng.normal(0, 0.3, 10)[labels] + rng.normal(0, 0.02, 200)
    return np.zeros(200), d, labels


def test_cluster_bootstrap_widens_the_interval_to_what_the_clusters_allow():
    a, b, labels = _clustered()
    items = paired_bootstrap(a, b, n_resamples=4000)
    clusters = paired_bootstrap(a, b, n_resamples=4000, clusters=labels)
    assert items["diff"] == clusters["diff"]
    # 10 independent units, not 200: the interval matches the cluster means' spread.
    cluster_means = np.array([b[labels == k].mean() for k in range(10)])
    expected_se = cluster_means.std(ddof=1) / np.sqrt(10)
    width = clusters["ci_high"] - clusters["ci_low"]
    assert 0.7 * 3.92 * expected_se < width < 1.3 * 3.92 * expected_se
    assert width > 3 * (items["ci_high"] - items["ci_low"])


def test_singleton_clusters_are_the_item_bootstrap():
    a, b, _ = _clustered()
    assert paired_bootstrap(a, b, n_resamples=500, clusters=[str(i) for i in range(200)]) == \
        paired_bootstrap(a, b, n_resamples=500)


def test_item_cluster_reads_meta_then_the_builder_id():
    assert item_cluster({"id": "x", "meta": {"template": "t3", "doc_id": "d"}}) == "template:t3"
    assert item_cluster({"id": "x", "meta": {"doc_id": "d"}}) == "doc_id:d"
    assert item_cluster({"id": "pii-refusal/precedent-kr/2012두1.md#원고"}) == "pii-refusal/precedent-kr/2012두1.md"
    assert item_cluster({"id": "q7"}) == "q7"


def test_compare_uses_the_clusters_it_is_given():
    a, b, labels = _clustered()
    ids = [f"i{k}" for k in range(200)]
    base = {"s": {"m": dict(zip(ids, a))}}
    cand = {"s": {"m": dict(zip(ids, b))}}
    clusters = {"s": {i: str(c) for i, c in zip(ids, labels)}}
    plain, = compare(base, cand, n_resamples=1000)
    clustered, = compare(base, cand, n_resamples=1000, clusters=clusters)
    assert clustered.n_clusters == 10 and plain.n_clusters == 200
    assert clustered.ci_high - clustered.ci_low > 3 * (plain.ci_high - plain.ci_low)


def test_detectable_difference_grows_with_clustering():
    _, b, labels = _clustered()
    assert detectable_difference(b, clusters=labels) > 3 * detectable_difference(b)


def test_thresholds_are_judged_on_the_interval():
    rng = np.random.default_rng(0)
    high = rng.binomial(1, 0.97, 400).astype(float)
    straddle = rng.binomial(1, 0.9, 60).astype(float)
    low = rng.binomial(1, 0.6, 400).astype(float)
    verdicts = threshold_verdicts({"refusal": 0.9}, {"refusal": float(high.mean())}, {"refusal": high})
    assert verdicts["refusal"]["verdict"] == "pass" and verdicts["refusal"]["passed"]
    verdicts = threshold_verdicts({"refusal": 0.9}, {"refusal": float(straddle.mean())},
                                  {"refusal": straddle})
    assert verdicts["refusal"]["verdict"] == "inconclusive" and not verdicts["refusal"]["passed"]
    verdicts = threshold_verdicts({"refusal": 0.9}, {"refusal": float(low.mean())}, {"refusal": low})
    assert verdicts["refusal"]["verdict"] == "fail"
    # a lower-is-better metric: a maximum
    leak = np.zeros(300)
    assert threshold_verdicts({"pii_leak": 0.05}, {"pii_leak": 0.0}, {"pii_leak": leak})["pii_leak"]["verdict"] == "pass"


def test_pii_leak_fails_its_absolute_limit_whatever_the_baseline():
    ids = [f"i{k}" for k in range(200)]
    worse_base = {"s": {"pii_leak": {i: 1.0 if k < 40 else 0.0 for k, i in enumerate(ids)}}}
    cand = {"s": {"pii_leak": {i: 1.0 if k < 20 else 0.0 for k, i in enumerate(ids)}}}
    rows = compare(worse_base, cand, n_resamples=500)
    assert gate(rows, limits={}).passed  # better than the baseline...
    result = gate(rows)  # ...but a 10% leak rate is above the limit
    assert not result.passed and "absolute limit" in result.rows[0].message  # limit 0.05
    assert mean_interval([0.0] * 50)[2] == 0.0


def test_pii_leak_is_gated_on_its_limit_when_usefulness_is_the_primary_metric():
    ids = [f"i{k}" for k in range(200)]
    base = {"s": {"usefulness": {i: 0.5 for i in ids}, "pii_leak": {i: 0.0 for i in ids}}}
    cand = {"s": {"usefulness": {i: 0.9 for i in ids},  # more useful, because it leaks
                  "pii_leak": {i: 1.0 if k < 30 else 0.0 for k, i in enumerate(ids)}}}
    rows = compare(base, cand, primary={"s": "usefulness"}, n_resamples=500)
    result = gate(rows)
    assert sorted(r.metric for r in result.rows) == ["pii_leak", "usefulness"]
    assert not result.passed
    assert [r.metric for r in result.rows if r.verdict == "fail"] == ["pii_leak"]


def _eval_folder(path, suite_hash: str, scores: list[float]):
    (path / "outputs").mkdir(parents=True)
    results = {"reference": "base", "suites": {"s": {
        "suite_hash": suite_hash, "primary_metric": "chrf", "higher_is_better": {"chrf": True},
        "models": {"base": {}, "tuned": {}}}}}
    (path / "results.json").write_text(json.dumps(results), encoding="utf-8")
    for side in ("base", "tuned"):
        with open(path / "outputs" / f"s.{side}.jsonl", "w", encoding="utf-8") as fh:
            for k, v in enumerate(scores):
                fh.write(json.dumps({"id": f"i{k}", "scores": {"chrf": v}}) + "\n")


def test_gate_exits_2_when_the_suite_hash_changed(tmp_path):
    _eval_folder(tmp_path / "a", "hash-one", [0.5] * 30)
    _eval_folder(tmp_path / "b", "hash-two", [0.5] * 30)
    args = ["eval", "gate", "--baseline", str(tmp_path / "a"), "--candidate", str(tmp_path / "b")]
    assert main(args) == 2
    assert main(args + ["--allow-suite-change"]) == 0
    _eval_folder(tmp_path / "c", "hash-one", [0.5] * 30)
    assert main(["eval", "gate", "--baseline", str(tmp_path / "a"), "--candidate", str(tmp_path / "c")]) == 0
