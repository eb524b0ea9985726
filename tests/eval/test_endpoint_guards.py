"""Guards on everything gongmu sends to an OpenAI-compatible endpoint (issue 19 §3, 4, 6,
8), against servers on 127.0.0.1 and never the network:

- locality is parsed: only `localhost` and literal loopback addresses are this machine;
- nothing holding personal data goes to a remote host (prompt, few-shot, system prompt,
  choices, extra_body), refused before any request;
- loopback requests never go through a proxy, the eval's and the corpus teacher's alike;
  a remote request through one is said once, naming the proxy's host;
- a whole-request deadline (a server trickling a byte a second, or silent), a reply size
  cap, and a per-suite deadline after which the endpoint counts as down;
- keys stay secret: a key pasted where a variable name belongs is refused unrepeated,
  a key or header value a server echoes is stored as ‹key›, and headers_env values never
  reach a manifest.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.eval.recipes import choice_suite, endpoint, eval_recipe, generation_suite, write_suite
from tests.eval.servers import Scripted, completion, prompt_of
from toolkit import endpoints
from toolkit.artifacts import read_json, read_jsonl
from toolkit.endpoints import EndpointFailure, is_local, post_json
from toolkit.errors import DataError, RecipeError
from toolkit.recipe import TeacherSection, load_recipe
from toolkit.stages import run_stage

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
HOSTILE = [
    "https://127.vendor.io/v1",
    "https://127.vendor-a.io/v1",
    "http://127.0.0.1.vendor.example/v1",
    "http://localhost.evil.com/v1",
    "http://127.0.0.1.nip.io:8000/v1",
    "http://127.0.0.1@vendor.io/v1",
    "http://127.0.0.1:8000@vendor.io/v1",
    "http://localhost./v1",
    "http://0x7f.1/v1",
    "http://2130706433/v1",
    "http://[::ffff:127.0.0.1]:8000/v1",
    "http://[::ffff:7f00:1]/v1",
    "http://127.0.0.1\\@vendor.io/v1",
    "http://api.vendor.example/v1",
    "http://10.0.0.5:8000/v1",
    "not a url",
]
LOCAL = ["http://127.0.0.1:8000/v1", "http://127.1.2.3/v1", "http://localhost:8000/v1",
         "http://LocalHost/v1", "http://[::1]:8000/v1", "https://localhost/v1"]


def _item(body: dict) -> int:
    import re

    return int(re.search(r"\[(\d+)\]", prompt_of(body)).group(1))


def _answer(i: int) -> dict:
    return completion(f"답변 {i}입니다.")


@pytest.fixture
def no_proxy_env(monkeypatch):
    for name in (*PROXY_VARS, "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(endpoints, "_warned_proxies", set(), raising=False)
    return monkeypatch


class RecordingProxy:
    """A TCP listener on 127.0.0.1 that records every connection made to it (and the
    first bytes sent) and closes it: a proxy that sees whatever is sent its way."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.seen: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.seen.append(conn.recv(4096))
                except OSError:
                    self.seen.append(b"")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


# --------------------------------------------------------------------------- locality (§3)


@pytest.mark.parametrize("url", HOSTILE)
def test_hosts_that_only_look_local_count_as_remote(url):
    assert not is_local(url)


@pytest.mark.parametrize("url", LOCAL)
def test_localhost_and_literal_loopback_addresses_are_local(url):
    assert is_local(url)


def test_personal_data_in_a_choice_is_refused_before_any_request_to_a_remote_host(tmp_path, no_proxy_env):
    """The vendor host does not exist, and every request would go through the recording
    proxy: the refusal must come first, naming the item, with nothing sent anywhere."""
    suite = write_suite(tmp_path / "mc", {"name": "mc", "task_type": "multiple_choice"}, [
        {"id": "m0", "messages": [{"role": "user", "content": "민원인의 연락처는?"}],
         "choices": ["A. 010-2345-6789 (김민수, 900101-1234567)", "B. 알 수 없음"], "answer": 0},
        {"id": "m1", "messages": [{"role": "user", "content": "공문서의 끝 표시는?"}],
         "choices": ["끝.", "이상."], "answer": 0}])
    with RecordingProxy() as proxy:
        for name in PROXY_VARS:
            no_proxy_env.setenv(name, proxy.url)
        for url in ("https://127.vendor-a.io/v1", "http://127.0.0.1.vendor.example/v1"):
            recipe = load_recipe(eval_recipe(tmp_path, [suite], [endpoint(url, choice_scoring="letter")]))
            with pytest.raises(DataError) as err:
                run_stage(recipe, "eval")
            message = str(err.value)
            assert "mc/m0" in message and "전화번호" in message and "주민등록번호" in message
            assert "mc/m1" not in message and "Nothing was sent" in message
    assert proxy.seen == []


def test_system_prompt_few_shot_and_extra_body_are_scanned_for_a_remote_host(tmp_path):
    from toolkit.eval.candidates_endpoint import refuse_remote_pii
    from toolkit.eval.suite import load_suite

    clean = [{"id": "q", "messages": [{"role": "user", "content": "민원 처리 기한은?"}], "reference": "7일"}]
    system = write_suite(tmp_path / "sys", {"name": "sys", "metrics": ["chrf"],
                                            "system_prompt": "담당자 연락처: 010-2345-6789"}, clean)
    shots = write_suite(tmp_path / "shots", {"name": "shots", "metrics": ["chrf"], "few_shot": 1,
                                             "few_shot_items": "shots.jsonl"}, clean)
    (shots / "shots.jsonl").write_text(json.dumps({
        "id": "s", "messages": [{"role": "user", "content": "주민등록번호 900101-1234567 확인"}],
        "reference": "확인했습니다."}, ensure_ascii=False) + "\n", encoding="utf-8")
    remote = endpoint("https://api.vendor.example/v1")
    recipe = load_recipe(eval_recipe(tmp_path, [system], [remote]))
    for folder in (system, shots):
        with pytest.raises(DataError, match="holds? personal data"):
            refuse_remote_pii(recipe, recipe.eval.candidates[0], 0, [load_suite(folder)])
    (tmp_path / "x").mkdir()
    leaky_body = load_recipe(eval_recipe(tmp_path / "x", [system], [
        {**remote, "extra_body": {"metadata": {"user": "김민수 010-2345-6789"}}}]))
    with pytest.raises(DataError, match="extra_body"):
        refuse_remote_pii(leaky_body, leaky_body.eval.candidates[0], 0,
                          [load_suite(write_suite(tmp_path / "c", {"name": "c", "metrics": ["chrf"]}, clean))])


def test_every_body_is_checked_again_as_it_is_sent_to_a_remote_host(tmp_path, no_proxy_env):
    """Past the up-front check (called directly here), the asker refuses a body holding
    personal data before the request leaves: the proxy that would carry it sees nothing."""
    from toolkit.console import progress
    from toolkit.eval.candidates_endpoint import _Asker

    suite = generation_suite(tmp_path / "gen", n=1)
    recipe = load_recipe(eval_recipe(tmp_path, [suite], [endpoint("http://api.vendor.example/v1")]))
    with RecordingProxy() as proxy:
        no_proxy_env.setenv("http_proxy", proxy.url)
        asker = _Asker(recipe, recipe.eval.candidates[0], 0, progress())
        body = asker.body(messages=[{"role": "user", "content": "김민수 010-2345-6789에게 회신"}])
        with pytest.raises(DataError, match="전화번호"):
            asker.ask("/chat/completions", [body], None, items=[{"id": "g0"}])
        asker.cache.close()
    assert proxy.seen == []


# --------------------------------------------------------------------------- proxies (§4)


def test_loopback_requests_never_go_through_a_proxy_the_eval_and_the_teacher_alike(tmp_path, no_proxy_env):
    from toolkit.corpus.teacher import rewrite_with_teacher

    suite = generation_suite(tmp_path / "gen", n=3)
    answer = "「행정절차법」 제21조에 따라 처분 10일 전까지 알립니다."
    with RecordingProxy() as proxy, Scripted(lambda body, n, s: ("ok", completion(
            answer if "[초안 답변]" in prompt_of(body) else f"답변 {_item(body)}입니다."))) as server:
        for name in PROXY_VARS:
            no_proxy_env.setenv(name, proxy.url)
        recipe = load_recipe(eval_recipe(tmp_path, [suite], [endpoint(server.base_url, retries=0)]))
        run_stage(recipe, "eval")
        rows = read_jsonl(recipe.stage_dir("eval") / "outputs" / "gen.api.jsonl")
        assert [r["output"] for r in rows] == [f"답변 {i}입니다." for i in range(3)]

        record = {"id": "d1#explain#1", "meta": {"task": "explain"},
                  "messages": [{"role": "user", "content": "「행정절차법」 제21조를 설명해 주세요."},
                               {"role": "assistant", "content": answer}]}
        out, summary = rewrite_with_teacher([record], TeacherSection(
            base_url=server.base_url, model="m", timeout_s=5), tmp_path / "teacher")
        assert summary["calls"] == 1 and out[0]["meta"]["teacher"]["outcome"] == "rewritten"
        assert len(server.bodies) == 4
    assert proxy.seen == []


def test_a_remote_request_through_a_proxy_is_said_once_naming_the_proxy(no_proxy_env, caplog):
    """The scripted server plays the proxy: a remote http:// request reaches it with the
    vendor's absolute URL, and the console says once which proxy carries it."""
    with Scripted(lambda body, n, s: ("ok", completion("네."))) as proxy:
        no_proxy_env.setenv("http_proxy", f"http://127.0.0.1:{proxy.server.server_address[1]}")
        with caplog.at_level(logging.WARNING, logger="toolkit.endpoints"):
            for _ in range(2):
                reply = post_json("http://api.vendor.example/v1/chat/completions",
                                  {"model": "m", "messages": []}, timeout_s=5)
                assert reply["choices"][0]["message"]["content"] == "네."
        assert len(proxy.bodies) == 2
        said = [r.getMessage() for r in caplog.records if "proxy" in r.getMessage()]
        assert len(said) == 1 and "127.0.0.1" in said[0] and "api.vendor.example" in said[0]
        no_proxy_env.setenv("no_proxy", "api.vendor.example")
        assert endpoints.proxy_for("http://api.vendor.example/v1") is None
        assert endpoints.proxy_for("http://127.0.0.1:9/v1") is None


# --------------------------------------------------------------------------- bounds (§6)


def test_a_server_sending_one_byte_a_second_is_cut_at_the_whole_request_deadline(tmp_path):
    suite = generation_suite(tmp_path / "gen", n=2)

    def script(body, n, server):
        return ("trickle", 1.0) if _item(body) == 1 else ("ok", _answer(_item(body)))

    with Scripted(script) as server:
        recipe = load_recipe(eval_recipe(tmp_path, [suite], [endpoint(server.base_url, timeout=2, retries=0)]))
        started = time.monotonic()
        run_stage(recipe, "eval")
        took = time.monotonic() - started
    rows = {r["id"]: r for r in read_jsonl(recipe.stage_dir("eval") / "outputs" / "gen.api.jsonl")}
    assert rows["g0"]["output"] == "답변 0입니다."
    assert rows["g1"]["failed"] == "timeout: no complete reply within 2 s"
    assert took < 6, took  # 2 s deadline, not the reply's 60 s of trickle


def test_a_server_that_never_answers_costs_the_deadline_and_no_more(tmp_path):
    """Five items, default retries and backoff: without an overall deadline this is
    minutes of timeouts and pauses; with suite_timeout it is the deadline."""
    release = threading.Event()
    suite = generation_suite(tmp_path / "gen", n=5)
    with Scripted(lambda body, n, s: ("hold", release)) as server:
        recipe = load_recipe(eval_recipe(tmp_path, [suite], [
            endpoint(server.base_url, timeout=1, suite_timeout=2)]))
        started = time.monotonic()
        with pytest.raises(DataError, match="answered no request") as err:
            run_stage(recipe, "eval")
        took = time.monotonic() - started
        release.set()
    assert ("timeout" in str(err.value) or "endpoint_down" in str(err.value)) and took < 4, took
    with pytest.raises(EndpointFailure) as one:
        with Scripted(lambda body, n, s: ("hold", release)) as server:
            release.clear()
            started = time.monotonic()
            try:
                post_json(server.base_url + "/chat/completions", {"model": "m"}, timeout_s=1.5)
            finally:
                took = time.monotonic() - started
                release.set()
    assert one.value.kind == "timeout" and 1.4 < took < 3, took


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "no-length"])
def test_a_300_mb_reply_is_refused_without_being_read_whole(declared):
    with Scripted(lambda body, n, s: ("huge", 300 * 1024 * 1024, declared)) as server:
        started = time.monotonic()
        with pytest.raises(EndpointFailure) as err:
            post_json(server.base_url + "/chat/completions", {"model": "m"}, timeout_s=20)
        took = time.monotonic() - started
        time.sleep(0.2)
        sent = server.huge_sent
    assert err.value.kind == "too_large" and "max_reply_bytes" in err.value.detail
    assert not err.value.retryable
    assert took < 5, took
    assert sent < 64 * 1024 * 1024  # the server was stopped long before 300 MB


def test_a_reply_over_max_reply_bytes_fails_its_item_and_nothing_of_it_is_stored(tmp_path):
    suite = generation_suite(tmp_path / "gen", n=2)

    def script(body, n, server):
        return ("huge", 2 * 1024 * 1024, False) if _item(body) == 1 else ("ok", _answer(_item(body)))

    with Scripted(script) as server:
        recipe = load_recipe(eval_recipe(tmp_path, [suite], [
            endpoint(server.base_url, retries=0, max_reply_bytes=100_000)]))
        run_stage(recipe, "eval")
    folder = recipe.stage_dir("eval")
    rows = {r["id"]: r for r in read_jsonl(folder / "outputs" / "gen.api.jsonl")}
    assert rows["g1"]["failed"].startswith("too_large: the reply passed the 100,000-byte cap")
    assert (folder / "outputs" / "gen.api.jsonl").stat().st_size < 10_000
    assert (recipe.run_dir / "eval-cache" / "api.jsonl").stat().st_size < 10_000


def test_past_the_suite_deadline_the_endpoint_counts_as_down_and_the_rest_fail_with_the_reason(tmp_path):
    suite = generation_suite(tmp_path / "gen", n=8)
    with Scripted(lambda body, n, s: ("sleep", 0.4, ("ok", _answer(_item(body))))) as server:
        recipe = load_recipe(eval_recipe(tmp_path, [suite], [
            endpoint(server.base_url, max_concurrency=1, timeout=5, retries=0, suite_timeout=1.0)]))
        started = time.monotonic()
        run_stage(recipe, "eval")
        took = time.monotonic() - started
        asked = len(server.bodies)
    folder = recipe.stage_dir("eval")
    rows = read_jsonl(folder / "outputs" / "gen.api.jsonl")
    answered = [r for r in rows if "failed" not in r]
    down = [r for r in rows if r.get("failed", "").startswith("endpoint_down")]
    assert 1 <= len(answered) <= 3 and len(answered) + len(down) + 1 >= len(rows)
    assert asked <= len(answered) + 1 and len(down) >= 4
    assert "suite gen's deadline (suite_timeout=1 s) passed" in down[0]["failed"]
    assert all(r["scores"] == {"chrf": 0.0, "exact_match": 0.0} for r in down)
    info = read_json(folder / "results.json")["candidates"]["api"]
    assert info["suite_deadline_passed"] == ["gen"] and info["suite_timeout"] == 1.0
    assert took < 4, took


# --------------------------------------------------------------------------- keys (§8)


@pytest.mark.parametrize("pasted", [
    "sk-proj-Ab3dEf6hIj9kLm2nOp5q", "sk_live_51HxQ2eZvKYlo2C8", "hf_AbCdEfGhIjKlMnOpQrStUv",
    "AbCdEf1234567890XyZw", "3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", "Bearer abc.def",
])
def test_a_key_pasted_where_a_variable_name_belongs_is_refused_without_repeating_it(tmp_path, pasted):
    for where in ("api_key_env", "headers_env"):
        keys = {"api_key_env": pasted} if where == "api_key_env" else {"headers_env": {"X-Api-Key": pasted}}
        folder = tmp_path / where
        folder.mkdir()
        with pytest.raises(RecipeError) as err:
            load_recipe(eval_recipe(folder, [], [endpoint("http://127.0.0.1:9/v1", **keys)]))
        message = str(err.value)
        assert pasted not in message and "not repeated" in message
        assert where in message and str(folder / "e.yaml") in message


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "VENDOR_KEY_2", "vendor_token", "AZURE_OPENAI_API_KEY"])
def test_ordinary_variable_names_are_accepted(tmp_path, name, monkeypatch):
    monkeypatch.setenv(name, "x" * 8)
    recipe = load_recipe(eval_recipe(tmp_path, [], [endpoint("http://127.0.0.1:9/v1", api_key_env=name)]))
    assert recipe.eval.candidates[0].api_key_env == name


def test_a_key_written_into_extra_body_is_refused_without_repeating_it(tmp_path):
    secret = "sk-proj-Zq8Xw7Vu6Ts5Rq4Po3Nm"
    with pytest.raises(RecipeError) as err:
        load_recipe(eval_recipe(tmp_path, [], [endpoint("http://127.0.0.1:9/v1",
                                                        extra_body={"api_key": secret})]))
    assert secret not in str(err.value) and "headers_env" in str(err.value)


def test_keys_and_header_values_a_server_echoes_are_stored_as_placeholders(tmp_path, monkeypatch):
    """The server answers with the Authorization and X-Tenant-Token headers it got, in a
    successful reply: outputs, cache and results hold ‹key› instead, and the manifest's
    resolved recipe names only the variables."""
    secret, token = "sk-echo-4c1f9e2b7a6d5c3b", "tenant-7e3a9c1f5b2d8e6a"
    monkeypatch.setenv("VENDOR_KEY", secret)
    monkeypatch.setenv("TENANT_TOKEN", token)

    def script(body, n, server):
        h = server.headers[-1]
        return ("ok", completion(f"받은 값: {h.get('Authorization')} / {h.get('X-Tenant-Token')}"))

    suite = generation_suite(tmp_path / "gen", n=2, max_new_tokens=32)  # the whole echo kept
    with Scripted(script) as server:
        recipe = load_recipe(eval_recipe(tmp_path, [suite], [endpoint(
            server.base_url, api_key_env="VENDOR_KEY", headers_env={"X-Tenant-Token": "TENANT_TOKEN"})]))
        run_stage(recipe, "eval")
        assert all(h["Authorization"] == f"Bearer {secret}" and h["X-Tenant-Token"] == token
                   for h in server.headers)
    folder = recipe.stage_dir("eval")
    rows = read_jsonl(folder / "outputs" / "gen.api.jsonl")
    assert all(r["output"] == "받은 값: Bearer ‹key› / ‹key›" for r in rows)
    manifest = read_json(folder / "manifest.json")
    assert "TENANT_TOKEN" in json.dumps(manifest)
    leaked = [str(p) for p in Path(recipe.run_dir).rglob("*") if p.is_file()
              and (secret.encode() in p.read_bytes() or token.encode() in p.read_bytes())]
    assert leaked == []
    info = read_json(folder / "results.json")["candidates"]["api"]
    assert info["headers_env"] == {"X-Tenant-Token": "TENANT_TOKEN"}


def test_the_teacher_sends_headers_env_and_stores_an_echoed_value_as_a_placeholder(tmp_path, monkeypatch):
    from toolkit.corpus.teacher import rewrite_with_teacher

    token = "teacher-9b8a7c6d5e4f3a2b"
    monkeypatch.setenv("TEACHER_TOKEN", token)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    answer = "처리 결과는 담당 부서에서 문서로 알려 드립니다."
    with Scripted(lambda body, n, s: ("ok", completion(f"{answer} ({s.headers[-1].get('X-Api-Key')})"))) as server:
        cfg = TeacherSection(base_url=server.base_url, model="m", timeout_s=5,
                             headers_env={"X-Api-Key": "TEACHER_TOKEN"})
        record = {"id": "d2#explain#1", "meta": {"task": "explain"},
                  "messages": [{"role": "user", "content": "처리 결과는 어떻게 알 수 있나요?"},
                               {"role": "assistant", "content": answer}]}
        out, _ = rewrite_with_teacher([record], cfg, tmp_path / "teacher")
        assert server.headers[0]["X-Api-Key"] == token and "Authorization" not in server.headers[0]
    assert out[0]["messages"][1]["content"] == f"{answer} (‹key›)"
    assert token not in (tmp_path / "teacher" / "replies.jsonl").read_text(encoding="utf-8")
    assert cfg.model_dump()["headers_env"] == {"X-Api-Key": "TEACHER_TOKEN"}


def test_a_redirect_is_not_followed_so_the_key_never_goes_where_it_points(no_proxy_env):
    with Scripted(lambda body, n, s: ("ok", completion("다른 곳"))) as elsewhere, Scripted(
            lambda body, n, s: ("status", 307, {}, {"Location": elsewhere.base_url + "/chat/completions"})) as server:
        with pytest.raises(EndpointFailure) as err:
            post_json(server.base_url + "/chat/completions", {"model": "m"}, timeout_s=5,
                      api_key="sk-redirected-1234567890")
        assert err.value.kind == "http_error" and err.value.status == 307
        assert elsewhere.bodies == [] and len(server.bodies) == 1
