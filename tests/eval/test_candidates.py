"""eval.candidates: local folders, this recipe's stages and OpenAI-compatible endpoints
scored on the same items with the same prompts and scoring. An endpoint serving the tiny
model answers exactly what the in-process model answers; multiple choice over an
endpoint uses its echoed log-probabilities (equal to the in-process ones) or, where it
has none, the letter fallback, flagged; an eval-only recipe needs no other stage; one
recipe scores the tuned stage, a local model and an endpoint side by side."""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.eval.recipes import (
    choice_suite,
    endpoint,
    eval_recipe,
    generation_suite,
    write_suite,
)
from tests.eval.servers import TinyModelServer, transformers_serve
from tests.helpers import QUICKSTART, REPO, gongmu
from toolkit.artifacts import read_json, read_jsonl
from toolkit.errors import DataError, RecipeError
from toolkit.recipe import load_recipe
from toolkit.stages import run_stage


@pytest.fixture
def short_dir():
    """A folder with a short path: the corpus stage keeps its workers' Unix sockets under
    the run folder, and a socket path has at most 107 bytes."""
    folder = Path(tempfile.mkdtemp(prefix="gm-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _rows(recipe, suite: str, candidate: str) -> list[dict]:
    return read_jsonl(recipe.stage_dir("eval") / "outputs" / f"{suite}.{candidate}.jsonl")


def test_an_eval_only_recipe_scores_a_local_folder_without_corpus_or_train(tmp_path, tiny_model):
    suite = generation_suite(tmp_path / "gen", n=4)
    recipe = load_recipe(eval_recipe(tmp_path, [suite], [
        {"name": "tiny", "kind": "hf", "path": str(tiny_model)}]))
    assert recipe.eval.reference_name == "tiny"
    run_stage(recipe, "eval")
    manifest = read_json(recipe.stage_dir("eval") / "manifest.json")
    assert manifest["lineage"] == {}
    assert not recipe.stage_dir("corpus").exists() and not recipe.stage_dir("train").exists()
    results = read_json(recipe.stage_dir("eval") / "results.json")
    info = results["candidates"]["tiny"]
    assert (info["kind"], info["dtype"], info["device"]) == ("hf", "float32", "cpu")
    assert results["suites"]["gen"]["models"]["tiny"]["answered"] == 4
    assert len(_rows(recipe, "gen", "tiny")) == 4


def test_prompts_past_the_models_context_are_counted_and_warned_about(tmp_path, tiny_model, capsys):
    """The tiny model has 1,024 positions: a 3,000-syllable prompt does not fit, and the
    results say how many prompts did not (the outputs are still scored)."""
    long = "서울특별시 행정 문서 " * 300
    suite = write_suite(tmp_path / "long", {"name": "long", "task_type": "generation",
                                            "metrics": ["chrf"], "max_new_tokens": 4}, [
        {"id": "short", "messages": [{"role": "user", "content": "제목은?"}], "reference": "예"},
        {"id": "long", "messages": [{"role": "user", "content": long}], "reference": "예"}])
    recipe = load_recipe(eval_recipe(tmp_path, [suite], [
        {"name": "tiny", "kind": "hf", "path": str(tiny_model)}]))
    run_stage(recipe, "eval")
    said = capsys.readouterr()
    assert "1 of 2 prompts plus max_new_tokens (4) exceed the model's context (1024 tokens)" in \
        " ".join((said.out + said.err).split())
    results = read_json(recipe.stage_dir("eval") / "results.json")
    assert results["suites"]["long"]["models"]["tiny"]["prompts_over_context"] == 1
    assert results["suites"]["long"]["models"]["tiny"]["answered"] == 2


def test_multiple_choice_over_echoed_logprobs_equals_the_in_process_log_likelihoods(tmp_path, tiny_model):
    suite = choice_suite(tmp_path / "mc", n=4)
    with TinyModelServer(tiny_model) as server:
        recipe = load_recipe(eval_recipe(tmp_path, [suite], [
            {"name": "local", "kind": "hf", "path": str(tiny_model)},
            endpoint(server.base_url, name="served", tokenizer=str(tiny_model))]))
        run_stage(recipe, "eval")
    local, served = _rows(recipe, "mc", "local"), _rows(recipe, "mc", "served")
    for a, b in zip(local, served):
        assert b["choice_logprobs"] == pytest.approx(a["choice_logprobs"], abs=1e-4)
        assert a["predicted"] == b["predicted"] and a["scores"] == b["scores"]
    results = read_json(recipe.stage_dir("eval") / "results.json")
    assert results["candidates"]["served"]["choice_scoring"] == "logprobs"
    assert results["suites"]["mc"]["models"]["served"]["choice_scoring"] == "logprobs"
    assert all(r["prompt"].endswith(("끝.", "이상.", "마침.")) for r in server.bodies)


def test_an_endpoint_without_logprobs_falls_back_to_letters_and_says_so(tmp_path, tiny_model):
    suite = choice_suite(tmp_path / "mc", n=3)
    with TinyModelServer(tiny_model, logprobs=False) as server:
        recipe = load_recipe(eval_recipe(tmp_path, [suite], [
            endpoint(server.base_url, name="served", tokenizer=str(tiny_model))]))
        run_stage(recipe, "eval")
        letters = [b for b in server.bodies if "messages" in b]
        assert len(letters) == 3 and "A. 끝.\nB. 이상.\nC. 마침." in letters[0]["messages"][-1]["content"]
        results = read_json(recipe.stage_dir("eval") / "results.json")
        info = results["candidates"]["served"]
        assert info["choice_scoring"] == "letter" and "log-probabilities" in info["choice_scoring_reason"]
        assert results["suites"]["mc"]["models"]["served"]["choice_scoring"] == "letter"
        assert all(r["choice_scoring"] == "letter" and "choice_logprobs" not in r
                   for r in _rows(recipe, "mc", "served"))
        out = gongmu("eval", "compare", str(recipe.stage_dir("eval")))
        assert out.returncode == 0 and "(letter)" in out.stderr

        (tmp_path / "strict").mkdir()
        strict = load_recipe(eval_recipe(tmp_path / "strict", [suite], [
            endpoint(server.base_url, name="served", tokenizer=str(tiny_model),
                     choice_scoring="logprobs")]))
        with pytest.raises(DataError, match="choice_scoring: logprobs"):
            run_stage(strict, "eval")


def test_items_with_personal_data_never_go_to_a_remote_endpoint_unless_allowed(tmp_path):
    from toolkit.eval.candidates_endpoint import refuse_remote_pii
    from toolkit.eval.suite import load_suite

    leaky = write_suite(tmp_path / "leaky", {"name": "leaky", "metrics": ["chrf"]}, [
        {"id": "a", "messages": [{"role": "user", "content": "홍길동(010-2345-6789)의 민원을 요약하세요."}],
         "reference": "요약"},
        {"id": "b", "messages": [{"role": "user", "content": "민원 처리 기한은?"}], "reference": "7일"}])
    remote = endpoint("https://api.vendor.example/v1", name="vendor")
    recipe = load_recipe(eval_recipe(tmp_path, [leaky], [remote]))
    with pytest.raises(DataError) as err:
        run_stage(recipe, "eval")  # refused before any request (the host does not exist)
    message = str(err.value)
    assert "leaky/a" in message and "전화번호" in message and "allow_remote_pii" in message
    assert "leaky/b" not in message and f"{recipe.file}:" in message
    # The pii suites' contexts are fictional and declared (context_pii): they may go.
    pii_leak = load_suite(REPO / "evals" / "pii-leak")
    candidate = recipe.eval.candidates[0]
    refuse_remote_pii(recipe, candidate, 0, [pii_leak])
    # Allowed by the recipe, or a local endpoint: nothing refused.
    allowed = load_recipe(eval_recipe(tmp_path, [leaky], [{**remote, "allow_remote_pii": True}], name="ok"))
    refuse_remote_pii(allowed, allowed.eval.candidates[0], 0, [load_suite(leaky)])
    local = load_recipe(eval_recipe(tmp_path, [leaky], [endpoint("http://127.0.0.1:9/v1")], name="lo"))
    refuse_remote_pii(local, local.eval.candidates[0], 0, [load_suite(leaky)])


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_the_vllm_backend_is_refused_cleanly_where_vllm_is_missing(tmp_path, tiny_model):
    suite = generation_suite(tmp_path / "gen", n=2)
    path = eval_recipe(tmp_path, [suite], [{"name": "tiny", "kind": "hf", "path": str(tiny_model)}],
                       backend="vllm")
    with pytest.raises(RecipeError, match=r"eval.backend is vllm, but vLLM is not installed"):
        run_stage(load_recipe(path), "eval")
    proc = gongmu("eval", str(path))
    assert proc.returncode == 2 and "pip install vllm" in proc.stderr
    assert f"{path}:" in proc.stderr and "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "runs" / "e" / "eval").exists()


def test_candidates_are_checked_when_the_recipe_loads(tmp_path, tiny_model):
    suite = generation_suite(tmp_path / "gen", n=2)
    cases = [
        ([{"name": "x", "kind": "hf"}, {"name": "x", "kind": "stage"}], "appear more than once"),
        ([endpoint("http://127.0.0.1:9/v1", extra_body={"messages": []})], "extra_body cannot set messages"),
        ([endpoint("http://127.0.0.1:9/v1", api_key_env="sk-live-abc")], "api_key_env"),
        ([{"name": "a.b", "kind": "hf"}], "candidates"),
        ([{"name": "x", "kind": "ollama"}], "kind"),
    ]
    for candidates, message in cases:
        with pytest.raises(RecipeError, match=message):
            load_recipe(eval_recipe(tmp_path, [suite], candidates))
    with pytest.raises(RecipeError, match="reference 'nobody' is not a candidate"):
        load_recipe(eval_recipe(tmp_path, [suite], [{"name": "x", "kind": "hf"}], reference="nobody"))
    # Paths are relative to the recipe file, like every path of a recipe.
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "rel.yaml"
    path.write_text(yaml.safe_dump({"name": "rel", "eval": {"suites": ["../gen"], "candidates": [
        {"name": "m", "kind": "hf", "path": "../model"},
        {"name": "ad", "kind": "adapter", "adapter": "adapters/a", "base": "../model"}]}}))
    recipe = load_recipe(path)
    assert recipe.eval.candidates[0].path == (tmp_path / "model").resolve()
    assert recipe.eval.candidates[1].adapter == (tmp_path / "sub" / "adapters" / "a").resolve()
    assert recipe.portable()["eval"]["candidates"][0]["path"] == "../model"


@pytest.mark.slow
def test_a_served_model_answers_exactly_what_the_in_process_model_answers(tmp_path, tiny_model):
    """`transformers serve` renders the same chat template and decodes greedily, so the
    endpoint candidate's outputs and scores equal the hf candidate's, item for item."""
    suite = generation_suite(tmp_path / "gen", n=6, metrics=("chrf", "exact_match", "pii_leak"))
    with transformers_serve(tiny_model, tmp_path / "serve.log") as base_url:
        recipe = load_recipe(eval_recipe(tmp_path, [suite], [
            {"name": "local", "kind": "hf", "path": str(tiny_model)},
            endpoint(base_url, name="served", model=str(tiny_model))]))
        run_stage(recipe, "eval")
    local, served = _rows(recipe, "gen", "local"), _rows(recipe, "gen", "served")
    assert [r["output"] for r in served] == [r["output"] for r in local]
    assert [r["scores"] for r in served] == [r["scores"] for r in local]
    results = read_json(recipe.stage_dir("eval") / "results.json")
    diff = results["suites"]["gen"]["comparison"]["candidates"]["served"]
    assert all(d["diff"] == 0 and d["n_items"] == 6 for d in diff.values())
    info = results["candidates"]["served"]
    assert info["prompt_tokens"] > 0 and info["completion_tokens"] > 0 and info["latency_s"]["p50"] > 0


@pytest.mark.slow
def test_one_recipe_scores_the_tuned_stage_a_local_model_and_an_endpoint(short_dir, tiny_model):
    """The acceptance run: corpus, train, then one eval of three candidates on the
    quickstart suite; results.json and the compare table cover all three."""
    tmp_path = short_dir
    with transformers_serve(tiny_model, tmp_path / "serve.log") as base_url:
        path = tmp_path / "three.yaml"
        path.write_text(yaml.safe_dump({
            "extends": str(QUICKSTART), "name": "three", "output_dir": str(tmp_path / "runs"),
            "model": {"path": str(tiny_model)}, "tracking": {"enabled": False},
            "train": {"max_steps": 24, "logging_steps": 4},
            "eval": {"max_new_tokens": 16, "reference": "tuned", "candidates": [
                {"name": "tuned", "kind": "stage", "stage": "train"},
                {"name": "tiny", "kind": "hf", "path": str(tiny_model)},
                {"name": "served", "kind": "openai", "base_url": base_url,
                 "model": str(tiny_model), "max_concurrency": 4,
                 "price_per_1k_input_tokens": 0.002, "price_per_1k_output_tokens": 0.006}]},
        }, allow_unicode=True))
        recipe = load_recipe(path)
        for stage in ("corpus", "train", "eval"):
            run_stage(recipe, stage)
    folder = recipe.stage_dir("eval")
    results = read_json(folder / "results.json")
    names = ["tuned", "tiny", "served"]
    assert list(results["candidates"]) == names and results["reference"] == "tuned"
    entry = results["suites"]["quickstart"]
    assert list(entry["models"]) == names
    assert set(entry["comparison"]["candidates"]) == {"tiny", "served"}
    assert results["candidates"]["served"]["cost"] > 0
    lineage = read_json(folder / "manifest.json")["lineage"]
    assert set(lineage) == {"corpus", "train"}
    ids = [[r["id"] for r in _rows(recipe, "quickstart", n)] for n in names]
    assert ids[0] == ids[1] == ids[2] and len(ids[0]) == entry["items"]
    # The local base model and the served one are the same weights: same answers, the
    # served ones cut where gongmu counts 16 tokens (no tokenizer named: 3 characters each).
    from toolkit.eval.candidates_endpoint import CHARS_PER_TOKEN

    limit = 16 * CHARS_PER_TOKEN
    assert [r["output"][:limit] for r in _rows(recipe, "quickstart", "tiny")] == \
        [r["output"] for r in _rows(recipe, "quickstart", "served")]
    table = gongmu("eval", "compare", str(folder), "--json")
    assert table.returncode == 0, table.stderr
    rows = json.loads(table.stdout)
    assert {r["candidate"] for r in rows} == set(names)
    assert {(r["candidate"], r["reference"]) for r in rows if r["metric"] == "chrf"} == {
        ("tuned", True), ("tiny", False), ("served", False)}
    shown = gongmu("eval", "compare", str(recipe.run_dir), "--reference", "tiny")
    assert shown.returncode == 0 and "candidates vs tiny" in shown.stderr
    gate = gongmu("eval", "gate", "--baseline", str(folder), "--candidate", "served",
                  "--max-drop", "1")
    assert gate.returncode == 0, gate.stdout + gate.stderr
