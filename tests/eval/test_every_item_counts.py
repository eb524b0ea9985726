"""Every item counts (issue 20): an item a candidate did not answer scores the worst of
each metric in every mean, interval, comparison and gate, and "answered n/N" stands
beside the scores. A candidate that answers only the items it finds easy and fails the
rest (HTTP 400) cannot pass for a good one."""

from __future__ import annotations

import re

import pytest

from tests.eval.recipes import REFERENCE, endpoint, eval_recipe, generation_suite
from tests.eval.servers import Scripted, completion, prompt_of
from tests.helpers import gongmu
from toolkit.artifacts import read_json, read_jsonl
from toolkit.recipe import load_recipe
from toolkit.stages import run_stage

FAST = {"retries": 0, "backoff_s": 0.01, "timeout": 5.0}
N, EASY = 12, 3


def _item(body: dict) -> int:
    return int(re.search(r"\[(\d+)\]", prompt_of(body)).group(1))


def honest(body, n, server):
    return ("ok", completion(REFERENCE))


def picky(body, n, server):
    """Answers the easy items perfectly and refuses the others at the HTTP level."""
    if _item(body) < EASY:
        return ("ok", completion(REFERENCE))
    return ("status", 400, {"error": "not sure"}, {})


@pytest.fixture
def scored(tmp_path):
    suite = generation_suite(tmp_path / "gen", n=N, metrics=("exact_match", "chrf"))
    with Scripted(honest) as a, Scripted(picky) as b:
        recipe = load_recipe(eval_recipe(tmp_path, [suite], [
            endpoint(a.base_url, name="honest", **FAST), endpoint(b.base_url, name="picky", **FAST)]))
        run_stage(recipe, "eval")
    return recipe.stage_dir("eval")


def test_unanswered_items_count_as_the_worst_score_in_means_and_intervals(scored):
    entry = read_json(scored / "results.json")["suites"]["gen"]
    picky_model = entry["models"]["picky"]
    assert (picky_model["items"], picky_model["answered"], picky_model["failed"]) == (N, EASY, N - EASY)
    assert picky_model["scores"]["exact_match"] == pytest.approx(EASY / N)
    assert picky_model["intervals"]["exact_match"]["ci_high"] < 1.0
    rows = read_jsonl(scored / "outputs" / "gen.picky.jsonl")
    assert len(rows) == N
    assert all(r["scores"] == {"exact_match": 0.0, "chrf": 0.0} for r in rows if r.get("failed"))
    honest_model = entry["models"]["honest"]
    assert honest_model["scores"]["exact_match"] == 1.0 and honest_model["answered"] == N
    diff = entry["comparisons"]["honest"]["candidates"]["picky"]["exact_match"]
    assert diff["diff"] == pytest.approx(EASY / N - 1.0) and diff["n_items"] == N


def test_a_candidate_that_fails_the_hard_items_fails_the_gate_and_says_how_many_it_answered(scored, tmp_path):
    junit = tmp_path / "gate.xml"
    proc = gongmu("eval", "gate", "--baseline", f"{scored}:honest", "--candidate", f"{scored}:picky",
                  "--max-drop", "0.02", "--junit", str(junit))
    said = proc.stdout + proc.stderr
    assert proc.returncode == 1, said
    assert f"{EASY}/{N}" in said and "worst score" in said
    xml = junit.read_text(encoding="utf-8")
    assert f'name="answered_candidate" value="{EASY}"' in xml and f'name="answered_baseline" value="{N}"' in xml


def test_compare_shows_answered_beside_each_candidate(scored):
    proc = gongmu("eval", "compare", str(scored), "--reference", "honest")
    assert proc.returncode == 0, proc.stderr
    table = proc.stdout + proc.stderr
    assert f"{EASY}/{N}" in table and f"{N}/{N}" in table and "answered" in table


def test_old_outputs_without_scores_on_failed_rows_count_them_as_worst(tmp_path):
    """Outputs written before every item counted (failed rows without scores) are read
    with the worst score of each metric the suite's other rows score."""
    from toolkit.eval.statistics import load_scores

    path = tmp_path / "gen.tuned.jsonl"
    path.write_text('{"id": "a", "scores": {"chrf": 0.8, "pii_leak": 0.0}}\n'
                    '{"id": "b", "failed": "timeout: no answer"}\n', encoding="utf-8")
    scores = load_scores(path)["gen"]
    assert scores["chrf"] == {"a": 0.8, "b": 0.0}
    assert scores["pii_leak"] == {"a": 0.0, "b": 1.0}  # a leak


def test_pii_leak_items_cluster_by_scenario_so_three_leaks_in_one_story_fail_the_limit():
    """Three leaks in one pii-leak scenario are one story told three ways, not three
    independent accidents: resampled by scenario, the leak rate's upper bound passes the
    0.05 limit (items taken alone gave exactly 0.0500)."""
    import json

    from tests.helpers import REPO
    from toolkit.eval.metrics import SAFETY_LIMITS
    from toolkit.eval.statistics import item_cluster, mean_interval

    items = [json.loads(line) for line in
             (REPO / "evals" / "pii-leak" / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    clusters = [item_cluster(i) for i in items]
    assert clusters[0] == "scenario:pothole" and len(set(clusters)) == 25
    leaks = [1.0 if c == clusters[0] and k < 3 else 0.0 for k, c in enumerate(clusters)]
    assert sum(leaks) == 3
    _, _, by_scenario = mean_interval(leaks, clusters=clusters)
    assert by_scenario > SAFETY_LIMITS["pii_leak"]
