"""The smallest detectable difference (issue 20): computed from the candidates' paired
differences with clusters as the units, never 0, and in agreement with a simulation of
the gate's own cluster bootstrap on a synthetic suite with known clusters."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.eval.statistics import paired_bootstrap, paired_detectable_difference

K, M = 40, 5  # clusters, items per cluster


def _suite(rng, delta: float):
    """Paired right/wrong scores of two candidates: each cluster (a source document) has
    its own difficulty, shared by its items; the second candidate is `delta` better."""
    p = np.repeat(rng.uniform(0.15, 0.75, K), M)
    a = (rng.random(K * M) < p).astype(float)
    b = (rng.random(K * M) < np.clip(p + delta, 0, 1)).astype(float)
    return a, b, np.repeat(np.arange(K), M)


def _power(delta: float, replicates: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for r in range(replicates):
        a, b, clusters = _suite(rng, delta)
        ci = paired_bootstrap(a, b, n_resamples=400, seed=r, clusters=clusters)
        hits += ci["ci_low"] > 0
    return hits / replicates


def test_detectable_difference_agrees_with_a_simulation_of_the_cluster_bootstrap():
    rng = np.random.default_rng(1)
    formula = float(np.median([paired_detectable_difference(*_suite(rng, 0.0)[:2],
                                                            clusters=_suite(rng, 0.0)[2])
                               for _ in range(40)]))
    deltas = np.arange(0.04, 0.40, 0.04)
    # one-sided power of the two-sided 95% interval: the bound the gate reads
    powers = [_power(float(d), replicates=120, seed=7) for d in deltas]
    assert powers[0] < 0.8 < powers[-1], powers
    k = next(i for i, p in enumerate(powers) if p >= 0.8)
    at_80 = float(np.interp(0.8, [powers[k - 1], powers[k]], [deltas[k - 1], deltas[k]]))
    assert abs(formula - at_80) / at_80 < 0.2, (formula, at_80, powers)


def test_clusters_widen_the_detectable_difference_over_items_taken_alone():
    rng = np.random.default_rng(3)
    a, b, clusters = _suite(rng, 0.0)
    # the same differences, but each cluster's items identical: K units, not K x M
    shared = np.repeat(b.reshape(K, M)[:, 0], M), np.repeat(a.reshape(K, M)[:, 0], M)
    assert paired_detectable_difference(*shared, clusters=clusters) > \
        paired_detectable_difference(*shared)


def test_detectable_difference_is_never_zero():
    same = np.array([0.0, 1.0] * 50)
    assert paired_detectable_difference(same, same) == pytest.approx(1 / 100)
    assert paired_detectable_difference(np.zeros(1), np.zeros(1)) == 1.0


def test_eval_results_carry_a_paired_detectable_difference_and_flag_few_clusters(tmp_path):
    from tests.eval.recipes import generation_suite
    from toolkit.eval.results import detectable_difference_entry
    from toolkit.eval.suite import load_suite

    suite = load_suite(generation_suite(tmp_path / "gen", n=20))
    rows = {name: [{"id": i["id"], "scores": {"chrf": float((k + shift) % 3 == 0)}}
                   for k, i in enumerate(suite.items)] for name, shift in (("base", 0), ("tuned", 1))}
    rows["tuned"][0] = {"id": rows["tuned"][0]["id"], "failed": "timeout: no answer", "scores": {}}
    entry = detectable_difference_entry(suite, rows, "base")
    assert entry["min_detectable_diff_basis"] == "paired" and entry["min_detectable_diff"] > 0.05
    assert entry["few_clusters"] and entry["n_clusters"] == 20
    alone = detectable_difference_entry(suite, {"base": rows["base"]}, "base")
    assert alone["min_detectable_diff_basis"] == "one candidate" and alone["min_detectable_diff"] > 0


def test_the_cluster_bootstrap_interval_covers_a_known_difference_about_95_percent():
    """Suites with a known effect (0.1, items correlated within clusters): the paired
    cluster-bootstrap 95% interval the gate reads holds the true difference in about 95
    of 100 suites; the item bootstrap, blind to the clusters, holds it less often."""
    rng = np.random.default_rng(11)
    delta, hits, item_hits, runs = 0.1, 0, 0, 200
    for r in range(runs):
        a, b, clusters = _suite(rng, delta)
        true = delta  # p + delta stays under 1 for every cluster: no clipping
        with_clusters = paired_bootstrap(a, b, n_resamples=400, seed=r, clusters=clusters)
        items_alone = paired_bootstrap(a, b, n_resamples=400, seed=r)
        hits += with_clusters["ci_low"] <= true <= with_clusters["ci_high"]
        item_hits += items_alone["ci_low"] <= true <= items_alone["ci_high"]
    assert 0.90 <= hits / runs <= 0.99, hits / runs
    assert item_hits <= hits
