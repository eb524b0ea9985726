"""The optional teacher: an LLM behind an OpenAI-compatible endpoint rewrites template
answers in natural, polite administrative Korean, and is trusted with nothing else.

`rewrite_with_teacher` sends each record whose task is in `corpus.teacher.families` as

    POST {base_url}/chat/completions
    {"model", "messages": [system: SYSTEM_PROMPT, user: question + template answer],
     "temperature", "max_tokens"}

(`toolkit.endpoints.post_json`, the same client as the eval's endpoints: no proxy for
this machine, a whole-request deadline of `timeout_s`, replies over `max_reply_bytes`
refused; the key in the variable `api_key_env` names, OPENAI_API_KEY by default, if set,
goes as a Bearer token, and `headers_env` headers are read from their variables; a reply
that echoes any of them is stored with ‹key› in its place) and keeps the rewrite only when
it still holds every fact the template answer states. Rules:

- Records go out in id order, so which ones a `max_calls` cap leaves out never depends
  on the order they arrive in.
- Replies are cached in `<cache_dir>/replies.jsonl`, keyed by the sha256 of the request
  body (model, system prompt, messages, temperature, max_tokens): a re-run asks nothing
  it asked before. Failures are not cached, so a re-run asks again.
- At most `max_calls` HTTP requests per build, retries included.
- The template answer stays (outcome `kept_template: <reason>`) when a record holds
  personal data (`pii`: never sent), the cap is reached (`max_calls`), the reply is empty
  (`empty_reply`), the request failed after one retry (`http_error`, `timeout`,
  `unreachable`, `bad_reply`), the rewrite lost a 「법령명」 제N조 citation
  (`citation_dropped`) or a number (`number_dropped`) of the template answer, holds
  U+FFFD from broken decoding (`garbled_reply`), or shows personal data (`pii_in_reply`).
  The checks guard facts, not style: only a capable teacher gives useful rewrites.
- Until the endpoint has answered once in a build, failures a user must fix raise
  DataError: unreachable, timing out, 404 (wrong path or model). 401/403 always raise.
  After a first answer, failures fall back to the template and are counted; after
  GIVE_UP_AFTER failed records in a row the endpoint is taken as down and the rest of the
  build asks it nothing (`endpoint_down`), rather than waiting out a timeout per record.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
import unicodedata
from collections import Counter
from pathlib import Path

from toolkit.endpoints import (
    EndpointFailure,
    ReplyCache,
    chat_text,
    post_json,
    request_key,
)
from toolkit.errors import DataError
from toolkit.korean.pii import find_pii
from toolkit.recipe import TeacherSection

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "당신은 대한민국 행정기관에서 민원 답변과 법령 안내문을 다듬는 공무원입니다. "
    "사용자가 질문과 초안 답변을 주면, 초안 답변을 자연스럽고 정중한 행정 문체(합쇼체)로 "
    "다시 써 주십시오. 반드시 다음을 지키십시오.\n"
    "1. 초안에 있는 사실, 숫자, 날짜, 기간, 금액을 하나도 빼거나 바꾸지 마십시오.\n"
    "2. 「법령명」 제N조 형태의 법령 인용은 초안에 적힌 그대로 모두 남기십시오.\n"
    "3. 초안에 없는 법령, 조문, 숫자, 사례, 개인정보를 덧붙이지 마십시오.\n"
    "4. 다시 쓴 답변 본문만 출력하고, 머리말이나 해설을 붙이지 마십시오."
)
SYSTEM_PROMPT_SHA256 = hashlib.sha256(SYSTEM_PROMPT.encode("utf-8")).hexdigest()

CACHE_FILE = "replies.jsonl"
RETRY_PAUSE_S = 1.0
GIVE_UP_AFTER = 5
# A rewrite is about as long as its template; Korean runs about a token a character in
# current tokenizers, so twice the characters leaves room without letting a reply ramble.
MAX_TOKENS_CAP = 2048

_CITATION = re.compile(r"「[^」\n]+」\s*제\s*\d+\s*조(?:\s*의\s*\d+)?")
_DIGITS = re.compile(r"\d+")


def teacher_request(record: dict, cfg: TeacherSection) -> dict:
    """The chat-completions body sent for `record`: the fixed system prompt, then the
    question and the template answer in one user message."""
    question, answer = record["messages"][0]["content"], record["messages"][1]["content"]
    user = (f"[질문]\n{question}\n\n[초안 답변]\n{answer}\n\n"
            f"위 초안 답변을 지침에 따라 다시 써 주십시오.")
    return {
        "model": cfg.model,
        "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                     {"role": "user", "content": user}],
        "temperature": cfg.temperature,
        "max_tokens": min(MAX_TOKENS_CAP, 2 * len(answer) + 64),
    }


def lost_facts(template: str, rewrite: str) -> str | None:
    """Why `rewrite` cannot replace `template` ("citation_dropped", "number_dropped"), or
    None when every 「법령명」 제N조 citation (spacing aside) and every digit run of the
    template still appears in it."""
    flat = re.sub(r"\s+", "", rewrite)
    if any(re.sub(r"\s+", "", c) not in flat for c in _CITATION.findall(template)):
        return "citation_dropped"
    if set(_DIGITS.findall(template)) - set(_DIGITS.findall(rewrite)):
        return "number_dropped"
    return None


def judge_rewrite(template: str, rewrite: str) -> str | None:
    """Why `rewrite` (stripped) must not replace `template`, or None when it may."""
    if not rewrite:
        return "empty_reply"
    if why := lost_facts(template, rewrite):
        return why
    if "\ufffd" in rewrite:  # bytes cut mid-character: never training text
        return "garbled_reply"
    if find_pii(rewrite):
        return "pii_in_reply"
    return None


def _user_error(cfg: TeacherSection, url: str, failure: EndpointFailure) -> DataError:
    where = f"The teacher endpoint {cfg.base_url} (corpus.teacher.base_url)"
    if failure.status in (401, 403):
        return DataError(
            f"{where} refused the request with {failure.detail}. Set "
            f"{cfg.api_key_env or 'the variable corpus.teacher.api_key_env names'} to the key "
            f"the server expects (gongmu sends it as a Bearer token; other headers go in "
            f"corpus.teacher.headers_env), or remove corpus.teacher from the recipe to build "
            f"without a teacher."
        )
    if failure.status == 404:
        return DataError(
            f"{where} answered {failure.detail} to POST {url}: the path or the model is wrong. "
            f"Check that base_url ends in /v1 and that corpus.teacher.model "
            f"('{cfg.model}') is a model the server serves (GET {cfg.base_url.rstrip('/')}/models "
            f"lists them)."
        )
    if failure.kind == "timeout":
        return DataError(
            f"{where} did not answer POST {url} within corpus.teacher.timeout_s="
            f"{cfg.timeout_s:g} s, twice. Check that the server is up and not overloaded, or "
            f"raise corpus.teacher.timeout_s."
        )
    return DataError(
        f"{where} could not be reached ({failure.detail}). Start the OpenAI-compatible server "
        f"(for example `vllm serve <model>` or `transformers serve <model dir>`) so that POST "
        f"{url} answers, correct base_url (it usually ends in /v1), or remove corpus.teacher "
        f"from the recipe to build without a teacher."
    )


def teacher_credentials(cfg: TeacherSection) -> tuple[str | None, dict[str, str]]:
    """The Bearer key (from `api_key_env`, None when unset) and the `headers_env` headers
    read from their variables; DataError naming a variable (never its value) that is not
    set or holds a line break."""
    key = os.environ.get(cfg.api_key_env) if cfg.api_key_env else None
    headers = {}
    for name, variable in cfg.headers_env.items():
        headers[name] = os.environ.get(variable) or ""
        if not headers[name]:
            raise DataError(
                f"corpus.teacher.headers_env.{name}: the teacher's {name} header is read from "
                f"the environment variable {variable}, which is not set. Export it before "
                f"running gongmu corpus, or remove the header from the recipe.")
    for name, value in [("api_key_env", key or ""), *headers.items()]:
        if any(c in value for c in "\r\n\0"):
            raise DataError(
                f"corpus.teacher: the environment variable behind {name} holds a line break; "
                f"set it to the value alone, on one line.")
    return key, headers


def _has_pii(record: dict) -> bool:
    return any(find_pii(m["content"]) for m in record["messages"])


def rewrite_with_teacher(records: list[dict], cfg: TeacherSection,
                         cache_dir: Path) -> tuple[list[dict], dict]:
    """`records` (in their order) with the assistant answer of each record whose task is
    in `cfg.families` rewritten by the teacher where the rewrite keeps every citation and
    number, and each such record's meta["teacher"] = {"model", "cache": "hit"|"miss",
    "outcome": "rewritten" | "kept_template: <reason>"}; and a summary for the stage's
    figures: {"model", "system_prompt_sha256", "records", "calls", "cache_hits",
    "outcomes": {outcome: count}}. Other records are returned as they are."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache = ReplyCache(cache_dir / CACHE_FILE)
    url = cfg.base_url.rstrip("/") + "/chat/completions"
    tasks = set(cfg.families)
    chosen = sorted((i for i, r in enumerate(records) if r["meta"].get("task") in tasks),
                    key=lambda i: (records[i]["id"], i))
    out = list(records)
    outcomes: Counter = Counter()
    calls = hits = failures_in_a_row = 0
    answered = False  # has the endpoint answered once in this build?

    bearer, headers = teacher_credentials(cfg)

    def send(body: dict) -> str:
        nonlocal calls, answered
        for attempt in (1, 2):
            calls += 1
            try:
                reply = chat_text(post_json(url, body, timeout_s=cfg.timeout_s, api_key=bearer,
                                            headers=headers,
                                            max_reply_bytes=cfg.max_reply_bytes))
                answered = True
                return reply
            except EndpointFailure as failure:
                if attempt == 1 and failure.retryable and calls < cfg.max_calls:
                    time.sleep(RETRY_PAUSE_S)
                    continue
                if failure.status in (401, 403) or (
                        not answered and (failure.kind in ("timeout", "unreachable") or failure.status == 404)):
                    raise _user_error(cfg, url, failure) from failure
                raise

    try:
        for i in chosen:
            record = records[i]
            template = record["messages"][1]["content"]
            cached = "miss"
            if _has_pii(record):
                outcome = "kept_template: pii"
            else:
                body = teacher_request(record, cfg)
                key = request_key(body)
                reply = (cache.get(key) or {}).get("reply")
                if reply is not None:
                    cached, hits = "hit", hits + 1
                elif calls >= cfg.max_calls:
                    outcome = "kept_template: max_calls"
                elif failures_in_a_row >= GIVE_UP_AFTER:
                    outcome = "kept_template: endpoint_down"
                else:
                    try:
                        reply = send(body)
                        failures_in_a_row = 0
                        cache.put({"key": key, "model": cfg.model, "reply": reply})
                    except EndpointFailure as failure:
                        failures_in_a_row += 1
                        log.warning("Teacher request for %s failed (%s); its template answer stays.%s",
                                    record["id"], failure.detail,
                                    " The endpoint is taken as down for the rest of this build."
                                    if failures_in_a_row == GIVE_UP_AFTER else "")
                        outcome = f"kept_template: {failure.kind}"
                if reply is not None:
                    rewrite = unicodedata.normalize("NFC", reply.strip())
                    why = judge_rewrite(template, rewrite)
                    outcome = f"kept_template: {why}" if why else "rewritten"
            outcomes[outcome] += 1
            answer = rewrite if outcome == "rewritten" else template
            out[i] = {
                **record,
                "messages": [record["messages"][0], {**record["messages"][1], "content": answer},
                             *record["messages"][2:]],
                "meta": {**record["meta"],
                         "teacher": {"model": cfg.model, "cache": cached, "outcome": outcome}},
            }
    finally:
        cache.close()
    summary = {
        "model": cfg.model,
        "system_prompt_sha256": SYSTEM_PROMPT_SHA256,
        "records": len(chosen),
        "calls": calls,
        "cache_hits": hits,
        "outcomes": dict(sorted(outcomes.items())),
    }
    log.info("Teacher %s: %d records, %d requests, %d cache hits; %s", cfg.model, len(chosen),
             calls, hits, ", ".join(f"{n}× {k}" for k, n in sorted(outcomes.items())) or "nothing to do")
    return out, summary
