"""OpenAI-compatible endpoints, for every stage that asks one (the corpus teacher, eval
candidates): one POST with honest failure kinds, the on-disk reply cache, and a
concurrent, rate-limited, retrying asker.

- `post_json(url, body, ...)` sends one request (stdlib urllib). A failure is an
  `EndpointFailure` whose `kind` says what happened: `http_error` (with `status`),
  `timeout`, `unreachable` (refused, reset), `truncated` (the reply was cut short) or
  `bad_reply` (not JSON, or not the shape asked for).
- The API key is read from an environment variable by the caller and only ever goes
  into the Authorization header; `redact` scrubs it from any text this module puts in
  an error (a server may echo the header back).
- `ReplyCache` is a JSONL file of replies keyed by `request_key`: appended and flushed
  after each reply, so a process killed at any point keeps every answer it received; a
  line cut short by the kill is skipped on reading.
- `ask_all` sends many requests with at most `max_concurrency` in flight, spaced to
  `requests_per_minute`, retrying 408/429/5xx, timeouts, dropped connections, cut and
  malformed replies with exponential backoff (Retry-After honoured). A request that
  never gets an answer comes back as its last failure: the caller records it, never
  scores it as empty.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

log = logging.getLogger(__name__)

RETRIED_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
RETRIED_KINDS = frozenset({"timeout", "unreachable", "truncated", "bad_reply"})
MAX_BACKOFF_S = 60.0
_THINKING = re.compile(r"^\s*<think>.*?</think>", re.DOTALL)
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class EndpointFailure(Exception):
    """One request that got no usable reply."""

    def __init__(self, kind: str, detail: str, status: int | None = None,
                 retry_after: float | None = None):
        super().__init__(detail)
        self.kind, self.detail, self.status, self.retry_after = kind, detail, status, retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in RETRIED_KINDS or self.status in RETRIED_STATUSES

    def reason(self) -> str:
        """`kind: detail`, one line: what a failed item records."""
        return f"{self.kind}: {self.detail}"


def redacted(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def is_local(base_url: str) -> bool:
    """Whether `base_url` points at this machine (loopback), so data sent there stays here."""
    host = (urllib.parse.urlsplit(base_url).hostname or "").lower()
    return host in _LOCAL_HOSTS or host.startswith("127.")


def request_key(body: dict) -> str:
    """sha256 of a request body as canonical JSON: the cache key of its reply."""
    return hashlib.sha256(
        json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")
    ).hexdigest()


def _retry_after(headers) -> float | None:
    try:
        value = float(headers.get("Retry-After")) if headers else None
    except (TypeError, ValueError):
        return None
    return value if value is not None and value >= 0 else None


def post_json(url: str, body: dict, *, timeout_s: float, api_key: str | None = None) -> dict:
    """POST `body` as JSON to `url` and return the reply's JSON object, or raise
    EndpointFailure. The key, when given, goes only into the Authorization header and is
    scrubbed from every error text."""
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(
        url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"), headers=headers,
        method="POST",
    )
    secrets = [api_key]
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            raw = response.read()
    except urllib.error.HTTPError as e:
        try:
            detail = e.read(300).decode("utf-8", "replace").strip()
        except (OSError, http.client.HTTPException):
            detail = ""
        detail = redacted(" ".join((detail or str(e.reason)).split()), secrets)
        raise EndpointFailure("http_error", f"HTTP {e.code}: {detail}", e.code,
                              _retry_after(e.headers)) from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, TimeoutError):
            raise EndpointFailure("timeout", f"no answer within {timeout_s:g} s") from None
        raise EndpointFailure("unreachable", redacted(str(e.reason), secrets)) from None
    except TimeoutError:
        raise EndpointFailure("timeout", f"no answer within {timeout_s:g} s") from None
    except http.client.IncompleteRead as e:
        raise EndpointFailure("truncated", f"the reply was cut after {len(e.partial)} bytes") from None
    except (http.client.HTTPException, OSError) as e:  # reset, closed mid-reply, bad status line
        raise EndpointFailure("unreachable", redacted(f"{type(e).__name__}: {e}", secrets)) from None
    try:
        reply = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise EndpointFailure("bad_reply", redacted(f"not JSON: {raw[:120]!r}", secrets)) from None
    if not isinstance(reply, dict):
        raise EndpointFailure("bad_reply", f"not a JSON object: {raw[:120]!r}")
    return reply


def chat_text(reply: dict) -> str:
    """The assistant text of a chat-completions reply, a leading <think> block removed;
    EndpointFailure("bad_reply") when the reply has no message."""
    try:
        content = reply["choices"][0]["message"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        raise EndpointFailure("bad_reply", f"not a chat completion: {json.dumps(reply)[:160]}") from None
    return _THINKING.sub("", content) if isinstance(content, str) else ""


# --------------------------------------------------------------------------- cache


class ReplyCache:
    """Replies on disk, one JSON object per line with its `key`; thread-safe appends,
    flushed at once (a killed process loses at most the line it was writing)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rows: dict[str, dict] = {}
        self._lock = threading.Lock()
        if self.path.is_file():
            bad = 0
            with self.path.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        row = json.loads(line)
                        self.rows[row["key"]] = row
                    except (ValueError, KeyError, TypeError):
                        bad += 1  # a line cut short by a kill: asked again
            if bad:
                log.warning("%s: skipped %d unreadable lines; those requests will be sent again.",
                            self.path, bad)
        self._file = None

    def get(self, key: str) -> dict | None:
        return self.rows.get(key)

    def put(self, row: dict) -> None:
        with self._lock:
            if self._file is None:
                self._file = self.path.open("a", encoding="utf-8")
            self.rows[row["key"]] = row
            self._file.write(json.dumps(row, ensure_ascii=False) + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


# --------------------------------------------------------------------------- asking many


@dataclass
class AskPolicy:
    """How `ask_all` treats one endpoint."""

    max_concurrency: int = 4
    requests_per_minute: float | None = None
    timeout_s: float = 120.0
    retries: int = 4
    backoff_s: float = 1.0
    give_up_after: int = 10  # failed items in a row before the endpoint is taken as down
    fatal: Callable[[EndpointFailure, bool], bool] = lambda failure, answered: False


@dataclass
class Answer:
    """What `ask_all` got for one request: the reply (or None) and the accounting."""

    reply: dict | None = None
    failure: EndpointFailure | None = None
    attempts: int = 0
    latency_s: float | None = None
    cached: bool = False


class _Spacing:
    """Request starts at least 60/rpm seconds apart (across threads)."""

    def __init__(self, per_minute: float | None):
        self.gap = 60.0 / per_minute if per_minute else 0.0
        self.next = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.gap:
            return
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next)
            self.next = start + self.gap
        if start > now:
            time.sleep(start - now)


@dataclass
class _State:
    answered: bool = False
    failed_in_a_row: int = 0
    fatal: EndpointFailure | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def ask_all(url: str, bodies: Sequence[dict], keys: Sequence[str], *, policy: AskPolicy,
            cache: ReplyCache | None = None, api_key: str | None = None,
            check: Callable[[dict], None] | None = None,
            on_answer: Callable[[int, Answer], None] | None = None) -> list[Answer]:
    """Send `bodies` to `url` (at most `policy.max_concurrency` at once) and return one
    Answer per body, in order. A body whose key is in `cache` is not sent; a new reply is
    cached (`{"key", "reply", "latency_s"}`) as soon as it arrives. `check(reply)` may
    raise EndpointFailure("bad_reply") to have a reply retried. `policy.fatal(failure,
    answered)` says when a failure must stop everything (a refused key): ask_all then
    raises it. After `give_up_after` failed items in a row the rest are failed as
    `endpoint_down` without being sent."""
    answers: list[Answer] = [Answer() for _ in bodies]
    state = _State()
    spacing = _Spacing(policy.requests_per_minute)

    def one(i: int) -> None:
        answer = answers[i]
        hit = cache.get(keys[i]) if cache is not None else None
        if hit is not None:
            answer.reply, answer.cached, answer.latency_s = hit["reply"], True, hit.get("latency_s")
            return _report(i)
        with state.lock:
            down = state.fatal is not None or state.failed_in_a_row >= policy.give_up_after
        if down:
            answer.failure = EndpointFailure(
                "endpoint_down", f"not sent: {policy.give_up_after} items in a row got no answer")
            return _report(i)
        for attempt in range(policy.retries + 1):
            spacing.wait()
            answer.attempts += 1
            started = time.monotonic()
            try:
                reply = post_json(url, bodies[i], timeout_s=policy.timeout_s, api_key=api_key)
                if check is not None:
                    check(reply)
            except EndpointFailure as failure:
                answer.failure = failure
                with state.lock:
                    fatal = policy.fatal(failure, state.answered)
                    if fatal and state.fatal is None:
                        state.fatal = failure
                if fatal or not failure.retryable or attempt == policy.retries:
                    break
                pause = min(MAX_BACKOFF_S, policy.backoff_s * 2 ** attempt)
                if failure.retry_after is not None:
                    pause = min(MAX_BACKOFF_S, max(pause, failure.retry_after))
                time.sleep(pause * (1 + 0.25 * random.random()))
                continue
            answer.reply, answer.failure = reply, None
            answer.latency_s = time.monotonic() - started
            if cache is not None:
                cache.put({"key": keys[i], "reply": reply, "latency_s": answer.latency_s})
            break
        with state.lock:
            if answer.reply is not None:
                state.answered, state.failed_in_a_row = True, 0
            else:
                state.failed_in_a_row += 1
        _report(i)

    def _report(i: int) -> None:
        if on_answer is not None:
            on_answer(i, answers[i])

    with ThreadPoolExecutor(max_workers=max(1, policy.max_concurrency),
                            thread_name_prefix="endpoint") as pool:
        for future in [pool.submit(one, i) for i in range(len(bodies))]:
            future.result()
    if state.fatal is not None:
        raise state.fatal
    return answers
