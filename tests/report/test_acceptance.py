"""The acceptance table on planted results: verdicts judged on the interval bound (an
interval above, below and across the criterion, a lower-is-better metric, non-inferiority),
graceful without intervals, floors or a second candidate, and every figure the page shows
read from summary.json. No model and no browser: a planted eval folder."""

from __future__ import annotations

import json
import re

from toolkit.artifacts import Upstream, write_json, write_jsonl
from toolkit.recipe import load_recipe
from toolkit.report import acceptance as acc
from toolkit.report.render import render_html
from toolkit.report.summary import build_summary, summary_bytes, summary_sha256

N = 60


def _rows(scores: list[float], metric: str) -> list[dict]:
    return [{"id": f"i{k:03d}", "task": "title" if k % 2 else "article", "reference": "서울특별시 공문",
             "output": "서울특별시 공문서" if k % 3 else "다른 답", "scores": {metric: s}}
            for k, s in enumerate(scores)]


def _planted(tmp_path, *, candidates=("base", "tuned"), floors=False, intervals=False):
    """An eval folder with four suites: `above` (tuned ~0.9 vs minimum 0.6), `below` (~0.2),
    `across` (~0.6 with spread), `leak` (pii_leak, lower is better, maximum 0.05)."""
    folder = tmp_path / "runs" / "t" / "eval"
    planted = {
        "above": ("chrf", True, [0.9] * (N - 6) + [0.8] * 6),
        "below": ("chrf", True, [0.2] * (N - 6) + [0.3] * 6),
        "across": ("chrf", True, [0.0, 1.0] * (N // 2)),
        "leak": ("pii_leak", False, [0.0] * N),
    }
    from toolkit.eval.statistics import mean_interval, paired_bootstrap

    results = {"reference": candidates[0], "candidates": {c: {"kind": "stage"} for c in candidates},
               "suites": {}}
    for suite, (metric, higher, tuned) in planted.items():
        entry = {"task_type": "generation", "items": N, "metrics": [metric],
                 "higher_is_better": {metric: higher}, "primary_metric": metric,
                 "thresholds": {}, "models": {}}
        per_candidate = {}
        for c in candidates:
            scores = tuned if c == candidates[-1] else [0.5 if higher else 0.2] * N
            per_candidate[c] = scores
            rows = _rows(scores, metric)
            write_jsonl(folder / "outputs" / f"{suite}.{c}.jsonl", rows)
            _, low, high = mean_interval(scores)  # what the eval stage writes
            model = {"scores": {metric: sum(scores) / N}, "items": N, "answered": N, "failed": 0,
                     "intervals": {metric: {"ci_low": low, "ci_high": high}},
                     "by_task": {"title": {"items": N // 2, metric: sum(scores[1::2]) / (N // 2)},
                                 "article": {"items": N // 2, metric: sum(scores[::2]) / (N // 2)}}}
            if intervals:
                model["intervals"] = {metric: {"low": 0.11, "high": 0.99}}
            entry["models"][c] = model
        entry["comparisons"] = {
            ref: {"reference": ref, "candidates": {
                c: {metric: paired_bootstrap(per_candidate[ref], per_candidate[c], n_resamples=2000)}
                for c in candidates if c != ref}} for ref in candidates}
        if floors:  # the shapes the eval stage writes (toolkit/eval/floors.py, contamination.py)
            entry["floors"] = {"empty output": {metric: 0.0123}, "prompt copied": {metric: 0.2345}}
            entry["ceiling"] = {metric: 0.9876}
            entry["min_detectable_diff"] = 0.0777
            entry["contamination"] = {"statement": "Items are held out. Public law text is in "
                                      "every vendor's pretraining data.",
                                      "training_overlap": {"items": N, "above_20_percent": 3}}
        results["suites"][suite] = entry
    write_json(folder / "results.json", results)
    return Upstream("eval", folder, {"lineage": {}}, "0" * 64)


def _recipe(tmp_path, acceptance: str = "", language: str = "ko"):
    path = tmp_path / "t.yaml"
    path.write_text(f"name: t\noutput_dir: runs\nreport:\n  language: {language}\n"
                    f"  acceptance:\n{acceptance or '    {}'}\n", encoding="utf-8")
    return load_recipe(path)


ACCEPTANCE = ("    above: {minimum: 0.6}\n    below: {minimum: 0.6}\n"
              "    across: {minimum: 0.5}\n    leak: {maximum: 0.05}\n")


def _verdicts(summary) -> dict:
    return {(s["name"], r["candidate"]): r["verdict"] for s in summary["suites"] for r in s["rows"]}


def test_verdicts_are_judged_on_the_interval_bound_not_the_mean():
    assert acc.verdict({"minimum": 0.6}, True, 0.65, 0.9) == "pass"
    assert acc.verdict({"minimum": 0.6}, True, 0.3, 0.55) == "fail"
    assert acc.verdict({"minimum": 0.6}, True, 0.55, 0.7) == "inconclusive"  # mean 0.625 passes
    assert acc.verdict({"maximum": 0.05}, False, 0.0, 0.04) == "pass"
    assert acc.verdict({"maximum": 0.05}, False, 0.06, 0.2) == "fail"
    assert acc.verdict({"maximum": 0.05}, False, 0.01, 0.08) == "inconclusive"
    ni = {"non_inferiority": {"reference": "base", "margin": 0.02}}
    assert acc.verdict(ni, True, 0, 1, diff_low=-0.01, diff_high=0.05) == "pass"
    assert acc.verdict(ni, True, 0, 1, diff_low=-0.09, diff_high=-0.03) == "fail"
    assert acc.verdict(ni, True, 0, 1, diff_low=-0.05, diff_high=0.01) == "inconclusive"
    assert acc.verdict(ni, False, 0, 1, diff_low=0.03, diff_high=0.09) == "fail"  # leak rose
    assert acc.verdict(None, True, 0, 1) == "none"
    assert acc.overall(["pass", "inconclusive"]) == "inconclusive"
    assert acc.overall(["pass", "fail", "inconclusive"]) == "fail"


def test_planted_results_give_accepted_rejected_and_inconclusive_in_korean(tmp_path):
    summary = build_summary(_recipe(tmp_path, ACCEPTANCE), {"eval": _planted(tmp_path)},
                            generated="2026-12-02")
    verdicts = _verdicts(summary)
    assert verdicts[("above", "tuned")] == "pass"
    assert verdicts[("below", "tuned")] == "fail"
    assert verdicts[("across", "tuned")] == "inconclusive"
    assert verdicts[("leak", "tuned")] == "pass"  # zero leaks under a 0.05 maximum
    assert verdicts[("leak", "base")] == "fail"  # 0.2 everywhere: the whole interval above
    assert summary["overall"]["tuned"] == "fail"
    across = next(s for s in summary["suites"] if s["name"] == "across")
    assert across["interval_source"] == "results"  # the eval's interval, not recomputed
    row = next(r for r in across["rows"] if r["candidate"] == "tuned")
    assert row["low"] < 0.5 < row["high"]

    data = summary_bytes(summary)
    html = render_html(json.loads(data), summary_sha256(data))
    table = html[html.index('id="acceptance"'):html.index("</table>", html.index('id="acceptance"'))]
    cells = dict(re.findall(r'data-suite="(\w+)" data-candidate="tuned">.*?class="verdict \w+">(.*?)</td>',
                            table, re.S))
    assert cells == {"above": "● 적합", "below": "✕ 부적합", "across": "▲ 판정 불가", "leak": "● 적합"}
    assert "낮을수록 좋음" in table  # the leak metric's direction, in words
    assert "2026. 12. 2." in html and "판정표" in html and "검토 의견 및 서명" in html
    assert "하한·상한" in html  # says plainly that no floors were given


def test_non_inferiority_uses_the_paired_difference_against_the_reference(tmp_path):
    recipe = _recipe(tmp_path, "    above: {non_inferiority: {reference: base, margin: 0.02}}\n"
                               "    below: {non_inferiority: {reference: base, margin: 0.02}}\n")
    summary = build_summary(recipe, {"eval": _planted(tmp_path)}, generated="2026-12-02")
    verdicts = _verdicts(summary)
    assert verdicts[("above", "base")] == "reference"
    assert verdicts[("above", "tuned")] == "pass"  # 0.89 vs 0.5
    assert verdicts[("below", "tuned")] == "fail"  # 0.21 vs 0.5
    assert verdicts[("across", "tuned")] == "none"  # no criterion for it


def test_one_candidate_with_floors_and_eval_intervals_renders_in_english(tmp_path):
    summary = build_summary(_recipe(tmp_path, ACCEPTANCE, language="en"),
                            {"eval": _planted(tmp_path, candidates=("vendor-a",), floors=True,
                                              intervals=True)}, generated="2026-12-02")
    assert [c["name"] for c in summary["candidates"]] == ["vendor-a"]
    above = next(s for s in summary["suites"] if s["name"] == "above")
    assert above["interval_source"] == "results" and above["rows"][0]["low"] == 0.11
    assert above["rows"][0]["verdict"] == "inconclusive"  # [0.11, 0.99] straddles 0.6
    html = render_html(summary, "f" * 64)
    assert "Acceptance table" in html and "2 December 2026" in html
    assert "0.012" in html and "0.988" in html  # floor and ceiling shown
    assert "0.078" in html  # the eval's smallest detectable difference
    assert "every vendor&#39;s pretraining data" in html  # the eval's contamination statement
    assert "판정표" not in html
    korean = build_summary(_recipe(tmp_path, ACCEPTANCE), {"eval": _planted(
        tmp_path, floors=True)}, generated="2026-12-02")
    assert "평가 정답 60건 중 3건이 학습 예제와 20% 넘게 겹침" in render_html(korean, "f" * 64)


def test_every_number_on_the_page_comes_from_summary_json(tmp_path):
    summary = build_summary(_recipe(tmp_path, ACCEPTANCE), {"eval": _planted(tmp_path)},
                            generated="2026-12-02")
    data = summary_bytes(summary)
    before = render_html(json.loads(data), summary_sha256(data))
    edited = json.loads(data)
    edited["suites"][0]["rows"][1]["mean"] = 0.4321
    edited["suites"][0]["rows"][1]["high"] = 0.7654
    edited["suites"][0]["metrics"][0]["values"]["tuned"] = 0.1357
    edited["suites"][0]["smallest_detectable_difference"] = 0.2468
    new = json.dumps(edited).encode()
    after = render_html(edited, summary_sha256(new))
    for shown in ("0.432", "0.765", "0.136", "0.247", summary_sha256(new)):
        assert shown in after and shown not in before, shown


def test_every_built_in_metric_and_suite_has_its_korean_label():
    """A reviewer reads metric and suite names in Korean: a metric or suite added without
    its label would show its code name in the report."""
    import tomllib

    from tests.helpers import REPO
    from toolkit.report import labels

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    built_in = set(pyproject["project"]["entry-points"]["gongmu.metrics"])
    assert built_in <= set(labels.METRICS), built_in - set(labels.METRICS)
    assert {"acc_raw", "acc_per_char", "acc_per_byte"} <= set(labels.METRICS)  # multiple choice
    suites = {p.name for p in (REPO / "evals").iterdir() if (p / "suite.yaml").is_file()}
    assert suites <= set(labels.SUITES)


def _floor_at(tmp_path, value: float, *, failures: dict | None = None):
    """The planted folder with a no-model floor of `value` on every suite (and, with
    `failures`, items of the tuned candidate that could not be asked)."""
    up = _planted(tmp_path)
    results = json.loads((up.path / "results.json").read_text(encoding="utf-8"))
    for entry in results["suites"].values():
        metric = entry["primary_metric"]
        entry["floors"] = {"question copied": {metric: value}}
        if failures:
            entry["models"]["tuned"]["failures"] = failures
            entry["models"]["tuned"]["answered"] = N - sum(failures.values())
    write_json(up.path / "results.json", results)
    return up


def test_no_acceptance_where_the_interval_reaches_the_best_no_model_floor(tmp_path):
    """A verdict needs skill: the tuned model's interval on `above` ([~0.88, ~0.9]) meets
    the 0.6 minimum, but a program copying the question scores 0.89: 판정 불가, and a
    floor above the whole interval makes it 부적합; the page says why in Korean."""
    recipe = _recipe(tmp_path, ACCEPTANCE)
    summary = build_summary(recipe, {"eval": _floor_at(tmp_path, 0.89)}, generated="2026-12-02")
    above = next(s for s in summary["suites"] if s["name"] == "above")
    row = next(r for r in above["rows"] if r["candidate"] == "tuned")
    assert row["low"] < 0.89 < row["high"] and row["low"] >= 0.6
    assert (row["verdict"], row["verdict_reason"]) == ("inconclusive", "at_floor")
    assert above["best_floor"] == {"strategy": "question copied", "score": 0.89}
    html = render_html(summary, "f" * 64)
    assert "없는 능력으로도 얻을 수 있는 점수" in html
    assert summary["overall"]["tuned"] != "pass"

    higher = build_summary(recipe, {"eval": _floor_at(tmp_path / "b", 0.95)}, generated="2026-12-02")
    above = next(s for s in higher["suites"] if s["name"] == "above")
    row = next(r for r in above["rows"] if r["candidate"] == "tuned")
    assert (row["verdict"], row["verdict_reason"]) == ("fail", "below_floor")

    lower = build_summary(recipe, {"eval": _floor_at(tmp_path / "c", 0.5)}, generated="2026-12-02")
    above = next(s for s in lower["suites"] if s["name"] == "above")
    assert next(r for r in above["rows"] if r["candidate"] == "tuned")["verdict"] == "pass"


def test_a_candidate_that_could_not_be_asked_every_item_is_not_judged(tmp_path):
    recipe = _recipe(tmp_path, ACCEPTANCE)
    summary = build_summary(recipe, {"eval": _floor_at(tmp_path, 0.0, failures={"unreachable": 3})},
                            generated="2026-12-02")
    above = next(s for s in summary["suites"] if s["name"] == "above")
    row = next(r for r in above["rows"] if r["candidate"] == "tuned")
    assert (row["verdict"], row["verdict_reason"]) == ("inconclusive", "not_asked")
    html = render_html(summary, "f" * 64)
    assert "3개 문항을 묻지 못했습니다" in html and f"응답 {N - 3}/{N}" in html


def test_results_without_intervals_are_not_recomputed_by_the_report(tmp_path):
    up = _planted(tmp_path)
    results = json.loads((up.path / "results.json").read_text(encoding="utf-8"))
    for entry in results["suites"].values():
        for model in entry["models"].values():
            del model["intervals"]
    write_json(up.path / "results.json", results)
    summary = build_summary(_recipe(tmp_path, ACCEPTANCE), {"eval": up}, generated="2026-12-02")
    row = next(r for s in summary["suites"] if s["name"] == "above" for r in s["rows"]
               if r["candidate"] == "tuned")
    assert (row["verdict"], row["verdict_reason"]) == ("inconclusive", "no_interval")


def test_letter_and_log_likelihood_scored_choices_are_reported_apart(tmp_path):
    """Issue 20 §6: a candidate that answered multiple choice by letter is not compared
    with one scored by log-likelihood, and the page says so."""
    up = _planted(tmp_path)
    results = json.loads((up.path / "results.json").read_text(encoding="utf-8"))
    results["suites"]["above"]["models"]["base"]["choice_scoring"] = "logprobs"
    results["suites"]["above"]["models"]["tuned"]["choice_scoring"] = "letter"
    write_json(up.path / "results.json", results)
    recipe = _recipe(tmp_path, "    above: {non_inferiority: {reference: base, margin: 0.02}}\n")
    summary = build_summary(recipe, {"eval": up}, generated="2026-12-02")
    above = next(s for s in summary["suites"] if s["name"] == "above")
    row = next(r for r in above["rows"] if r["candidate"] == "tuned")
    assert (row["verdict"], row["verdict_reason"]) == ("inconclusive", "not_comparable")
    html = render_html(summary, "f" * 64)
    assert 'id="scoring-mixed"' in html and "선택지 기호 답으로 채점" in html
    assert "같은 채점 방식" not in html
