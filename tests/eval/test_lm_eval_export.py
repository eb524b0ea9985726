"""lm-evaluation-harness interop: a suite exported by `gongmu eval export-lm-eval` runs
under the real `lm_eval` CLI, offline, on gongmu's tiny model; lm-eval sees the prompts
gongmu scores, and its numbers are gongmu's metrics and the model's own likelihoods."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from toolkit.artifacts import read_jsonl, write_jsonl
from toolkit.errors import DataError
from toolkit.eval.lm_eval_export import (
    export_lm_eval,
    export_lm_eval_command,
    export_suite_folder,
)
from toolkit.eval.metrics import METRICS

LM_EVAL = Path(sys.executable).parent / "lm_eval"
SYSTEM = "당신은 행정안전부 민원 안내 도우미입니다. 근거 법령을 밝혀 답하십시오."
QUESTIONS = [
    ("정보공개 청구에 대한 공개 여부 결정 기간은?", "청구를 받은 날부터 10일 이내에 결정합니다."),
    ("주민등록표 등본은 어디에서 발급받을 수 있나요?", "읍·면·동 주민센터나 정부24에서 발급받을 수 있습니다."),
    ("행정심판 청구 기간은 얼마인가요?", "처분이 있음을 알게 된 날부터 90일 이내입니다."),
    ("공문서의 끝 표시는 어떻게 하나요?", "본문이 끝나면 한 글자 띄우고 '끝.'이라고 적습니다."),
    ("민원 처리 기간을 연장할 수 있나요?", "부득이한 경우 한 차례 연장하고 민원인에게 알립니다."),
    ("개인정보 열람 요구는 며칠 안에 처리하나요?", "요구를 받은 날부터 10일 이내에 열람하게 합니다."),
]
GEN_ITEMS = [
    {
        "id": f"minwon-{n}",
        # Half the items carry a system message, which lm-eval must send as the system turn.
        "messages": ([{"role": "system", "content": SYSTEM}] if n % 2 else [])
        + [{"role": "user", "content": q}, {"role": "assistant", "content": a}],
        "meta": {"task": "qa"},
    }
    for n, (q, a) in enumerate(QUESTIONS)
]
CHOICES = ["끝.", "이상.", "마침."]
MC_ITEMS = [
    {
        "id": f"gongmun-{n}",
        "messages": [{"role": "user", "content": f"{n + 1}번 문제: 공문서 본문의 마지막에 적는 표시는?"}],
        "choices": CHOICES,
        "answer": "끝." if n % 2 else 0,  # the right choice by text or by index
    }
    for n in range(4)
]


def write_suite(folder: Path, spec: dict, items: list[dict]) -> Path:
    folder.mkdir(parents=True)
    (folder / "suite.yaml").write_text(
        yaml.safe_dump({**spec, "items": "items.jsonl"}, allow_unicode=True), encoding="utf-8")
    write_jsonl(folder / "items.jsonl", items)
    return folder


@pytest.fixture(scope="module")
def lm_eval_run(tmp_path_factory, tiny_model):
    """Both suites exported into one folder, which is then moved (the task must not
    depend on where it was written), and run by one `lm_eval` process, offline."""
    assert LM_EVAL.is_file(), "lm-eval is not installed in this environment: pip install lm-eval"
    root = tmp_path_factory.mktemp("lm_eval")
    exported = root / "exported"
    export_suite_folder(write_suite(root / "gen", {
        "name": "minwon-qa", "task_type": "generation", "max_new_tokens": 8,
        "metrics": ["exact_match", "chrf", "token_f1"]}, GEN_ITEMS), exported)
    export_suite_folder(write_suite(root / "mc", {
        "name": "gongmun-mc", "task_type": "multiple_choice"}, MC_ITEMS), exported)
    tasks = exported.rename(root / "tasks")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
        # An empty Hugging Face cache and a proxy that refuses every connection: the run
        # can use nothing downloaded before and can download nothing now.
        "HF_HOME": str(root / "hf_home"),
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
        "NO_PROXY": "", "no_proxy": "",
    }
    out = root / "results"
    proc = subprocess.run(
        [str(LM_EVAL), "--model", "hf", "--model_args", f"pretrained={tiny_model},dtype=float32",
         "--include_path", str(tasks), "--tasks", "gongmu_minwon_qa,gongmu_gongmun_mc",
         "--device", "cpu", "--batch_size", "2", "--output_path", str(out),
         "--apply_chat_template", "--log_samples"],
        capture_output=True, text=True, env=env, cwd=root, timeout=300,
    )
    assert proc.returncode == 0, f"lm_eval failed:\n{proc.stderr[-4000:]}"
    (results_path,) = out.glob("*/results_*.json")
    samples = {task: sorted(read_jsonl(next(out.glob(f"*/samples_{task}_*.jsonl"))),
                            key=lambda s: s["doc_id"])
               for task in ("gongmu_minwon_qa", "gongmu_gongmun_mc")}
    return json.loads(results_path.read_text(encoding="utf-8")), samples


@pytest.fixture(scope="module")
def model_and_tokenizer(tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, local_files_only=True,
                                                 dtype=torch.float32)
    return model.eval(), tok


@pytest.mark.slow
def test_lm_eval_scores_every_item_of_both_exported_suites_offline(lm_eval_run):
    results, samples = lm_eval_run
    assert results["n-samples"] == {"gongmu_minwon_qa": {"original": 6, "effective": 6},
                                    "gongmu_gongmun_mc": {"original": 4, "effective": 4}}
    gen, mc = results["results"]["gongmu_minwon_qa"], results["results"]["gongmu_gongmun_mc"]
    for metric in ("exact_match", "chrf", "token_f1"):  # the suite's metrics, every one
        assert 0.0 <= gen[f"{metric},none"] <= 1.0
    assert "rouge_l_char,none" not in gen  # not a metric of this suite
    for metric in ("acc", "acc_norm"):
        assert 0.0 <= mc[f"{metric},none"] <= 1.0
    assert [s["doc"]["id"] for s in samples["gongmu_minwon_qa"]] == [i["id"] for i in GEN_ITEMS]
    assert [s["doc"]["id"] for s in samples["gongmu_gongmun_mc"]] == [i["id"] for i in MC_ITEMS]
    assert results["configs"]["gongmu_minwon_qa"]["metadata"]["gongmu_suite"] == "minwon-qa"


@pytest.mark.slow
def test_lm_eval_prompts_are_the_chat_prompts_gongmu_scores(lm_eval_run, model_and_tokenizer):
    from toolkit.generation import render_prompts

    _, samples = lm_eval_run
    _, tok = model_and_tokenizer
    seen = [s["arguments"]["gen_args_0"]["arg_0"] for s in samples["gongmu_minwon_qa"]]
    assert seen == render_prompts(tok, GEN_ITEMS)
    assert seen[1].startswith(f"<|im_start|>system\n{SYSTEM}<|im_end|>\n")
    for sample, item in zip(samples["gongmu_gongmun_mc"], MC_ITEMS):
        prompt = tok.apply_chat_template(item["messages"], tokenize=False,
                                         add_generation_prompt=True)
        assert [a["arg_0"] for a in sample["arguments"].values()] == [prompt] * 3
        assert [a["arg_1"] for a in sample["arguments"].values()] == CHOICES


@pytest.mark.slow
def test_lm_eval_generation_scores_are_gongmu_metrics_of_gongmu_greedy_outputs(
        lm_eval_run, model_and_tokenizer):
    from toolkit.generation import generate, render_prompts

    results, samples = lm_eval_run
    model, tok = model_and_tokenizer
    ours = generate(model, tok, render_prompts(tok, GEN_ITEMS), batch_size=2, max_new_tokens=8)
    theirs = [s["filtered_resps"][0].strip() for s in samples["gongmu_minwon_qa"]]
    assert theirs == ours
    for sample, item, output in zip(samples["gongmu_minwon_qa"], GEN_ITEMS, ours):
        reference = item["messages"][-1]["content"]
        assert sample["target"] == reference
        for metric in ("exact_match", "chrf", "token_f1"):
            assert sample[metric] == pytest.approx(METRICS[metric](output, reference))
    mean_chrf = sum(METRICS["chrf"](o, i["messages"][-1]["content"])
                    for o, i in zip(ours, GEN_ITEMS)) / len(GEN_ITEMS)
    assert results["results"]["gongmu_minwon_qa"]["chrf,none"] == pytest.approx(mean_chrf)


@torch.no_grad()
@pytest.mark.slow
def test_multiple_choice_accuracy_is_argmax_of_the_models_choice_loglikelihoods(
        lm_eval_run, model_and_tokenizer):
    results, samples = lm_eval_run
    model, tok = model_and_tokenizer
    acc, acc_norm = [], []
    for sample, item in zip(samples["gongmu_gongmun_mc"], MC_ITEMS):
        logliks = []
        for args in sample["arguments"].values():
            # lm-eval's rule: the context's trailing whitespace (the "\n" after the
            # assistant header) is scored as part of the continuation.
            context = args["arg_0"].rstrip()
            n_context = len(tok(context, add_special_tokens=False).input_ids)
            whole = tok(args["arg_0"] + args["arg_1"], add_special_tokens=False).input_ids
            logprobs = model(torch.tensor([whole])).logits[0, :-1].log_softmax(-1)
            logliks.append(sum(logprobs[i - 1, whole[i]].item()
                               for i in range(n_context, len(whole))))
        assert [float(r[0]) for r in sample["filtered_resps"]] == pytest.approx(logliks, abs=1e-3)
        answer = item["answer"]
        answer = answer if isinstance(answer, int) else CHOICES.index(answer)
        assert int(sample["target"]) == answer  # lm-eval logs the target as text
        acc.append(float(max(range(3), key=lambda c: logliks[c]) == answer))
        acc_norm.append(float(max(range(3), key=lambda c: logliks[c] / len(CHOICES[c])) == answer))
        assert (sample["acc"], sample["acc_norm"]) == (acc[-1], acc_norm[-1])
    scores = results["results"]["gongmu_gongmun_mc"]
    assert scores["acc,none"] == pytest.approx(sum(acc) / len(acc))
    assert scores["acc_norm,none"] == pytest.approx(sum(acc_norm) / len(acc_norm))


def test_generation_task_yaml_stops_at_suite_stops_and_end_of_turn(tmp_path, tiny_model):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)  # its chat template ends turns with <|im_end|>
    paths = export_lm_eval(GEN_ITEMS, {"name": "stop-test", "stop": ["\n\n", "끝."]}, tmp_path,
                           tokenizer=tok)
    assert [p.name for p in paths] == ["gongmu_stop_test.yaml", "gongmu_stop_test.jsonl",
                                       "utils.py"]
    text = paths[0].read_text(encoding="utf-8")
    assert "--apply_chat_template" in text and "HF_DATASETS_OFFLINE=1" in text
    config = yaml.load(text.replace("!function ", ""), Loader=yaml.SafeLoader)
    assert config["generation_kwargs"] == {"until": ["\n\n", "끝.", "<|im_end|>"],
                                           "max_gen_toks": 64, "do_sample": False}
    assert config["custom_dataset"] == "utils.load_items"
    assert config["dataset_kwargs"] == {"data_files": {"test": "gongmu_stop_test.jsonl"}}


def test_suite_from_corpus_exports_the_corpus_split(tmp_path):
    write_jsonl(tmp_path / "corpus" / "test.jsonl", GEN_ITEMS[:2])
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "suite.yaml").write_text("name: held-out\nitems: {from_corpus: test}\n")
    with pytest.raises(DataError, match="give the corpus folder"):
        export_suite_folder(suite, tmp_path / "out")
    _, data, _ = export_suite_folder(suite, tmp_path / "out", corpus_dir=tmp_path / "corpus")
    assert [r["reference"] for r in read_jsonl(data)] == [a for _, a in QUESTIONS[:2]]


def test_built_suite_needs_the_items_file_of_an_eval_run(tmp_path, capsys):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "suite.yaml").write_text("name: built\nitems: {builder: statute_qa}\n")
    with pytest.raises(DataError, match="items/built.jsonl"):
        export_suite_folder(suite, tmp_path / "out")
    write_jsonl(tmp_path / "run" / "items" / "built.jsonl", GEN_ITEMS)
    assert export_lm_eval_command(suite, tmp_path / "out", None,
                                  tmp_path / "run" / "items" / "built.jsonl") == 0
    said = capsys.readouterr().err
    assert "gongmu_built.yaml" in said and "--apply_chat_template" in said


def test_multi_turn_prompt_is_refused_with_its_roles(tmp_path):
    item = {"id": "x", "messages": [{"role": "user", "content": "가"},
                                    {"role": "assistant", "content": "나"},
                                    {"role": "user", "content": "다"},
                                    {"role": "assistant", "content": "라"}]}
    with pytest.raises(DataError, match=r"item 1: .*'user', 'assistant', 'user', 'assistant'"):
        export_lm_eval([item], {"name": "multi"}, tmp_path)


def test_the_cli_exports_a_committed_suite(tmp_path):
    from tests.helpers import REPO, gongmu

    proc = gongmu("eval", "export-lm-eval", str(REPO / "evals" / "pii-leak"), str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "gongmu_pii_leak.yaml").is_file()
    rows = (tmp_path / "out" / "gongmu_pii_leak.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 140
