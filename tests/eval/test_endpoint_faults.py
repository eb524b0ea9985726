"""An endpoint candidate against a local server that misbehaves on cue (429, 500,
timeouts, malformed JSON, cut replies, refused keys): every item ends scored or recorded
as failed with its reason, nothing is lost, a resumed run asks only for what is missing,
a SIGKILL mid-eval loses no answer, and the API key appears in no artifact."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.eval.recipes import endpoint, eval_recipe, generation_suite
from tests.eval.servers import Scripted, completion, prompt_of
from toolkit.artifacts import read_json, read_jsonl
from toolkit.errors import DataError
from toolkit.recipe import load_recipe
from toolkit.stages import run_stage

FAST = {"retries": 2, "backoff_s": 0.01, "timeout": 1.0}


def _item(body: dict) -> int:
    """The item number a request is about ("[3] ..." in its user turn)."""
    return int(re.search(r"\[(\d+)\]", prompt_of(body)).group(1))


def _answer(i: int) -> dict:
    return completion(f"답변 {i}입니다.")


def test_every_fault_ends_scored_or_failed_with_its_reason_and_a_rerun_asks_only_the_missing(tmp_path):
    suite = generation_suite(tmp_path / "gen", n=7)
    healthy = threading.Event()

    def script(body, n, server):
        i = _item(body)
        first = n == 0
        if i == 0 and first:
            return ("status", 429, {"error": "slow down"}, {"Retry-After": "0"})
        if i == 1 and n < 2:
            return ("status", 500, {"error": "boom"}, {})
        if i == 2 and first:
            return ("sleep", 1.6, ("ok", _answer(i)))  # past the 1 s timeout
        if i == 3 and first:
            return ("malformed",)
        if i == 4 and first:
            return ("truncated",)
        if i == 5 and first:
            return ("reset",)
        if i == 6 and not healthy.is_set():
            return ("status", 503, {"error": "down"}, {})
        return ("ok", _answer(i))

    with Scripted(script) as server:
        recipe = load_recipe(eval_recipe(tmp_path, [suite], [endpoint(server.base_url, **FAST)]))
        run_stage(recipe, "eval")
        folder = recipe.stage_dir("eval")
        rows = {r["id"]: r for r in read_jsonl(folder / "outputs" / "gen.api.jsonl")}
        assert len(rows) == 7
        for i in range(6):  # each recovered after its fault, scored on the real answer
            assert rows[f"g{i}"]["output"] == f"답변 {i}입니다." and "failed" not in rows[f"g{i}"]
            assert set(rows[f"g{i}"]["scores"]) == {"chrf", "exact_match"}
        # not answered: counted with the worst score of each metric, never dropped
        assert rows["g6"]["failed"].startswith("http_error: HTTP 503")
        assert rows["g6"]["scores"] == {"chrf": 0.0, "exact_match": 0.0}
        assert "output" not in rows["g6"]
        summary = read_json(folder / "results.json")["suites"]["gen"]["models"]["api"]
        assert (summary["items"], summary["answered"], summary["failed"]) == (7, 6, 1)
        assert summary["failures"] == {"http_error": 1}
        info = read_json(folder / "results.json")["candidates"]["api"]
        assert info["answered_this_run"] == 6 and info["cache_hits"] == 0
        assert info["requests_sent"] == 6 + 7 + 3  # 6 answers, 7 faults, g6 asked 1 + 2 retries
        assert server.asked[_key(server, 6)] == 3

        asked_before = dict(server.asked)
        healthy.set()
        run_stage(recipe, "eval")  # the resumed run asks only for g6
        new = {k: server.asked[k] - asked_before.get(k, 0) for k in server.asked}
        assert sorted(new.values()) == [0] * 6 + [1] and new[_key(server, 6)] == 1
        rows = {r["id"]: r for r in read_jsonl(folder / "outputs" / "gen.api.jsonl")}
        assert all("failed" not in r for r in rows.values()) and rows["g6"]["output"] == "답변 6입니다."
        info = read_json(folder / "results.json")["candidates"]["api"]
        assert (info["cache_hits"], info["answered_this_run"], info["requests_sent"]) == (6, 1, 1)


def _key(server: Scripted, i: int) -> str:
    import hashlib

    body = next(b for b in server.bodies if _item(b) == i)
    return hashlib.sha256(prompt_of(body).encode()).hexdigest()


def test_requests_stay_within_max_concurrency_and_the_rate_limit(tmp_path):
    suite = generation_suite(tmp_path / "gen", n=12)
    with Scripted(lambda body, n, s: ("sleep", 0.3, ("ok", _answer(_item(body))))) as server:
        recipe = load_recipe(eval_recipe(tmp_path, [suite], [endpoint(server.base_url, max_concurrency=4)]))
        started = time.monotonic()
        run_stage(recipe, "eval")
        took = time.monotonic() - started
    assert server.max_in_flight == 4
    assert took < 12 * 0.3  # concurrent: three rounds of four, not twelve in a row

    suite = generation_suite(tmp_path / "gen2", n=4, name="gen2")
    with Scripted(lambda body, n, s: ("ok", _answer(_item(body)))) as server:
        (tmp_path / "rpm").mkdir()
        recipe = load_recipe(eval_recipe(tmp_path / "rpm", [suite], [
            endpoint(server.base_url, max_concurrency=4, requests_per_minute=300)]))
        started = time.monotonic()
        run_stage(recipe, "eval")
        assert time.monotonic() - started >= 3 * 0.2 * 0.95  # starts 0.2 s apart


def test_a_refused_key_stops_the_eval_naming_the_variable_never_the_key(tmp_path, monkeypatch):
    secret = "sk-refused-7c1d5e9a2b"
    monkeypatch.setenv("VENDOR_KEY", secret)
    suite = generation_suite(tmp_path / "gen", n=4)
    with Scripted(lambda body, n, s: ("status", 401, {"error": f"bad key {secret}"}, {})) as server:
        recipe = load_recipe(eval_recipe(tmp_path, [suite], [endpoint(server.base_url, api_key_env="VENDOR_KEY",
                                                                      **FAST)]))
        with pytest.raises(DataError) as err:
            run_stage(recipe, "eval")
        assert sum(server.asked.values()) <= 4  # no retries of a refused key
    message = str(err.value)
    assert "VENDOR_KEY" in message and "401" in message and secret not in message
    assert f"{recipe.file}:" in message


def test_an_unset_key_variable_is_a_recipe_error_before_anything_is_sent(tmp_path, monkeypatch):
    monkeypatch.delenv("NOT_SET_KEY", raising=False)
    suite = generation_suite(tmp_path / "gen", n=2)
    with Scripted(lambda body, n, s: ("ok", _answer(0))) as server:
        recipe = load_recipe(eval_recipe(tmp_path, [suite], [endpoint(server.base_url, api_key_env="NOT_SET_KEY")]))
        with pytest.raises(Exception, match="NOT_SET_KEY, which is not set"):
            run_stage(recipe, "eval")
        assert not server.bodies


def test_an_endpoint_that_answers_nothing_fails_the_stage_and_leaves_no_folder(tmp_path):
    suite = generation_suite(tmp_path / "gen", n=3)
    with Scripted(lambda body, n, s: ("status", 502, {"error": "bad gateway"}, {})) as server:
        recipe = load_recipe(eval_recipe(tmp_path, [suite], [endpoint(server.base_url, **FAST)]))
        with pytest.raises(DataError, match="answered no request .*HTTP 502"):
            run_stage(recipe, "eval")
    assert not recipe.stage_dir("eval").exists()


@pytest.mark.slow
def test_sigkill_mid_eval_then_resume_asks_no_item_twice(tmp_path):
    """One request at a time; the server holds the 4th until gongmu is killed with
    SIGKILL. The resumed run asks only what had no answer: every prompt is answered
    exactly once over both runs, counted at the server."""
    n_items, kill_at = 10, 4
    suite = generation_suite(tmp_path / "gen", n=n_items)
    release = threading.Event()

    def script(body, n, server):
        if sum(server.asked.values()) == kill_at and not release.is_set():
            return ("hold", release)
        return ("sleep", 0.05, ("ok", _answer(_item(body))))

    with Scripted(script) as server:
        path = eval_recipe(tmp_path, [suite], [endpoint(server.base_url, max_concurrency=1)])
        exe = Path(sys.executable).parent / "gongmu"
        proc = subprocess.Popen([str(exe), "eval", str(path)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while sum(server.asked.values()) < kill_at:
            assert proc.poll() is None and time.time() < deadline, proc.stdout.read().decode()[-2000:]
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        release.set()
        assert sum(server.answered.values()) == kill_at - 1
        cache = tmp_path / "runs" / "e" / "eval-cache" / "api.jsonl"
        assert len(cache.read_text(encoding="utf-8").splitlines()) == kill_at - 1
        assert not (tmp_path / "runs" / "e" / "eval").exists()

        before = sum(server.asked.values())
        done = subprocess.run([str(exe), "eval", str(path)], capture_output=True, text=True,
                              timeout=300, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert sum(server.asked.values()) - before == n_items - (kill_at - 1)
        assert len(server.answered) == n_items and set(server.answered.values()) == {1}
    rows = read_jsonl(tmp_path / "runs" / "e" / "eval" / "outputs" / "gen.api.jsonl")
    assert [r["output"] for r in rows] == [f"답변 {i}입니다." for i in range(n_items)]
    info = read_json(tmp_path / "runs" / "e" / "eval" / "results.json")["candidates"]["api"]
    assert info["cache_hits"] == kill_at - 1 and info["answered_this_run"] == n_items - kill_at + 1


@pytest.mark.slow
def test_the_api_key_appears_in_no_artifact_log_or_mlflow_store(tmp_path):
    """The server echoes the Authorization header into its error bodies; one item always
    fails. The key must reach the server and nowhere else: not the results, outputs,
    cache, manifest, audit trail, MLflow store, nor the console."""
    secret = "sk-gongmu-test-5f0c2a9e81d4"

    def script(body, n, server):
        auth = server.headers[-1].get("Authorization", "")
        if _item(body) == 1 or n == 0:
            return ("status", 500, {"error": f"upstream failed for {auth}"}, {})
        return ("ok", completion(f"답변 {_item(body)}입니다."))

    suite = generation_suite(tmp_path / "gen", n=3)
    with Scripted(script) as server:
        path = eval_recipe(tmp_path, [suite], [endpoint(server.base_url, api_key_env="GONGMU_TEST_KEY",
                                                        retries=1, backoff_s=0.01,
                                                        price_per_1k_input_tokens=0.5)],
                           tracking=True)
        exe = Path(sys.executable).parent / "gongmu"
        done = subprocess.run([str(exe), "eval", str(path), "--debug"], capture_output=True,
                              text=True, timeout=300, check=False,
                              env={**os.environ, "GONGMU_TEST_KEY": secret})
        assert done.returncode == 0, done.stdout + done.stderr
        assert all(h.get("Authorization") == f"Bearer {secret}" for h in server.headers)
    rows = {r["id"]: r for r in read_jsonl(tmp_path / "runs" / "e" / "eval" / "outputs" / "gen.api.jsonl")}
    assert "‹key›" in rows["g1"]["failed"] and "HTTP 500" in rows["g1"]["failed"]
    files = [p for p in (tmp_path / "runs").rglob("*") if p.is_file()]
    assert any("mlflow" in p.parts for p in files) and any(p.name == "audit.jsonl" for p in files)
    assert any(p.parent.name == "eval-cache" for p in files)
    leaked = [str(p) for p in files if secret.encode() in p.read_bytes()]
    assert leaked == []
    assert secret not in done.stdout + done.stderr and secret not in path.read_text()
