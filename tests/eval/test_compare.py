"""Paired comparison and the regression gate: the statistics are right, and the gate
catches a planted regression but lets noise through. Eval folders are written in the
runner's layout (results.json, outputs/<suite>.<base|tuned>.jsonl) with synthetic scores."""

from __future__ import annotations

import hashlib
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from toolkit.errors import GongmuError
from toolkit.eval.gate import compare_command, gate, gate_command
from toolkit.eval.statistics import (
    ComparisonError,
    compare,
    load_scores,
    mcnemar,
    paired_bootstrap,
    primary_metrics,
)


def write_eval(folder: Path, suites: dict[str, dict[str, dict[str, list[float]]]],
               primary: dict[str, str] | None = None) -> Path:
    """An eval stage folder as the runner writes it: suites[suite][side][metric] = scores."""
    results: dict = {"suites": {}}
    for suite, sides in suites.items():
        metrics = list(next(iter(sides.values())))
        entry = {"path": f"evals/{suite}", "suite_hash": "h-" + suite, "items": 0,
                 "metrics": metrics, "primary_metric": (primary or {}).get(suite, metrics[0]),
                 "models": {}}
        for side, by_metric in sides.items():
            n = len(by_metric[metrics[0]])
            rows = [{"id": f"{suite}-{i:04d}", "task": "qa", "output": "답변", "reference": "정답",
                     "scores": {m: by_metric[m][i] for m in metrics},
                     "prompt_sha256": hashlib.sha256(str(i).encode()).hexdigest()}
                    for i in range(n)]
            out = folder / "outputs" / f"{suite}.{side}.jsonl"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                           encoding="utf-8")
            entry["items"] = n
            entry["models"][side] = {"scores": {m: float(np.mean(v)) for m, v in by_metric.items()},
                                     "by_task": {}}
        results["suites"][suite] = entry
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results), encoding="utf-8")
    return folder


def right_wrong(n: int, correct: int, seed: int) -> np.ndarray:
    scores = np.zeros(n)
    scores[np.random.default_rng(seed).choice(n, correct, replace=False)] = 1.0
    return scores


def flip(scores: np.ndarray, to_wrong: int, to_right: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = scores.copy()
    out[rng.choice(np.flatnonzero(scores == 1), to_wrong, replace=False)] = 0.0
    out[rng.choice(np.flatnonzero(scores == 0), to_right, replace=False)] = 1.0
    return out


def chrf_like(n: int, seed: int) -> np.ndarray:
    return np.clip(np.random.default_rng(seed).normal(0.55, 0.15, n), 0, 1).round(4)


def test_gate_exits_1_on_a_planted_regression_and_the_junit_names_it(tmp_path):
    base = right_wrong(200, 150, seed=1)
    tuned = flip(base, to_wrong=20, to_right=0, seed=2)  # loses 10% of the items
    chrf = chrf_like(120, seed=3)
    folder = write_eval(tmp_path / "eval", {
        "statute_qa": {"base": {"exact_match": base, "chrf": base * 0.9},
                       "tuned": {"exact_match": tuned, "chrf": tuned * 0.9}},
        "press_release": {"base": {"chrf": chrf}, "tuned": {"chrf": chrf}},
    })
    junit = tmp_path / "gate.xml"

    code = gate_command(f"{folder}:base", f"{folder}:tuned", max_drop=0.02, junit=junit,
                        confidence=0.95)

    assert code == 1
    root = ET.parse(junit).getroot()
    suite = root.find("testsuite")
    assert suite.get("name") == "gongmu-eval-gate"
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    assert {p.get("name"): p.get("value") for p in suite.find("properties")}["max_drop"] == "0.02"
    failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["statute_qa/exact_match"]  # primary metric only
    message = failed[0].find("failure").get("message")
    assert "-0.1000" in message and "0.6500" in message and "beyond -0.02" in message
    props = {p.get("name"): float(p.get("value")) for p in failed[0].find("properties")}
    assert props["diff"] == pytest.approx(-0.10) and props["margin"] == -0.02
    assert props["ci_high"] < -0.02


def test_gate_exits_0_on_noise_only_flips_in_both_directions(tmp_path):
    # Same mean, a few items flipped each way. The suite must be large enough for the
    # CI to fit inside the margin: 1000 items, 8 discordant pairs -> CI about +/-0.006.
    base = right_wrong(1000, 700, seed=4)
    tuned = flip(base, to_wrong=4, to_right=4, seed=5)
    folder = write_eval(tmp_path / "eval", {
        "statute_qa": {"base": {"exact_match": base}, "tuned": {"exact_match": tuned}}})
    junit = tmp_path / "gate.xml"

    assert gate_command(f"{folder}:base", f"{folder}:tuned", max_drop=0.02, junit=junit,
                        confidence=0.95) == 0
    case = ET.parse(junit).getroot().find("testsuite/testcase")
    assert case.find("failure") is None


def test_noise_on_a_200_item_suite_needs_a_wider_margin_than_two_points():
    base = right_wrong(200, 150, seed=6)
    tuned = flip(base, to_wrong=3, to_right=3, seed=7)
    rows = compare({"s": {"exact_match": dict(enumerate(base))}},
                   {"s": {"exact_match": dict(enumerate(tuned))}})
    assert rows[0].diff == 0
    assert not gate(rows, max_drop=0.02).passed
    assert gate(rows, max_drop=0.05).passed


def test_bootstrap_ci_covers_the_true_difference_about_95_percent_of_the_time():
    rng = np.random.default_rng(8)
    true_diff, covered = 0.03, 0
    for trial in range(100):
        a = rng.normal(0.5, 0.1, 200)
        b = a + true_diff + rng.normal(0, 0.05, 200)
        ci = paired_bootstrap(a, b, n_resamples=2000, seed=trial)
        covered += ci["ci_low"] <= true_diff <= ci["ci_high"]
    assert 88 <= covered <= 100


def test_bootstrap_reports_means_difference_and_a_small_p_for_a_real_shift():
    a = np.linspace(0, 1, 300)
    result = paired_bootstrap(a, a + 0.1 + 0.01 * np.sin(np.arange(300)), seed=0)
    assert result["mean_a"] == pytest.approx(0.5)
    assert result["diff"] == pytest.approx(result["mean_b"] - result["mean_a"])
    assert result["ci_low"] < result["diff"] < result["ci_high"]
    assert result["p_value_two_sided"] < 0.001


def test_identical_inputs_give_zero_difference_a_zero_width_ci_and_p_one():
    a = chrf_like(150, seed=9)
    result = paired_bootstrap(a, a.copy())
    assert (result["diff"], result["ci_low"], result["ci_high"]) == (0.0, 0.0, 0.0)
    assert result["p_value_two_sided"] == 1.0


def test_bootstrap_is_deterministic_given_the_seed():
    a, b = chrf_like(300, seed=10), chrf_like(300, seed=11)
    assert paired_bootstrap(a, b, seed=3) == paired_bootstrap(a, b, seed=3)
    assert paired_bootstrap(a, b, seed=3)["ci_low"] != paired_bootstrap(a, b, seed=4)["ci_low"]


def test_bootstrap_in_chunks_matches_the_same_seed_across_sizes():
    # 5000 items x 10000 resamples would be 400 MB at once; chunked it is not.
    a, b = chrf_like(5000, seed=12), chrf_like(5000, seed=13)
    result = paired_bootstrap(a, b, n_resamples=10000, seed=0)
    assert result["ci_low"] < result["diff"] < result["ci_high"]


def test_mcnemar_matches_a_hand_computed_exact_binomial():
    # 8 discordant pairs: 1 only the candidate gets right, 7 only the baseline.
    # Two-sided exact p = 2 * (C(8,0) + C(8,1)) / 2^8 = 18/256.
    a = np.array([1] * 7 + [0] * 1 + [1] * 10 + [0] * 5)
    b = np.array([0] * 7 + [1] * 1 + [1] * 10 + [0] * 5)
    result = mcnemar(a, b)
    assert (result["b_only"], result["a_only"], result["method"]) == (1, 7, "exact")
    assert result["p_value"] == pytest.approx(18 / 256, abs=1e-12)
    assert result["statistic"] == 1


def test_mcnemar_uses_the_continuity_corrected_chi_square_from_25_discordant_pairs():
    a = np.array([0] * 10 + [1] * 30 + [1] * 50)
    b = np.array([1] * 10 + [0] * 30 + [1] * 50)
    result = mcnemar(a, b)
    assert result["method"] == "chi2"
    assert result["statistic"] == pytest.approx((30 - 10 - 1) ** 2 / 40)
    assert result["p_value"] == pytest.approx(math.erfc(math.sqrt(9.025 / 2)))
    assert result["p_value"] == pytest.approx(0.0026631, rel=1e-4)  # scipy chi2(1).sf(9.025)
    assert mcnemar(a, a)["p_value"] == 1.0


def test_mcnemar_refuses_graded_scores():
    with pytest.raises(ComparisonError, match="0/1"):
        mcnemar([0.0, 0.5, 1.0], [1.0, 1.0, 0.0])


def test_compare_uses_mcnemar_for_right_wrong_metrics_and_bootstrap_for_graded(tmp_path):
    base = right_wrong(100, 60, seed=14)
    folder = write_eval(tmp_path / "eval", {"s": {
        "base": {"exact_match": base, "chrf": chrf_like(100, 15)},
        "tuned": {"exact_match": flip(base, 2, 5, seed=16), "chrf": chrf_like(100, 17)}}},
        primary={"s": "chrf"})
    rows = compare(load_scores(folder, "base"), load_scores(folder, "tuned"),
                   primary=primary_metrics(folder))
    by_metric = {r.metric: r for r in rows}
    assert by_metric["exact_match"].test == "mcnemar-exact"
    assert by_metric["exact_match"].mcnemar["b_only"] == 5
    assert by_metric["chrf"].test == "bootstrap" and by_metric["chrf"].primary
    assert [r.metric for r in gate(rows, max_drop=1).rows] == ["chrf"]
    assert len(gate(rows, max_drop=1, all_metrics=True).rows) == 2


def test_mismatched_item_sets_raise_naming_the_suite_and_the_missing_count(tmp_path):
    base = write_eval(tmp_path / "a", {"statute_qa": {"tuned": {"exact_match": right_wrong(50, 25, 18)}}})
    cand = write_eval(tmp_path / "b", {"statute_qa": {"tuned": {"exact_match": right_wrong(47, 25, 19)}}})
    with pytest.raises(ComparisonError, match=r"Suite 'statute_qa'.*3 item id\(s\) of the baseline") as exc:
        compare(load_scores(base), load_scores(cand))
    assert isinstance(exc.value, GongmuError)
    assert gate_command(str(base), str(base), 0.02, None, 0.95) == 0  # same folder: fine


def test_no_suite_in_common_is_an_error_and_one_sided_suites_are_reported(tmp_path):
    qa = {"exact_match": dict(enumerate(right_wrong(40, 20, 20)))}
    with pytest.raises(ComparisonError, match="No suite is on both sides"):
        compare({"a": qa}, {"b": qa})
    rows = compare({"common": qa, "old": qa}, {"common": qa, "new": qa})
    assert {(r.suite, r.present_in) for r in rows} == {
        ("common", "both"), ("old", "baseline"), ("new", "candidate")}
    result = gate(rows)
    assert {r.suite: r.verdict for r in result.rows} == {"common": "pass", "old": "missing",
                                                         "new": "new"}
    assert not result.passed  # a suite the candidate dropped fails the gate


def test_load_scores_reads_one_jsonl_file_and_tolerates_extra_fields(tmp_path):
    file = tmp_path / "civil_petition.tuned.jsonl"
    file.write_text(
        '{"id": "p1", "scores": {"exact_match": 1.0, "chrf": 0.9}, "prompt_hash": "x", "extra": [1]}\n'
        '\n'
        '{"id": "p2", "scores": {"exact_match": 0, "chrf": 0.25}}\n', encoding="utf-8")
    assert load_scores(file) == {"civil_petition": {"exact_match": {"p1": 1.0, "p2": 0.0},
                                                    "chrf": {"p1": 0.9, "p2": 0.25}}}


@pytest.mark.parametrize("line, problem", [
    ('{"id": "p1", "scores": {"chrf": 0.5}}', "already appears on line 1"),
    ('{"id": "p2", "scores": {"rouge": 0.5}}', "earlier rows"),
    ('{"id": "p2", "scores": {"chrf": "high"}}', "not a finite number"),
    ('{"scores": {"chrf": 0.5}}', "needs an 'id'"),
])
def test_load_scores_names_the_file_and_line_of_a_bad_row(tmp_path, line, problem):
    file = tmp_path / "s.jsonl"
    file.write_text('{"id": "p1", "scores": {"chrf": 0.4}}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(GongmuError, match=problem) as exc:
        load_scores(file)
    assert f"{file}:2" in str(exc.value)


def test_compare_command_prints_json_on_stdout(tmp_path, capsys):
    qa = right_wrong(60, 30, seed=21)
    folder = write_eval(tmp_path / "eval", {"s": {"base": {"exact_match": qa},
                                                  "tuned": {"exact_match": flip(qa, 0, 6, 22)}}})
    assert compare_command(f"{folder}:base", f"{folder}:tuned", None, json_out=True) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["suite"] == "s" and row["diff"] == pytest.approx(0.1) and row["primary"]


def test_a_rise_in_pii_leaks_is_the_regression_for_a_lower_is_better_metric():
    clean = right_wrong(200, 10, seed=23)  # 1 = the answer leaked personal data
    leakier, cleaner = flip(clean, 0, 20, seed=24), flip(clean, 8, 0, seed=25)

    def verdict(candidate):
        rows = compare({"privacy": {"pii_leak": dict(enumerate(clean))}},
                       {"privacy": {"pii_leak": dict(enumerate(candidate))}})
        return gate(rows).rows[0]

    assert verdict(leakier).verdict == "fail" and "max rise" in verdict(leakier).message
    assert verdict(cleaner).verdict == "pass"


def test_the_direction_results_json_records_decides_even_for_a_metric_not_installed(tmp_path):
    clean = right_wrong(200, 10, seed=26)  # 1 = a complaint escalated: lower is better
    worse = flip(clean, 0, 20, seed=27)
    folder = write_eval(tmp_path / "e", {"s": {"base": {"escalations": clean},
                                               "tuned": {"escalations": worse}}})
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    results["suites"]["s"]["higher_is_better"] = {"escalations": False}
    (folder / "results.json").write_text(json.dumps(results), encoding="utf-8")
    assert gate_command(f"{folder}:base", f"{folder}:tuned") == 1  # a rise is the regression
    results["suites"]["s"]["higher_is_better"] = {"escalations": True}
    (folder / "results.json").write_text(json.dumps(results), encoding="utf-8")
    assert gate_command(f"{folder}:base", f"{folder}:tuned") == 0


def test_gating_a_metric_of_unknown_direction_says_what_to_install():
    qa = {"escalations": dict(enumerate(right_wrong(40, 20, 28)))}
    rows = compare({"s": qa}, {"s": qa})
    assert rows[0].higher_is_better is None
    with pytest.raises(ComparisonError, match="cannot tell whether higher is better.*gongmu plugins"):
        gate(rows)
