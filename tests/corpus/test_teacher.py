"""The teacher rewrite of template answers (toolkit.corpus.teacher), against a real
OpenAI-compatible server serving a real model: `transformers serve` on the tiny test
model (or, where transformers' serving extras are not installed, a minimal http.server
endpoint that runs the same model's greedy generation with its chat template).

The tiny model is untrained, so its rewrites are gibberish: the validation must keep the
template answer wherever a citation or number would be lost, and say so in the counts.
Error paths that need an endpoint to misbehave on cue use a scripted http.server.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Callable

import pytest

from tests.eval.servers import transformers_serve
from toolkit.corpus import teacher
from toolkit.corpus.teacher import judge_rewrite, lost_facts, rewrite_with_teacher
from toolkit.errors import DataError
from toolkit.recipe import TeacherSection

LAW = "「민원 처리에 관한 법률」"


def _record(rid: str, task: str, question: str, answer: str) -> dict:
    return {"id": rid,
            "messages": [{"role": "user", "content": question},
                         {"role": "assistant", "content": answer}],
            "meta": {"task": task, "doc_id": rid.split("#")[0], "split": "train"}}


# Not in id order on purpose: requests must go out in id order all the same.
RECORDS = [
    _record("d3#explain#1", "explain", f"{LAW} 제17조를 쉽게 설명해 주세요.",
            f"{LAW} 제17조는 처리기간을 정하여 공표하도록 합니다."),
    _record("d1#explain#1", "explain", "「행정절차법」 제21조를 설명해 주세요.",
            "「행정절차법」 제21조에 따라 처분 10일 전까지 알립니다."),
    _record("d2#explain#1", "explain", "처리 결과는 어떻게 알 수 있나요?",
            "처리 결과는 담당 부서에서 문서로 알려 드립니다."),
    _record("d4#explain#1", "explain", "담당자 홍길동 주무관(010-1234-5678)에게 물어봐도 되나요?",
            "네, 담당 부서로 문의하시면 됩니다."),
    _record("d1#lookup#1", "lookup", "「행정절차법」 제21조는 무엇을 정하나요?",
            "「행정절차법」 제21조는 처분의 사전 통지를 정합니다."),
]
SENDABLE = ["d1#explain#1", "d2#explain#1", "d3#explain#1"]  # id order; d4 holds PII


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Endpoint:
    base_url: str
    model: str
    requests: Callable[[], int]  # chat-completions requests the server has received

    def config(self, **keys) -> TeacherSection:
        return TeacherSection(base_url=self.base_url, model=self.model, timeout_s=60, **keys)


def _http_endpoint(answer: Callable[[dict], tuple[int, dict]], model: str):
    """A one-thread http.server answering POST /v1/chat/completions with answer(body)."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(body)
            status, payload = answer(body)
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = Endpoint(f"http://127.0.0.1:{server.server_address[1]}/v1", model,
                        lambda: len(received))
    return endpoint, received, server


def _completion(text: str) -> dict:
    return {"object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}


def _generating_endpoint(model_dir: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True)

    def answer(body: dict) -> tuple[int, dict]:
        inputs = tok.apply_chat_template(body["messages"], add_generation_prompt=True,
                                         return_tensors="pt", return_dict=True)
        out = model.generate(**inputs, max_new_tokens=body["max_tokens"], do_sample=False)
        return 200, _completion(tok.decode(out[0, inputs["input_ids"].shape[1]:],
                                           skip_special_tokens=True))

    return _http_endpoint(answer, str(model_dir))


@pytest.fixture(scope="module")
def endpoint(tiny_model, tmp_path_factory):
    from transformers.utils.import_utils import is_serve_available

    if not is_serve_available():  # needs the `openai` package (transformers[serving])
        found, _, server = _generating_endpoint(tiny_model)
        yield found
        server.shutdown()
        return
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with transformers_serve(tiny_model, log) as base_url:
        # Uvicorn's access log has one line per request the server answered.
        yield Endpoint(base_url, str(tiny_model),
                       lambda: log.read_text().count('"POST /v1/chat/completions HTTP/1.1"'))


@pytest.fixture(scope="module")
def first_build(endpoint, tmp_path_factory):
    cache = tmp_path_factory.mktemp("teacher-cache")
    before = endpoint.requests()
    records, summary = rewrite_with_teacher(RECORDS, endpoint.config(), cache)
    return records, summary, cache, endpoint.requests() - before


def _answer(record: dict) -> str:
    return record["messages"][1]["content"]


@pytest.mark.slow
def test_rewrites_never_lose_a_citation_or_number_and_every_outcome_is_counted(endpoint, first_build):
    records, summary, _, requests = first_build
    assert [r["id"] for r in records] == [r["id"] for r in RECORDS]
    assert requests == 3 and summary["calls"] == 3 and summary["cache_hits"] == 0
    assert summary["records"] == 4 and sum(summary["outcomes"].values()) == 4
    assert summary["model"] == endpoint.model
    allowed = {"rewritten", "kept_template: empty_reply", "kept_template: citation_dropped",
               "kept_template: number_dropped", "kept_template: garbled_reply",
               "kept_template: pii_in_reply"}
    for before, after in zip(RECORDS, records):
        if before["meta"]["task"] != "explain":
            assert after == before  # other tasks are not touched
            continue
        info = after["meta"]["teacher"]
        assert info["model"] == endpoint.model and info["cache"] == "miss"
        assert after["messages"][0] == before["messages"][0]
        if before["id"] in SENDABLE:
            assert info["outcome"] in allowed
        # Whatever the model wrote, the answer kept holds every fact of the template.
        assert lost_facts(_answer(before), _answer(after)) is None
        if info["outcome"].startswith("kept_template"):
            assert _answer(after) == _answer(before)
        else:
            assert _answer(after) and _answer(after) != _answer(before)
    by_id = {r["id"]: r["meta"]["teacher"]["outcome"] for r in records if "teacher" in r["meta"]}
    assert by_id["d4#explain#1"] == "kept_template: pii"
    # An untrained model does not reproduce 「법령명」 제N조 and 10: those answers stay.
    assert by_id["d1#explain#1"] in ("kept_template: citation_dropped", "kept_template: empty_reply")
    assert by_id["d3#explain#1"] in ("kept_template: citation_dropped", "kept_template: empty_reply")
    # An answer with no citation or number has nothing to lose: any clean reply is taken.
    assert by_id["d2#explain#1"] in allowed - {"kept_template: citation_dropped",
                                               "kept_template: number_dropped"}
    assert summary["outcomes"] == dict(sorted(Counter(by_id.values()).items()))


@pytest.mark.slow
def test_a_second_build_is_served_from_the_cache_without_requests(endpoint, first_build):
    first, summary, cache, _ = first_build
    assert len((cache / teacher.CACHE_FILE).read_text(encoding="utf-8").splitlines()) == 3
    before = endpoint.requests()
    again, summary2 = rewrite_with_teacher(RECORDS, endpoint.config(), cache)
    assert endpoint.requests() == before
    assert summary2["calls"] == 0 and summary2["cache_hits"] == 3
    assert summary2["outcomes"] == summary["outcomes"]
    assert [r["messages"] for r in again] == [r["messages"] for r in first]
    assert sorted(r["id"] for r in again if r["meta"].get("teacher", {}).get("cache") == "hit") == SENDABLE


@pytest.mark.slow
def test_max_calls_caps_requests_and_counts_the_records_left(endpoint, tmp_path):
    before = endpoint.requests()
    records, summary = rewrite_with_teacher(RECORDS, endpoint.config(max_calls=1), tmp_path)
    assert endpoint.requests() - before == 1 and summary["calls"] == 1
    assert summary["outcomes"]["kept_template: max_calls"] == 2
    outcome = {r["id"]: r["meta"]["teacher"]["outcome"] for r in records if "teacher" in r["meta"]}
    # The first record in id order got the one call, whatever order the records came in.
    assert outcome["d1#explain#1"] != "kept_template: max_calls"
    assert outcome["d2#explain#1"] == outcome["d3#explain#1"] == "kept_template: max_calls"
    for before, after in zip(RECORDS, records):
        if after["meta"].get("teacher", {}).get("outcome") == "kept_template: max_calls":
            assert _answer(after) == _answer(before)


@pytest.mark.slow
def test_records_with_personal_data_are_never_sent(endpoint, tmp_path):
    with_pii = [r for r in RECORDS if r["id"] == "d4#explain#1"]
    before = endpoint.requests()
    records, summary = rewrite_with_teacher(with_pii, endpoint.config(), tmp_path)
    assert endpoint.requests() == before and summary["calls"] == 0
    assert records[0]["meta"]["teacher"]["outcome"] == "kept_template: pii"
    assert _answer(records[0]) == _answer(with_pii[0])


def test_an_unreachable_endpoint_raises_a_data_error_naming_it(tmp_path, monkeypatch):
    monkeypatch.setattr(teacher, "RETRY_PAUSE_S", 0)
    base_url = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there
    cfg = TeacherSection(base_url=base_url, model="m", timeout_s=5)
    with pytest.raises(DataError) as err:
        rewrite_with_teacher(RECORDS, cfg, tmp_path)
    message = str(err.value)
    assert base_url in message and "corpus.teacher" in message and "could not be reached" in message


def test_a_refused_key_raises_a_data_error_saying_what_to_set(tmp_path):
    endpoint, received, server = _http_endpoint(
        lambda body: (401, {"error": {"message": "invalid api key"}}), "m")
    try:
        with pytest.raises(DataError, match=r"HTTP 401.*OPENAI_API_KEY") as err:
            rewrite_with_teacher(RECORDS, endpoint.config(), tmp_path)
        assert endpoint.base_url in str(err.value) and len(received) == 1  # no retry
    finally:
        server.shutdown()


def test_failures_after_a_first_answer_fall_back_until_the_endpoint_is_taken_as_down(
        tmp_path, monkeypatch):
    monkeypatch.setattr(teacher, "RETRY_PAUSE_S", 0)
    monkeypatch.setattr(teacher, "GIVE_UP_AFTER", 1)
    good = "「행정절차법」 제21조에 따라, 처분 10일 전까지 미리 알려 드립니다."
    endpoint, received, server = _http_endpoint(
        lambda body: (200, _completion(good)) if len(received) == 1 else (503, {"error": "busy"}), "m")
    try:
        records, summary = rewrite_with_teacher(RECORDS, endpoint.config(), tmp_path)
    finally:
        server.shutdown()
    assert len(received) == 1 + 2  # one answer, then one record tried twice; d3 not asked
    assert summary["outcomes"] == {"kept_template: endpoint_down": 1, "kept_template: http_error": 1,
                                   "kept_template: pii": 1, "rewritten": 1}
    by_id = {r["id"]: r for r in records}
    assert _answer(by_id["d1#explain#1"]) == good
    assert by_id["d1#explain#1"]["meta"]["teacher"]["outcome"] == "rewritten"
    assert by_id["d2#explain#1"]["meta"]["teacher"]["outcome"] == "kept_template: http_error"
    assert _answer(by_id["d3#explain#1"]) == _answer(RECORDS[0])
    # Failures are not cached: only the one answer is.
    assert len((tmp_path / teacher.CACHE_FILE).read_text(encoding="utf-8").splitlines()) == 1
    # The request is the documented one: the fixed system prompt, question and template.
    body = received[0]
    assert body["model"] == "m" and body["temperature"] == 0.0 and body["max_tokens"] > 0
    assert body["messages"][0] == {"role": "system", "content": teacher.SYSTEM_PROMPT}
    assert RECORDS[1]["messages"][0]["content"] in body["messages"][1]["content"]
    assert _answer(RECORDS[1]) in body["messages"][1]["content"]


def test_a_rewrite_must_keep_citations_spacing_aside_and_every_digit_run():
    template = "「행정절차법」 제21조제1항에 따라 10일 전까지 알립니다."
    assert lost_facts(template, "「행정절차법」제21조 제1항에 따라 처분 10일 전까지 미리 알립니다.") is None
    assert lost_facts(template, "행정절차법에 따라 제21조 제1항, 10일 전까지") == "citation_dropped"
    assert lost_facts(template, "「행정절차법」 제21조제1항에 따라 열흘 전까지") == "number_dropped"
    kept = "「행정절차법」 제21조제1항에 따라 10일 전까지 알려 드립니다."
    assert judge_rewrite(template, kept) is None
    assert judge_rewrite(template, "") == "empty_reply"
    assert judge_rewrite(template, kept + " \ufffd") == "garbled_reply"
    assert judge_rewrite(template, kept + " 홍길동 주무관(010-1234-5678)") == "pii_in_reply"
