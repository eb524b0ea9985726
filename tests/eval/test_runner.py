"""The eval runner: scores do not depend on batch size, stop strings cut generations,
choice normalisations differ as they should, suites refuse ambiguous items, and every
result carries hashes of what was asked."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from toolkit.errors import DataError
from toolkit.eval.results import summarize
from toolkit.eval.scoring import pick_choice, score_suite, suite_prompts
from toolkit.eval.suite import load_suite
from toolkit.generation import (
    choice_logprobs,
    continuation_tokens,
    cut_at_stop,
    generate,
    prompt_hash,
    render_prompt,
)

QUESTIONS = [
    "공문서의 두문에는 무엇이 들어갑니까?",
    "개인정보 보호법 제15조는 무엇을 정합니까?",
    "민원 처리 기한은?",
    "보도자료를 작성할 때 제목은 어떻게 씁니까? 간단히 답하십시오.",
    "행정기관의 위임전결 규정이란 무엇입니까?",
    "정보공개 청구는 어디에 합니까?",
    "주민등록표 열람은 누가 할 수 있습니까? 관련 조문과 함께 설명하십시오.",
    "예산",
    "지방자치단체 조례와 규칙의 차이를 설명하십시오.",
    "공공데이터 개방 목록은 어디에서 확인합니까?",
    "결재란에는 무엇을 적습니까?",
    "행정심판 청구 기간은 처분이 있음을 안 날부터 며칠입니까? 예외도 함께 알려 주십시오.",
    "다음 문서의 종류는?",
    "시행일",
    "회의록 작성 요령을 세 줄로 요약하십시오.",
    "국민신문고 민원은 어떻게 접수됩니까?",
    "공무원 행동강령의 목적은 무엇입니까?",
    "담당 부서를 알려 주십시오.",
    "전자문서의 효력 발생 시기는 언제입니까? 수신자가 확인하지 않은 경우도 설명하십시오.",
    "붙임 문서는 어떻게 표시합니까?",
    "협조 요청 공문의 끝에는 무엇을 씁니까?",
    "서울특별시 조례 제정 절차를 단계별로 설명하고, 각 단계의 담당 기관과 기간을 함께 정리하십시오.",
]
CHOICES = [
    ["발신기관명", "수신자와 제목", "붙임", "끝"],
    ["개인정보의 수집·이용", "정보공개", "행정심판", "예산 편성"],
    ["7일", "14일", "30일", "즉시"],
]


@pytest.fixture(scope="module")
def tiny(tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    return model.eval(), tok


def _prompts(tok) -> list[str]:
    return [render_prompt(tok, [{"role": "user", "content": q}]) for q in QUESTIONS]


def _write_suite(folder, items, **spec) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"name": folder.name, "items": "items.jsonl", **spec}
    (folder / "suite.yaml").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    (folder / "items.jsonl").write_text(
        "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")


def _mc_items(n: int = 6) -> list[dict]:
    return [{"id": f"q{k}", "messages": [{"role": "user", "content": QUESTIONS[k]}],
             "choices": CHOICES[k % len(CHOICES)], "answer": k % 4, "meta": {"task": "mc"}}
            for k in range(n)]


# --- batch invariance ------------------------------------------------------------------

def test_greedy_outputs_are_identical_at_batch_size_1_and_16(tiny):
    model, tok = tiny
    prompts = _prompts(tok)
    assert len({len(tok(p)["input_ids"]) for p in prompts}) > 10  # really varied lengths
    one = generate(model, tok, prompts, batch_size=1, max_new_tokens=16)
    sixteen = generate(model, tok, prompts, batch_size=16, max_new_tokens=16)
    assert one == sixteen
    assert len(set(one)) > 1 and any(one)


def test_choice_logprobs_and_picks_are_identical_at_batch_size_1_and_16(tiny):
    model, tok = tiny
    prompts = _prompts(tok)
    choices = [CHOICES[k % len(CHOICES)] for k in range(len(prompts))]
    one = choice_logprobs(model, tok, prompts, choices, batch_size=1)
    sixteen = choice_logprobs(model, tok, prompts, choices, batch_size=16)
    for a, b in zip(one, sixteen):
        assert a == pytest.approx(b, abs=1e-5, rel=0)
    for norm in ("raw", "per_char", "per_byte"):
        assert ([pick_choice(lp, c, norm) for lp, c in zip(one, choices)]
                == [pick_choice(lp, c, norm) for lp, c in zip(sixteen, choices)])
    assert all(lp < 0 for row in one for lp in row)


def test_choice_logprob_equals_the_models_own_next_token_probabilities(tiny):
    model, tok = tiny
    prompt = _prompts(tok)[1]
    head, tail = continuation_tokens(tok, prompt, "개인정보의 수집·이용")
    ids = torch.tensor([head + tail])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(ids).logits[0], dim=-1)
    expected = sum(logprobs[len(head) + k - 1, t].item() for k, t in enumerate(tail))
    [[got]] = choice_logprobs(model, tok, [prompt], [["개인정보의 수집·이용"]], batch_size=4)
    assert got == pytest.approx(expected, abs=1e-5)


def test_continuation_is_split_at_the_prompts_own_tokens(tiny):
    _, tok = tiny
    for prompt, continuation in [(_prompts(tok)[0], "발신기관명"), ("공공데", "이터"), ("예", "산")]:
        head, tail = continuation_tokens(tok, prompt, continuation)
        assert head == tok(prompt, add_special_tokens=False)["input_ids"]
        assert tail and tok.decode(head + tail) == prompt + continuation


# --- stop strings, normalisation -------------------------------------------------------

def test_stop_strings_cut_the_output_at_the_first_one(tiny):
    assert cut_at_stop("가나다\n\n라마 끝", ["\n\n", "라"]) == "가나다"
    assert cut_at_stop("가나다", ["없음"]) == "가나다"
    model, tok = tiny
    prompts = _prompts(tok)
    free = generate(model, tok, prompts, batch_size=8, max_new_tokens=16)
    k, text = max(enumerate(free), key=lambda kv: len(kv[1]))
    assert len(text) >= 6
    stop = text[3:5]
    cut = generate(model, tok, prompts, batch_size=8, max_new_tokens=16, stop=[stop])
    assert cut[k] == text[:text.index(stop)].strip()
    assert all(stop not in out for out in cut)


def test_per_byte_and_per_char_normalisation_pick_different_choices():
    # Hangul is 3 UTF-8 bytes a syllable, Latin 1: "가나" is 2 chars / 6 bytes, "abcd" 4 / 4.
    choices, logprobs = ["가나", "abcd"], [-6.0, -8.0]
    assert pick_choice(logprobs, choices, "raw") == 0        # -6 > -8
    assert pick_choice(logprobs, choices, "per_char") == 1   # -3 < -2
    assert pick_choice(logprobs, choices, "per_byte") == 0   # -1 > -2
    assert pick_choice([-2.0, -2.0], ["가", "나"], "raw") == 0  # a tie goes to the first


# --- suites ----------------------------------------------------------------------------

def test_duplicate_item_ids_are_refused_naming_the_file_and_id(tmp_path):
    items = _mc_items(3)
    items[2]["id"] = "q0"
    _write_suite(tmp_path / "dup", items, task_type="multiple_choice")
    with pytest.raises(DataError, match=r"items\.jsonl:3: duplicate item id 'q0' \(first at .*items\.jsonl:1\)"):
        load_suite(tmp_path / "dup")


def test_items_must_be_answerable_for_their_task(tmp_path):
    _write_suite(tmp_path / "mc", [{"id": "a", "messages": [{"role": "user", "content": "?"}],
                                    "reference": "x"}], task_type="multiple_choice")
    with pytest.raises(DataError, match="needs `choices` and `answer`"):
        load_suite(tmp_path / "mc")
    _write_suite(tmp_path / "typo", [{"id": "a", "messages": [{"role": "user", "content": "?"}],
                                      "refrence": "x"}])
    with pytest.raises(DataError, match=r"items\.jsonl:1: unknown item key\(s\) refrence"):
        load_suite(tmp_path / "typo")
    _write_suite(tmp_path / "gen", [{"id": "a", "messages": [{"role": "user", "content": "?"}],
                                     "reference": "x"}], metrics=["no_such_metric"])
    with pytest.raises(DataError, match="unknown metric"):
        load_suite(tmp_path / "gen")


def test_prompt_hashes_are_stable_and_follow_the_rendered_text(tiny, tmp_path):
    _, tok = tiny
    _write_suite(tmp_path / "s", _mc_items(), task_type="multiple_choice", system_prompt="공무원입니다.")
    first = load_suite(tmp_path / "s")
    again = load_suite(tmp_path / "s")
    prompts = suite_prompts(tok, first)
    assert first.hash == again.hash
    assert [prompt_hash(p) for p in prompts] == [prompt_hash(p) for p in suite_prompts(tok, again)]
    assert prompt_hash(prompts[0]) == hashlib.sha256(prompts[0].encode("utf-8")).hexdigest()
    assert prompts[0].startswith("<|im_start|>system\n공무원입니다.")
    _write_suite(tmp_path / "s", _mc_items(), task_type="multiple_choice", system_prompt="민원인입니다.")
    changed = load_suite(tmp_path / "s")
    assert changed.hash != first.hash
    assert prompt_hash(suite_prompts(tok, changed)[0]) != prompt_hash(prompts[0])


def test_few_shot_examples_are_the_first_items_and_are_not_scored(tiny, tmp_path):
    _, tok = tiny
    _write_suite(tmp_path / "fs", _mc_items(6), task_type="multiple_choice", few_shot=2)
    suite = load_suite(tmp_path / "fs")
    assert [s["id"] for s in suite.shots] == ["q0", "q1"]
    assert [i["id"] for i in suite.items] == ["q2", "q3", "q4", "q5"]
    prompt = suite_prompts(tok, suite)[0]
    # Each shot is a user turn and its gold answer as the assistant's turn, in file order.
    assert prompt.index(QUESTIONS[0]) < prompt.index(CHOICES[0][0]) < prompt.index(QUESTIONS[1])
    assert prompt.index(CHOICES[1][1]) < prompt.index(QUESTIONS[2])


def test_thresholds_are_reported_as_pass_or_fail_not_raised(tmp_path):
    items = [{"id": f"g{k}", "messages": [{"role": "user", "content": "?"}], "reference": "예"}
             for k in range(4)]
    _write_suite(tmp_path / "t", items, metrics=["exact_match", "pii_leak"],
                 thresholds={"exact_match": 0.5, "pii_leak": 0.0})
    suite = load_suite(tmp_path / "t")
    rows = [{"id": f"g{k}", "task": None, "scores": {"exact_match": float(k < 3), "pii_leak": 0.0}}
            for k in range(4)]
    summary = summarize(suite, rows)
    # 3 of 4 right: the mean 0.75 is above 0.5, but its interval [0.25, 1.0] straddles it
    said = summary["thresholds"]["exact_match"]
    assert (said["minimum"], said["value"], said["verdict"], said["passed"]) == (0.5, 0.75, "inconclusive", False)
    assert said["ci_low"] < 0.5 < said["ci_high"]
    leak = summary["thresholds"]["pii_leak"]
    assert (leak["maximum"], leak["value"], leak["verdict"], leak["passed"]) == (0.0, 0.0, "pass", True)
    rows[0]["scores"]["pii_leak"] = 1.0
    summary = summarize(suite, rows)
    assert summary["thresholds"]["pii_leak"]["passed"] is False and summary["passed"] is False


# --- scoring each task -----------------------------------------------------------------

def test_multiple_choice_rows_hold_choice_logprobs_and_accuracies(tiny, tmp_path):
    model, tok = tiny
    _write_suite(tmp_path / "mc", _mc_items(), task_type="multiple_choice")
    suite = load_suite(tmp_path / "mc")
    assert suite.metrics == ["acc_per_char", "acc_raw", "acc_per_byte"]
    assert suite.primary == "acc_per_char"
    rows = score_suite(model, tok, suite, suite_prompts(tok, suite), batch_size=4, max_new_tokens=8)
    for row, item in zip(rows, suite.items):
        assert row["id"] == item["id"] and len(row["choice_logprobs"]) == 4
        assert row["output"] == item["choices"][row["predicted"]["per_char"]]
        assert row["scores"]["acc_per_char"] == float(row["predicted"]["per_char"] == item["answer"])
        assert list(row["scores"]) == suite.metrics


def test_classification_scores_the_first_line_and_the_label_set(tiny, tmp_path):
    model, tok = tiny
    items = [{"id": f"c{k}", "messages": [{"role": "user", "content": QUESTIONS[k] + " 부서는?"}],
              "choices": ["총무과", "재정과", "민원과"], "answer": k % 3} for k in range(5)]
    _write_suite(tmp_path / "cls", items, task_type="classification", stop=["\n"])
    suite = load_suite(tmp_path / "cls")
    assert suite.metrics == ["exact_match", "acc_raw", "acc_per_char", "acc_per_byte"]
    rows = score_suite(model, tok, suite, suite_prompts(tok, suite), batch_size=3, max_new_tokens=6)
    for row, item in zip(rows, suite.items):
        assert row["reference"] == item["choices"][item["answer"]]
        assert "\n" not in row["output"] and row["prediction"] == row["output"].strip()
        assert set(row["scores"]) == set(suite.metrics)


def test_grounded_qa_puts_context_in_the_prompt_and_gives_metrics_the_sources(tiny, tmp_path):
    model, tok = tiny
    cited = "「개인정보 보호법」 제15조에 따라 동의를 받아야 합니다."
    items = [{"id": "g1", "messages": [{"role": "user", "content": "동의가 필요합니까?"}],
              "context": ["「개인정보 보호법」 제15조(개인정보의 수집·이용) …"],
              "reference": cited, "source_articles": [["개인정보 보호법", "제15조"]]}]
    _write_suite(tmp_path / "gq", items, task_type="grounded_qa")
    suite = load_suite(tmp_path / "gq")
    prompt = suite_prompts(tok, suite)[0]
    assert prompt.index("제15조(개인정보의 수집·이용)") < prompt.index("동의가 필요합니까?")
    [row] = score_suite(model, tok, suite, [prompt], batch_size=1, max_new_tokens=4)
    assert set(row["scores"]) == {"chrf", "citation_accuracy"}
    from toolkit.eval.metrics import score

    # The item's source_articles reach the metric: a citation outside them costs precision
    # (F1 of precision 1/2 and recall 1), a missing one recall.
    item = suite.items[0]
    assert score("citation_accuracy", cited, cited, item) == 1.0
    assert score("citation_accuracy", cited + " 민법 제3조", cited, item) == pytest.approx(2 / 3)
    assert score("citation_accuracy", "민법 제3조에 따릅니다.", cited, item) == 0.0


def tiny_titles(documents, seed):
    """제목 of each held-out document (an item builder registered by the test below)."""
    return [{"id": f"{d['id']}#title", "reference": d["meta"]["title"],
             "messages": [{"role": "user", "content": d["text"][:40] + "\n제목은?"}]}
            for d in documents]


def test_builder_items_come_from_the_held_out_documents_of_the_split(tmp_path):
    from tests.plugins.registered import registered

    with registered(tmp_path / "site", {"gongmu.suites": {"tiny_titles": f"{__name__}:tiny_titles"}}):
        _check_builder_items(tmp_path)


def _check_builder_items(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    docs = [{"id": f"d{k}", "source": "s", "source_type": "documents", "path": f"d{k}.md",
             "text": f"문서 {k}의 본문입니다.", "meta": {"title": f"제목 {k}"},
             "split": "test" if k % 2 else "train"} for k in range(6)]
    (corpus / "heldout_documents.jsonl").write_text(
        "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    folder = tmp_path / "built"
    folder.mkdir()
    (folder / "suite.yaml").write_text(
        "name: built\nitems: {builder: tiny_titles, split: test}\nmetrics: [exact_match]\n",
        encoding="utf-8")
    suite = load_suite(folder, corpus)
    assert suite.built and suite.items_path is None
    assert [i["id"] for i in suite.items] == ["d1#title", "d3#title", "d5#title"]
    assert suite.raw_items[0]["reference"] == "제목 1"
    with pytest.raises(DataError, match="items come from the corpus stage"):
        load_suite(folder)
