"""A suite's gated metrics (issue 20 §4): the gate judges the primary metric and the
suite's meaning metric, so a candidate that cites the right article while reversing what
it says (citation unchanged, key_facts down) fails the gate."""

from __future__ import annotations

import numpy as np

from toolkit.eval.gate import gate
from toolkit.eval.statistics import compare

N = 60


def _scores(citation: list[float], facts: list[float]) -> dict:
    ids = [f"i{k}" for k in range(N)]
    return {"lookup": {"citation_accuracy": dict(zip(ids, citation)), "key_facts": dict(zip(ids, facts))}}


def test_a_candidate_that_reverses_the_obligations_fails_on_the_gated_meaning_metric():
    rng = np.random.default_rng(0)
    citation = list(rng.uniform(0.8, 1.0, N))
    faithful, reversed_ = list(rng.uniform(0.7, 1.0, N)), list(rng.uniform(0.3, 0.6, N))
    rows = compare(_scores(citation, faithful), _scores(citation, reversed_),
                   primary={"lookup": "citation_accuracy"})
    primary_only = gate(rows, max_drop=0.05)
    assert primary_only.passed  # the citation alone cannot see the reversal
    judged = gate(rows, max_drop=0.05, gated={"lookup": ["citation_accuracy", "key_facts"]})
    assert not judged.passed
    assert [r.metric for r in judged.failures] == ["key_facts"]


def test_builder_suites_gate_a_meaning_metric_beside_the_primary():
    from tests.helpers import REPO
    from toolkit.eval.suite import SuiteSpec
    from toolkit.safe_yaml import load_yaml

    for name in ("regulation-lookup", "grounded-citation", "ruling-summary"):
        path = REPO / "evals" / name / "suite.yaml"
        spec = SuiteSpec.model_validate(load_yaml(path.read_text(encoding="utf-8"), str(path)))
        assert "key_facts" in (spec.gated_metrics or []) and spec.primary_metric in spec.gated_metrics
