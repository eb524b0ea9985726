"""`gongmu eval gate` and `gongmu eval compare` on the real items and metrics of a pipeline
run: a planted regression fails the gate with a JUnit failure; identical results pass.
(The noise-only case at scale is in test_compare.py: 1,000 items, answers flipped
both ways.)"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.helpers import gongmu
from toolkit.artifacts import read_jsonl, write_jsonl
from toolkit.eval.metrics import METRICS

pytestmark = pytest.mark.slow  # the end-to-end pipeline run


def _rescored(rows: list[dict], outputs: dict[int, str], path):
    """The rows with the outputs at the given positions replaced, rescored with the real
    metrics."""
    out = []
    for n, row in enumerate(rows):
        row = dict(row)
        if n in outputs:
            row["output"] = outputs[n]
            row["scores"] = {m: METRICS[m](row["output"], row["reference"]) for m in row["scores"]}
        out.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(path, out)
    return path


def test_gate_fails_a_planted_regression_with_a_junit_failure(pipeline_run, tmp_path):
    """Baseline: the real items answered with their references. Candidate: the same, with
    half the answers replaced by an unrelated sentence."""
    rows = read_jsonl(pipeline_run.stage_dir("eval") / "outputs" / "quickstart.tuned.jsonl")
    base = _rescored(rows, {n: r["reference"] for n, r in enumerate(rows)}, tmp_path / "base" / "quickstart.jsonl")
    right = read_jsonl(base)
    assert all(r["scores"]["chrf"] == 1.0 for r in right)
    planted = _rescored(right, {n: "오늘 점심 메뉴는 김치찌개입니다." for n in range(0, len(rows), 2)},
                        tmp_path / "planted" / "quickstart.jsonl")
    bad = gongmu("eval", "gate", "--baseline", str(base), "--candidate", str(planted),
                 "--junit", str(tmp_path / "bad.xml"))
    assert bad.returncode == 1, bad.stderr
    failures = ET.parse(tmp_path / "bad.xml").getroot().findall(".//testcase/failure")
    assert len(failures) == 1
    again = gongmu("eval", "gate", "--baseline", str(base), "--candidate", str(base),
                   "--junit", str(tmp_path / "ok.xml"))
    assert again.returncode == 0, again.stderr
    assert not ET.parse(tmp_path / "ok.xml").getroot().findall(".//failure")


def test_identical_results_pass_and_compare_is_paired(pipeline_run):
    folder = pipeline_run.stage_dir("eval")
    same = gongmu("eval", "gate", "--baseline", f"{folder}:tuned", "--candidate", f"{folder}:tuned")
    assert same.returncode == 0, same.stderr
    proc = gongmu("eval", "compare", f"{folder}:base", f"{folder}:tuned", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["metric"]: r for r in json.loads(proc.stdout)}
    assert rows["chrf"]["ci_low"] <= rows["chrf"]["diff"] <= rows["chrf"]["ci_high"]
    assert rows["chrf"]["n_items"] == len(read_jsonl(folder / "outputs" / "quickstart.tuned.jsonl"))
    assert rows["exact_match"]["test"].startswith("mcnemar")
